#include "links/uribl.h"

#include "links/url.h"

namespace mm::links {

std::string uribl_query_name(const std::string& d, const std::string& zone) {
  if (d.empty() || zone.empty()) return "";
  if (auto ip = parse_ipv4(d)) {
    // Reverse the octets: 192.0.2.7 -> 7.2.0.192.zone
    std::vector<std::string> o;
    size_t s = 0;
    for (size_t dot; (dot = ip->find('.', s)) != std::string::npos; s = dot + 1) o.push_back(ip->substr(s, dot - s));
    o.push_back(ip->substr(s));
    return o[3] + "." + o[2] + "." + o[1] + "." + o[0] + "." + zone;
  }
  if (d.front() == '[') return "";  // IPv6 literals: not queried
  std::string q = d + "." + zone;
  return q.size() > 253 ? "" : q;
}

std::string uribl_bits(uint32_t code) {
  std::string out;
  auto add = [&](const char* s) {
    if (!out.empty()) out += ',';
    out += s;
  };
  if (code & 8) add("phishing");
  if (code & 16) add("malware");
  if (code & 64) add("abuse");
  if (code & 128) add("cracked");
  if (out.empty()) out = "listed";
  return out;
}

std::vector<UriblHit> uribl_lookup(const UriDnsResolver& r, const std::vector<UriblZone>& zones,
                                   const std::vector<std::string>& domains, size_t max_queries,
                                   std::chrono::steady_clock::time_point deadline) {
  std::vector<std::string> names;
  std::vector<std::pair<size_t, size_t>> who;  // (domain index, zone index)
  for (size_t d = 0; d < domains.size(); ++d)
    for (size_t z = 0; z < zones.size(); ++z) {
      if (names.size() >= max_queries) break;
      auto q = uribl_query_name(domains[d], zones[z].zone);
      if (q.empty()) continue;
      names.push_back(std::move(q));
      who.emplace_back(d, z);
    }
  std::vector<UriblHit> hits;
  if (names.empty()) return hits;
  auto replies = r.resolve_a(names, deadline);
  for (size_t i = 0; i < names.size() && i < replies.size(); ++i) {
    if (replies[i].error) continue;
    uint32_t code = 0;
    for (uint32_t a : replies[i].a)
      if ((a >> 24) == 127) code |= a & 0xFF;
    code &= ~1u;  // 127.0.0.1: "query refused / blocked resolver", not a listing
    if (code == 0) continue;
    UriblHit h;
    h.domain = domains[who[i].first];
    h.zone = zones[who[i].second].zone;
    h.code = code;
    h.lists = uribl_bits(code);
    h.phishing = (code & 8) != 0;
    h.malware = (code & 16) != 0;
    hits.push_back(std::move(h));
  }
  return hits;
}

}  // namespace mm::links
