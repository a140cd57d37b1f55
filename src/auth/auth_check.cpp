#include "auth/auth_check.h"

namespace mm::auth {
namespace {

struct Score {
  const char* result;
  const char* symbol;
  double score;
};

// SPF of MAIL FROM: a fail is evidence, not proof (forwarding breaks SPF); DMARC decides.
constexpr Score kSpf[] = {{"pass", "SPF_PASS", -0.2},        {"fail", "SPF_FAIL", 1.5},
                          {"softfail", "SPF_SOFTFAIL", 0.8}, {"neutral", "SPF_NEUTRAL", 0.1},
                          {"none", "SPF_NONE", 0.3},         {"permerror", "SPF_PERMERROR", 0.5},
                          {"temperror", "SPF_TEMPERROR", 0.0}};

}  // namespace

double AuthCheck::max_abs_score() const { return 10.0; }

void AuthCheck::run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const {
  const scan::AuthFacts& a = ctx.env.auth;
  if (!a.evaluated) return;
  if (!a.spf.empty()) {
    for (auto& s : kSpf)
      if (a.spf == s.result) {
        out.push_back({s.symbol, s.score, a.spf_domain + ": " + a.spf_reason});
        break;
      }
  }
  if (!ctx.env.sender.empty() && (a.helo_spf == "fail" || a.helo_spf == "softfail"))
    out.push_back({"SPF_HELO_FAIL", 0.5, "HELO " + ctx.env.helo + ": " + a.helo_spf});

  const scan::AuthFacts::Dkim* valid = nullptr;
  const scan::AuthFacts::Dkim* invalid = nullptr;
  const scan::AuthFacts::Dkim* temp = nullptr;
  const scan::AuthFacts::Dkim* perm = nullptr;
  for (auto& d : a.dkim) {
    if (d.result == "pass" && !valid) valid = &d;
    if (d.result == "fail" && !invalid) invalid = &d;
    if (d.result == "temperror" && !temp) temp = &d;
    if ((d.result == "permerror" || d.result == "neutral") && !perm) perm = &d;
  }
  auto who = [](const scan::AuthFacts::Dkim* d) {
    return "d=" + d->domain + " s=" + d->selector + (d->reason.empty() ? "" : ": " + d->reason);
  };
  if (valid) out.push_back({"DKIM_VALID", -0.2, who(valid)});
  if (invalid) out.push_back({"DKIM_INVALID", valid ? 0.2 : 1.0, who(invalid)});
  if (perm) out.push_back({"DKIM_PERMERROR", 0.3, who(perm)});
  if (temp) out.push_back({"DKIM_TEMPERROR", 0.0, who(temp)});
  if (a.dkim.empty() && !a.spf.empty()) out.push_back({"DKIM_NONE", 0.0, "no DKIM signature"});

  if (a.dmarc == "pass") {
    out.push_back({"DMARC_PASS", -0.5, a.dmarc_domain + ": " + a.dmarc_reason});
  } else if (a.dmarc == "fail") {
    std::string detail = a.dmarc_domain + " p=" + a.dmarc_requested + " (applied: " + a.dmarc_policy + "): " + a.dmarc_reason;
    if (a.dmarc_policy == "reject")
      out.push_back({"DMARC_FAIL_REJECT", 6.0, detail, scan::Class::Phishing});
    else if (a.dmarc_policy == "quarantine")
      out.push_back({"DMARC_FAIL_QUARANTINE", 4.0, detail, scan::Class::Phishing});
    else
      out.push_back({"DMARC_FAIL_NONE", 1.0, detail});
  } else if (a.dmarc == "none") {
    out.push_back({"DMARC_NONE", 0.0, a.dmarc_reason});
  } else if (a.dmarc == "permerror") {
    out.push_back({"DMARC_PERMERROR", 1.0, a.dmarc_reason});
  } else if (a.dmarc == "temperror") {
    out.push_back({"DMARC_TEMPERROR", 0.0, a.dmarc_reason});
  }
}

}  // namespace mm::auth
