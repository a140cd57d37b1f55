#include "reputation/dnsbl.h"

#include <arpa/inet.h>

#include <cstdlib>

namespace mm::reputation {

bool parse_dns_list(const std::string& spec, DnsList* out) {
  DnsList l;
  std::string s = spec;
  if (auto star = s.rfind('*'); star != std::string::npos) {
    std::string w = s.substr(star + 1);
    char* end = nullptr;
    l.weight = std::strtod(w.c_str(), &end);
    if (w.empty() || *end) return false;
    s = s.substr(0, star);
  }
  if (auto eq = s.find('='); eq != std::string::npos) {
    std::string codes = s.substr(eq + 1);
    s = s.substr(0, eq);
    size_t pos = 0;
    while (pos <= codes.size()) {
      size_t comma = codes.find(',', pos);
      std::string c = codes.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      unsigned char b[4];
      if (inet_pton(AF_INET, c.c_str(), b) != 1) return false;
      l.codes.insert(c);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  while (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty() || s.find('.') == std::string::npos) return false;
  l.zone = s;
  *out = std::move(l);
  return true;
}

double list_weight(const DnsList& l, const std::vector<std::string>& answers) {
  for (auto& a : answers)
    if (l.codes.empty() || l.codes.count(a)) return l.weight;
  return 0;
}

bool bad_helo(const std::string& helo, const std::string& our) {
  if (helo.empty()) return true;
  if (helo.front() == '[' && helo.back() == ']') return false;  // address literal: acceptable
  unsigned char b[16];
  if (inet_pton(AF_INET, helo.c_str(), b) == 1 || inet_pton(AF_INET6, helo.c_str(), b) == 1) return true;
  std::string h;
  for (char c : helo) h += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (h.find('.') == std::string::npos || h == "localhost" || h == "localhost.localdomain") return true;
  return !our.empty() && h == our;
}

}  // namespace mm::reputation
