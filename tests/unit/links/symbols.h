// Test helpers for check output: find a symbol by name, list all symbols with their details.
#pragma once
#include <string>
#include <vector>

#include "scan/check.h"

namespace mm::test_symbols {

inline const scan::Symbol* find(const std::vector<scan::Symbol>& v, const std::string& name) {
  for (auto& s : v)
    if (s.name == name) return &s;
  return nullptr;
}

inline std::string names(const std::vector<scan::Symbol>& v) {
  std::string o;
  for (auto& s : v) o += s.name + "(" + s.detail + ") ";
  return o;
}

}  // namespace mm::test_symbols
