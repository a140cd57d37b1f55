#pragma once
#include <algorithm>
#include <memory>
#include <string>

#include "message/message.h"

namespace mm::message::test {

inline std::shared_ptr<const Message> P(std::string s, const Limits& lim = {}) {
  return parse(std::make_shared<const std::string>(std::move(s)), lim);
}

inline std::string crlf(const std::string& lf) {
  std::string out;
  out.reserve(lf.size() + lf.size() / 20);
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

inline bool has_finding(const Message& m, const std::string& f) {
  return std::find(m.findings.begin(), m.findings.end(), f) != m.findings.end();
}

inline std::string findings(const Message& m) {
  std::string s;
  for (const auto& f : m.findings) s += f + " ";
  return s;
}

}  // namespace mm::message::test
