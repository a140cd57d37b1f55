#include "auth/dmarc.h"

#include <libpsl.h>

#include <cstring>

namespace mm::auth {

std::string org_domain(const std::string& domain) {
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* p = psl_latest(nullptr);
    return p ? p : psl_builtin();
  }();
  std::string d = lower(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (!psl || d.empty()) return d;
  const char* reg = psl_registrable_domain(psl, d.c_str());
  return reg ? std::string(reg) : d;
}

const char* to_string(DmarcPolicy p) {
  switch (p) {
    case DmarcPolicy::None: return "none";
    case DmarcPolicy::Quarantine: return "quarantine";
    case DmarcPolicy::Reject: return "reject";
  }
  return "?";
}

const char* to_string(DmarcResult r) {
  switch (r) {
    case DmarcResult::None: return "none";
    case DmarcResult::Pass: return "pass";
    case DmarcResult::Fail: return "fail";
    case DmarcResult::TempError: return "temperror";
    case DmarcResult::PermError: return "permerror";
  }
  return "?";
}

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::optional<DmarcPolicy> policy(const std::string& v) {
  std::string l = lower(v);
  if (l == "none") return DmarcPolicy::None;
  if (l == "quarantine") return DmarcPolicy::Quarantine;
  if (l == "reject") return DmarcPolicy::Reject;
  return std::nullopt;
}

}  // namespace

std::optional<DmarcRecord> parse_dmarc(const std::string& txt, std::string* why) {
  auto fail = [&](const std::string& w) -> std::optional<DmarcRecord> {
    if (why) *why = w;
    return std::nullopt;
  };
  DmarcRecord r;
  bool have_p = false, bad_p = false, have_rua = false;
  size_t pos = 0;
  int index = 0;
  while (pos <= txt.size()) {
    size_t semi = txt.find(';', pos);
    if (semi == std::string::npos) semi = txt.size();
    std::string tag = trim(txt.substr(pos, semi - pos));
    pos = semi + 1;
    if (tag.empty()) {
      if (semi >= txt.size()) break;
      continue;
    }
    auto eq = tag.find('=');
    if (eq == std::string::npos) {
      if (index == 0) return fail("does not start with v=DMARC1");
      continue;  // a malformed tag is ignored
    }
    std::string name = lower(trim(tag.substr(0, eq))), value = trim(tag.substr(eq + 1));
    if (index++ == 0) {
      if (name != "v" || value != "DMARC1") return fail("does not start with v=DMARC1");
      continue;
    }
    if (name == "p") {
      auto p = policy(value);
      have_p = true;
      if (p) r.p = *p;
      else bad_p = true;
    } else if (name == "sp") {
      if (auto p = policy(value)) r.sp = *p;  // an invalid sp falls back to p
    } else if (name == "adkim") {
      r.adkim_strict = lower(value) == "s";
    } else if (name == "aspf") {
      r.aspf_strict = lower(value) == "s";
    } else if (name == "pct") {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (!value.empty() && *end == 0 && v >= 0 && v <= 100) r.pct = static_cast<int>(v);
    } else if (name == "rua") {
      have_rua = value.find("mailto:") != std::string::npos;
    }
    if (semi >= txt.size()) break;
  }
  if (index == 0) return fail("empty record");
  // §6.6.3: a missing or invalid p makes the record unusable, unless a valid rua is present
  // (then it is treated as p=none).
  if (!have_p || bad_p) {
    if (!have_rua) return fail(have_p ? "invalid p= tag" : "no p= tag");
    r.p = DmarcPolicy::None;
  }
  return r;
}

