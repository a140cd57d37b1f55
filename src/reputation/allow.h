// Allow lists for connection control: operator-wide (tenant "") and per tenant. An entry is an
// IP, a CIDR network, a host name pattern ("mx.example.com", "*.example.com", matched against the
// client's reverse-DNS name) or a sender domain ("sender:example.com", which counts only when the
// mail is authenticated for that domain: the gateway checks SPF/DKIM after DATA). Entries may
// expire. A match bypasses connection control for that tenant's recipients.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mm::reputation {

// ASCII lower case (domains, addresses).
std::string ascii_lower(std::string);

struct AllowEntry {
  std::string tenant;   // "" = operator-wide
  std::string pattern;  // as stored: "192.0.2.1", "192.0.2.0/24", "*.example.com", "sender:example.com"
  int64_t expires_at = 0;  // unix s, 0 = never
};

enum class AllowKind { Ip, Network, Host, Sender };
// The kind of a pattern and its normal form (lower case, CIDR host bits cleared); nullopt when invalid.
std::optional<std::pair<AllowKind, std::string>> parse_allow(const std::string& pattern);

// True when `ip` lies within `cidr` ("10.0.0.0/8", "2001:db8::/32") or equals it (no prefix).
bool ip_in(const std::string& ip, const std::string& cidr);
// Host pattern match: exact, or "*.example.com" for any name under example.com.
bool host_matches(const std::string& pattern, const std::string& host);

struct AllowMatch {
  bool matched = false;         // unconditional bypass (ip, network, host)
  std::string sender_domain;    // set when only a sender-domain entry matched (needs authentication)
  std::string entry;            // the matching pattern, for the log
};

// Matches the entries of `tenant` and the operator's against this client. `sender_domain` is the
// MAIL FROM domain ("" for a null sender); `ptr` the client's reverse-DNS name ("" if none).
AllowMatch match_allow(const std::vector<AllowEntry>&, const std::string& tenant, const std::string& ip,
                       const std::string& ptr, const std::string& sender_domain, int64_t now);

// True when the auth facts show the mail authenticated for `domain`: SPF pass for the MAIL FROM
// domain equal to it, or a passing DKIM signature of it or of a subdomain.
struct AuthView {
  std::string spf, spf_domain;
  std::vector<std::pair<std::string, std::string>> dkim;  // (domain, result)
};
bool authenticated_for(const AuthView&, const std::string& domain);

}  // namespace mm::reputation
