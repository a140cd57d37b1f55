// DNS block and allow lists and the connection score (as Postfix's postscreen does): each list
// zone has a weight (negative for allow lists) and optionally the reply codes that count
// ("zen.example=127.0.0.[2..11]*3" style filters are written here as explicit codes). The score
// of a client is the sum of the weights of the lists that list it, plus HELO and reverse-DNS
// penalties. A lookup failure counts as no listing, never as a refusal.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace mm::reputation {

struct DnsList {
  std::string zone;
  double weight = 1;
  std::set<std::string> codes;  // answers that count ("127.0.0.2"); empty = any answer
};
// "zone", "zone*2", "zone=127.0.0.2,127.0.0.4*3", "wl.zone*-2"; false for a malformed entry.
bool parse_dns_list(const std::string& spec, DnsList* out);

// Weight for one list given its A answers (0 when no answer counts).
double list_weight(const DnsList&, const std::vector<std::string>& answers);

// HELO sanity: true when the HELO name is not a plausible fully-qualified host name or address
// literal (no dot, "localhost", a bare IP without brackets, our own name).
bool bad_helo(const std::string& helo, const std::string& our_hostname);

}  // namespace mm::reputation
