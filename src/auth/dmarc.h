// DMARC (RFC 7489): policy discovery (_dmarc.<From domain>, then the organisational domain from
// the Public Suffix List via libpsl), identifier alignment (relaxed/strict for SPF and DKIM), and
// the policy to apply (p, sp, pct). The result is handed on: the tenant's policy decides later.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "auth/lookup.h"

namespace mm::auth {

// The organisational domain (RFC 7489 §3.2) by the Public Suffix List; the name itself when it is
// a public suffix or unknown. Lower case.
std::string org_domain(const std::string& domain);

enum class DmarcPolicy { None, Quarantine, Reject };
const char* to_string(DmarcPolicy);

struct DmarcRecord {
  DmarcPolicy p = DmarcPolicy::None;
  std::optional<DmarcPolicy> sp;
  bool adkim_strict = false, aspf_strict = false;
  int pct = 100;
};
// Parses a TXT record; nullopt (and *why) when it is not a usable DMARC record.
std::optional<DmarcRecord> parse_dmarc(const std::string& txt, std::string* why = nullptr);

struct DmarcDiscovery {
  enum class State { Found, None, TempError } state = State::None;
  DmarcRecord record;
  std::string record_domain;  // where the record was found
  std::string from_domain, org;
  std::string reason;
};
// Looks up the policy (§6.6.3); throws NeedDns like the other evaluators.
DmarcDiscovery dmarc_discover(Lookup&, const std::string& from_domain);

enum class DmarcResult { None, Pass, Fail, TempError, PermError };
const char* to_string(DmarcResult);

struct DmarcInput {
  std::string spf_result;       // "pass", ... for the MAIL FROM identity (HELO when null sender)
  std::string spf_domain;
  bool spf_temperror = false;
  struct Dkim {
    std::string domain;
    bool pass = false;
    bool temperror = false;
  };
  std::vector<Dkim> dkim;
};

struct DmarcOutcome {
  DmarcResult result = DmarcResult::None;
  DmarcPolicy requested = DmarcPolicy::None;  // p or sp as published
  DmarcPolicy applied = DmarcPolicy::None;    // after pct sampling (§6.6.4); None on pass
  std::string from_domain, record_domain;
  bool spf_aligned = false, dkim_aligned = false;
  std::string reason;
};
// `sample` in [0,100): the message is in the pct sample when sample < pct.
DmarcOutcome dmarc_evaluate(const DmarcDiscovery&, const DmarcInput&, int sample);

}  // namespace mm::auth
