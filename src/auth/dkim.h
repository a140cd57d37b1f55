// DKIM verification (RFC 6376) of every signature with libopendkim. The keys are not fetched by
// the library (its lookup is synchronous): dkim_signature_refs() names the key records, the async
// resolver fetches them first, and dkim_verify() hands them to libopendkim through its key-lookup
// callback. Results are judged with DKIM_SIG_CHECK (signature and body hash), never the PASSED flag.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "auth/lookup.h"

namespace mm::auth {

struct DkimRef {
  std::string domain, selector;
  std::string key_name() const { return selector + "._domainkey." + domain; }
};
// d= and s= of each DKIM-Signature field in the header section (malformed ones skipped).
std::vector<DkimRef> dkim_signature_refs(std::string_view raw);

struct DkimVerdict {
  std::string domain, selector;
  std::string result;  // pass, fail, neutral, permerror, temperror (RFC 8601 names)
  std::string reason;
  std::string b;       // first characters of b= (to tell signatures apart in A-R)
};
// Verifies every signature of `raw` (CRLF line ends) with the key records in `keys` (TXT at
// key_name()); an empty result when there is no signature. Thread-safe.
std::vector<DkimVerdict> dkim_verify(std::string_view raw, const AnswerSet& keys);

}  // namespace mm::auth
