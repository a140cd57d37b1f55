#include "reputation/allow.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace mm::reputation {
std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

namespace {

std::string lower(std::string s) { return ascii_lower(std::move(s)); }

// Parses an address into 16 bytes (IPv4 mapped into the first 4); family 4 or 6, 0 on error.
int parse_ip(const std::string& ip, unsigned char* b) {
  std::memset(b, 0, 16);
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) return 4;
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) return 6;
  return 0;
}

bool valid_host_pattern(const std::string& p) {
  std::string h = p.rfind("*.", 0) == 0 ? p.substr(2) : p;
  if (h.empty() || h.size() > 253 || h.find('.') == std::string::npos) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

bool parse_cidr(const std::string& cidr, unsigned char* b, int* fam, int* bits) {
  auto slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  *fam = parse_ip(addr, b);
  if (!*fam) return false;
  int max = *fam == 4 ? 32 : 128;
  *bits = max;
  if (slash != std::string::npos) {
    std::string n = cidr.substr(slash + 1);
    if (n.empty() || n.size() > 3 || !std::all_of(n.begin(), n.end(), ::isdigit)) return false;
    *bits = std::stoi(n);
    if (*bits > max) return false;
  }
  return true;
}

}  // namespace

std::optional<std::pair<AllowKind, std::string>> parse_allow(const std::string& pattern_in) {
  std::string p = lower(pattern_in);
  if (p.rfind("sender:", 0) == 0) {
    std::string d = p.substr(7);
    if (!valid_host_pattern(d) || d[0] == '*') return std::nullopt;
    return std::make_pair(AllowKind::Sender, "sender:" + d);
  }
  unsigned char b[16];
  int fam = 0, bits = 0;
  if (parse_cidr(p, b, &fam, &bits)) {
    int max = fam == 4 ? 32 : 128;
    if (bits == max && p.find('/') == std::string::npos) return std::make_pair(AllowKind::Ip, p);
    for (int i = bits; i < max; ++i) b[i / 8] &= static_cast<unsigned char>(~(0x80 >> (i % 8)));
    char out[INET6_ADDRSTRLEN];
    inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, out, sizeof out);
    return std::make_pair(AllowKind::Network, std::string(out) + "/" + std::to_string(bits));
  }
  if (valid_host_pattern(p)) return std::make_pair(AllowKind::Host, p);
  return std::nullopt;
}

bool ip_in(const std::string& ip, const std::string& cidr) {
  unsigned char a[16], n[16];
  int fa = parse_ip(ip, a), fn = 0, bits = 0;
  if (!fa || !parse_cidr(cidr, n, &fn, &bits) || fa != fn) return false;
  for (int i = 0; i < bits; ++i) {
    unsigned char m = static_cast<unsigned char>(0x80 >> (i % 8));
    if ((a[i / 8] & m) != (n[i / 8] & m)) return false;
  }
  return true;
}

bool host_matches(const std::string& pattern, const std::string& host_in) {
  std::string host = lower(host_in);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) return false;
  if (pattern.rfind("*.", 0) == 0) {
    std::string suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return host == pattern;
}

AllowMatch match_allow(const std::vector<AllowEntry>& entries, const std::string& tenant, const std::string& ip,
                       const std::string& ptr, const std::string& sender_domain, int64_t now) {
  AllowMatch m;
  std::string sd = lower(sender_domain);
  for (auto& e : entries) {
    if (!e.tenant.empty() && e.tenant != tenant) continue;
    if (e.expires_at && e.expires_at <= now) continue;
    auto k = parse_allow(e.pattern);
    if (!k) continue;
    bool hit = false;
    switch (k->first) {
      case AllowKind::Ip:
      case AllowKind::Network: hit = ip_in(ip, k->second); break;
      case AllowKind::Host: hit = !ptr.empty() && host_matches(k->second, ptr); break;
      case AllowKind::Sender:
        if (!sd.empty() && k->second.substr(7) == sd && m.sender_domain.empty()) {
          m.sender_domain = sd;
          if (m.entry.empty()) m.entry = e.pattern;
        }
        break;
    }
    if (hit) {
      m.matched = true;
      m.entry = e.pattern;
      return m;
    }
  }
  return m;
}

bool authenticated_for(const AuthView& a, const std::string& domain_in) {
  std::string d = lower(domain_in);
  if (d.empty()) return false;
  if (a.spf == "pass" && lower(a.spf_domain) == d) return true;
  for (auto& [dom, res] : a.dkim) {
    std::string x = lower(dom);
    if (res != "pass") continue;
    if (x == d || (x.size() > d.size() && x.compare(x.size() - d.size() - 1, d.size() + 1, "." + d) == 0)) return true;
  }
  return false;
}

}  // namespace mm::reputation
