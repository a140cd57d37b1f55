// URI DNS block lists (SURBL/URIBL style): for a registrable domain d and a zone z the list is
// asked for the A record of "d.z" (for an IPv4 host a.b.c.d: "d.c.b.a.z"); no answer means not
// listed, an answer 127.0.0.x means listed, with the bits of x naming the lists (SURBL "multi":
// 8 phishing, 16 malware, 64 abuse/spam, 128 cracked sites). Answers outside 127/8 are ignored
// (a resolver that redirects NXDOMAIN must not list everything), and so is bit 1 alone (127.0.0.1:
// the list refused the query).
// The DNS itself stays behind UriDnsResolver: the DNS module implements it; tests use a fake.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mm::links {

struct DnsReply {
  bool error = false;                  // timeout / SERVFAIL: unknown, never "listed"
  std::vector<uint32_t> a;             // IPv4 answers, host byte order; empty = NXDOMAIN / NODATA
};

class UriDnsResolver {
 public:
  virtual ~UriDnsResolver() = default;
  // A records of each name, in order; the implementation may query them in parallel and must
  // return by the deadline (names not answered by then: error = true). Thread-safe.
  virtual std::vector<DnsReply> resolve_a(const std::vector<std::string>& names,
                                          std::chrono::steady_clock::time_point deadline) const = 0;
};

struct UriblZone {
  std::string zone;        // "multi.surbl.org"
};

struct UriblHit {
  std::string domain;      // the registrable domain (or IP) that is listed
  std::string zone;
  uint32_t code = 0;       // last octet of 127.0.0.x
  std::string lists;       // "phishing,malware" from the bits
  bool phishing = false, malware = false;
};

// The query name for a domain or IPv4 address in a zone ("" when none can be made).
std::string uribl_query_name(const std::string& domain_or_ip, const std::string& zone);
// "phishing,malware,abuse" for the SURBL multi bits of code (others: "listed").
std::string uribl_bits(uint32_t code);

// Looks up `domains` (registrable domains or IPs, at most `max_queries` of them) in every zone.
std::vector<UriblHit> uribl_lookup(const UriDnsResolver&, const std::vector<UriblZone>&,
                                   const std::vector<std::string>& domains, size_t max_queries,
                                   std::chrono::steady_clock::time_point deadline);

}  // namespace mm::links
