// SPF (RFC 7208): check_host() with every mechanism and modifier, macros, the limits of §4.6.4
// (10 DNS-querying terms, 2 void lookups, 10 address lookups per MX/PTR) and permerror/temperror,
// for the MAIL FROM and HELO identities. Synchronous over auth::Lookup (see lookup.h): run it
// through auth::drive() for asynchronous DNS, or against a StaticZone offline.
#pragma once
#include <string>

#include "auth/lookup.h"

namespace mm::auth {

enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
const char* to_string(SpfResult);  // "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"

struct SpfLimits {
  int max_lookups = 10;
  int max_void = 2;
  int max_mx_addresses = 10;
  int max_ptr_names = 10;
};

struct SpfOutcome {
  SpfResult result = SpfResult::None;
  std::string domain;       // the identity's domain that was checked
  std::string sender;       // the <sender> used (postmaster@helo for a null sender or HELO)
  std::string mechanism;    // what decided: "-all", "ip4:192.0.2.0/24", "default" (neutral)
  std::string reason;       // why none/permerror/temperror
  std::string explanation;  // the exp= text, on fail
  int lookups = 0;
  int void_lookups = 0;
};

// check_host(<ip>, <domain>, <sender>) with <helo> for the %{h} macro; `receiver` for %{r}.
SpfOutcome spf_check_host(Lookup&, const std::string& ip, const std::string& domain, const std::string& sender,
                          const std::string& helo, const SpfLimits& = {}, const std::string& receiver = "unknown");
// The MAIL FROM identity (RFC 7208 §2.4): a null sender is checked as postmaster@<helo>.
SpfOutcome spf_mailfrom(Lookup&, const std::string& ip, const std::string& mail_from, const std::string& helo,
                        const SpfLimits& = {}, const std::string& receiver = "unknown");
// The HELO identity (§2.3): none for address literals and names that are not multi-label.
SpfOutcome spf_helo(Lookup&, const std::string& ip, const std::string& helo, const SpfLimits& = {},
                    const std::string& receiver = "unknown");

}  // namespace mm::auth