DmarcDiscovery dmarc_discover(Lookup& l, const std::string& from_domain) {
  DmarcDiscovery d;
  d.from_domain = lower(from_domain);
  while (!d.from_domain.empty() && d.from_domain.back() == '.') d.from_domain.pop_back();
  d.org = org_domain(d.from_domain);
  if (d.from_domain.empty() || d.from_domain.find('.') == std::string::npos) {
    d.reason = "no usable From domain";
    return d;
  }
  // Ask for both at once: the organisational domain's record is needed when the first has none.
  bool known = l.want("_dmarc." + d.from_domain, dns::Type::TXT);
  if (d.org != d.from_domain) known = l.want("_dmarc." + d.org, dns::Type::TXT) && known;
  if (!known) throw NeedDns{};
  for (const std::string* dom : {&d.from_domain, &d.org}) {
    if (dom == &d.org && d.org == d.from_domain) break;
    const dns::Answer& a = l.get("_dmarc." + *dom, dns::Type::TXT);
    if (a.rcode == dns::Rcode::TempError) {
      d.state = DmarcDiscovery::State::TempError;
      d.reason = "DNS TXT _dmarc." + *dom + ": " + a.error;
      return d;
    }
    std::vector<DmarcRecord> found;
    std::string why;
    for (auto& txt : a.records) {
      if (txt.compare(0, 8, "v=DMARC1") != 0) continue;
      if (auto r = parse_dmarc(txt, &why)) found.push_back(*r);
    }
    if (found.size() == 1) {
      d.state = DmarcDiscovery::State::Found;
      d.record = found[0];
      d.record_domain = *dom;
      return d;
    }
    if (found.size() > 1) d.reason = "more than one DMARC record at _dmarc." + *dom;
    else if (!why.empty()) d.reason = "unusable DMARC record at _dmarc." + *dom + ": " + why;
  }
  if (d.reason.empty()) d.reason = "no DMARC record for " + d.from_domain;
  return d;
}

namespace {
bool aligned(const std::string& a, const std::string& from, bool strict) {
  std::string x = lower(a);
  if (x == from) return true;
  return !strict && !x.empty() && org_domain(x) == org_domain(from);
}
}  // namespace

DmarcOutcome dmarc_evaluate(const DmarcDiscovery& d, const DmarcInput& in, int sample) {
  DmarcOutcome o;
  o.from_domain = d.from_domain;
  o.record_domain = d.record_domain;
  if (d.state == DmarcDiscovery::State::TempError) {
    o.result = DmarcResult::TempError;
    o.reason = d.reason;
    return o;
  }
  if (d.state == DmarcDiscovery::State::None) {
    o.result = DmarcResult::None;
    o.reason = d.reason;
    return o;
  }
  const DmarcRecord& r = d.record;
  o.requested = (d.record_domain != d.from_domain && r.sp) ? *r.sp : r.p;
  o.spf_aligned = in.spf_result == "pass" && aligned(in.spf_domain, d.from_domain, r.aspf_strict);
  bool dkim_unknown = false;
  for (auto& k : in.dkim) {
    bool al = aligned(k.domain, d.from_domain, r.adkim_strict);
    if (al && k.pass) o.dkim_aligned = true;
    if (al && k.temperror) dkim_unknown = true;
  }
  if (o.spf_aligned || o.dkim_aligned) {
    o.result = DmarcResult::Pass;
    o.reason = o.spf_aligned ? "SPF aligned with " + in.spf_domain : "DKIM aligned";
    return o;
  }
  bool spf_could = in.spf_temperror && aligned(in.spf_domain, d.from_domain, r.aspf_strict);
  if (spf_could || dkim_unknown) {
    // An identifier that could have aligned could not be checked: no verdict either way.
    o.result = DmarcResult::TempError;
    o.reason = spf_could ? "SPF temperror for an aligned domain" : "DKIM key temperror for an aligned signature";
    return o;
  }
  o.result = DmarcResult::Fail;
  o.applied = o.requested;
  if (sample >= r.pct) {
    // §6.6.4: outside the sample, apply the next less strict policy.
    o.applied = o.requested == DmarcPolicy::Reject ? DmarcPolicy::Quarantine : DmarcPolicy::None;
  }
  o.reason = "no aligned SPF or DKIM pass for " + d.from_domain;
  return o;
}

}  // namespace mm::auth
