// The "auth" scan check: turns the sender authentication results of the envelope
// (scan::AuthFacts, filled by the gateway through auth::Authenticator) into scored, explained
// symbols: SPF_*, DKIM_*, DMARC_* (a DMARC failure names the sender's policy).
#pragma once
#include "scan/check.h"

namespace mm::auth {

class AuthCheck : public scan::Check {
 public:
  std::string name() const override { return "auth"; }
  double max_abs_score() const override;
  void run(const scan::Context&, std::vector<scan::Symbol>& out) const override;
};

}  // namespace mm::auth
