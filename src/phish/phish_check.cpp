#include "phish/phish_check.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "links/links_check.h"
#include "links/url.h"
#include "message/domain.h"

namespace mm::phish {

using scan::Class;
using scan::Symbol;

namespace {

struct Score {
  const char* name;
  double score;
};
constexpr Score kLinkMismatch{"HTML_LINK_TEXT_MISMATCH", 2.0};
constexpr Score kForm{"HTML_FORM", 1.0};
constexpr Score kFormPassword{"PHISH_FORM_PASSWORD", 3.0};
constexpr Score kFormOffsite{"PHISH_FORM_OFFSITE", 1.0};
constexpr Score kLoginLure{"PHISH_LOGIN_LURE", 2.0};
constexpr Score kBrandName{"PHISH_BRAND_DISPLAY_NAME", 2.5};
constexpr Score kBrandSubject{"PHISH_BRAND_SUBJECT", 1.0};
constexpr Score kLookBrand{"PHISH_LOOKALIKE_BRAND", 4.0};
constexpr Score kLookCombo{"PHISH_LOOKALIKE_BRAND_COMBO", 2.0};
constexpr Score kLookTenant{"PHISH_LOOKALIKE_TENANT", 5.0};
constexpr Score kIdnMixed{"PHISH_IDN_MIXED_SCRIPT", 2.5};
constexpr Score kPunycode{"PHISH_PUNYCODE_HOST", 0.6};
constexpr Score kExec{"PHISH_EXEC_IMPERSONATION", 5.0};
constexpr Score kTenantName{"PHISH_TENANT_IMPERSONATION", 3.0};
constexpr Score kReplyProtected{"PHISH_REPLYTO_PROTECTED", 2.0};
constexpr Score kAll[] = {kLinkMismatch, kForm,      kFormPassword, kFormOffsite, kLoginLure, kBrandName,
                          kBrandSubject, kLookBrand, kLookCombo,    kLookTenant,  kIdnMixed,  kPunycode,
                          kExec,         kTenantName, kReplyProtected};

void emit(std::vector<Symbol>& out, const Score& s, std::string detail) {
  out.push_back({s.name, s.score, std::move(detail), Class::Phishing});
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Whole-word, case-insensitive search of an ASCII phrase in text.
bool has_words(std::string_view text_lower, std::string_view phrase_lower) {
  if (phrase_lower.empty()) return false;
  for (size_t at = text_lower.find(phrase_lower); at != std::string_view::npos;
       at = text_lower.find(phrase_lower, at + 1)) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    bool left = at == 0 || !word(text_lower[at - 1]);
    size_t end = at + phrase_lower.size();
    bool right = end >= text_lower.size() || !word(text_lower[end]);
    if (left && right) return true;
  }
  return false;
}

// Whether a display name speaks as `brand`: it starts with the brand ("PayPal Service", "Apple ID"),
// or is the brand plus words of a service desk ("Security Team - Microsoft"). A newsletter about a
// brand ("Lockergnome Apple Core") does not.
bool speaks_as(const std::string& display_words, const std::string& brand) {
  if (brand.empty() || !has_words(display_words, brand)) return false;
  if (display_words.starts_with(brand)) return true;
  static constexpr std::string_view kDesk[] = {"account", "accounts", "team", "support", "service", "services",
                                               "security", "billing", "customer", "care", "help", "desk",
                                               "notification", "notifications", "alert", "alerts", "online", "id",
                                               "the", "your", "from", "no", "reply", "noreply", "center", "centre", "inc", "ltd", "llc", "corp"};
  std::string rest = display_words;
  rest.replace(rest.find(brand), brand.size(), " ");
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    size_t j = rest.find(' ', i);
    if (j == std::string::npos) j = rest.size();
    if (j > i) {
      std::string_view w(rest.data() + i, j - i);
      if (std::find(std::begin(kDesk), std::end(kDesk), w) == std::end(kDesk)) return false;
    }
    i = j;
  }
  return true;
}

std::string short_text(std::string_view s, size_t n = 60) {
  return s.size() > n ? std::string(s.substr(0, n)) + "..." : std::string(s);
}

// Strong account wording (when the rules did not run or missed it).
constexpr std::string_view kLureWords[] = {
    "verify your account",  "confirm your account",     "confirm your identity", "verify your identity",
    "update your account",  "update your payment",      "validate your account", "account has been suspended",
    "account will be suspended", "account has been locked", "account will be closed", "unusual sign-in activity",
    "confirm your password", "verify your password",    "re-enter your password", "your password will expire"};

constexpr std::string_view kLoginWords[] = {"login", "log-in", "log in", "signin", "sign-in", "sign in", "logon",
                                            "log-on", "verify", "verification", "password", "/auth", "webscr",
                                            "unlock", "validate", "reactivate"};

bool login_looking(const links::Url& u) {
  // Short link texts are buttons ("Verify now"); long ones are titles that may mention passwords.
  std::string p = lower(u.path) + " " + lower(u.host) + " " + (u.text.size() <= 40 ? lower(u.text) : "");
  for (auto w : kLoginWords)
    if (p.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string s(name.substr(0, 256));
  // "Smith, John" -> "John Smith" (one comma between two words groups).
  if (auto comma = s.find(','); comma != std::string::npos && s.find(',', comma + 1) == std::string::npos)
    s = s.substr(comma + 1) + " " + s.substr(0, comma);
  std::string out;
  bool space = true;
  for (unsigned char c : s) {
    bool keep = std::isalnum(c) || c >= 0x80;
    if (keep) {
      out.push_back(static_cast<char>(std::tolower(c)));
      space = false;
    } else if (!space) {
      out.push_back(' ');
      space = true;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Result<std::vector<Brand>> parse_brands(std::string_view text) {
  std::vector<Brand> out;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    if (auto h = line.find('#'); h != std::string::npos) line.erase(h);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) return Status::error("line " + std::to_string(lineno) + ": no ':' after the brand name");
    Brand b;
    b.name = line.substr(0, colon);
    while (!b.name.empty() && std::isspace(static_cast<unsigned char>(b.name.back()))) b.name.pop_back();
    while (!b.name.empty() && std::isspace(static_cast<unsigned char>(b.name.front()))) b.name.erase(b.name.begin());
    if (b.name.size() < 2) return Status::error("line " + std::to_string(lineno) + ": empty brand name");
    std::string rest = line.substr(colon + 1);
    size_t i = 0;
    while (i < rest.size()) {
      while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
      size_t j = i;
      while (j < rest.size() && !std::isspace(static_cast<unsigned char>(rest[j]))) ++j;
      if (j > i) {
        std::string d = links::normalize_entry(rest.substr(i, j - i));
        if (d.empty()) return Status::error("line " + std::to_string(lineno) + ": not a domain: " + rest.substr(i, j - i));
        b.domains.push_back(d);
      }
      i = j;
    }
    if (b.domains.empty()) return Status::error("line " + std::to_string(lineno) + ": brand " + b.name + " has no domains");
    out.push_back(std::move(b));
  }
  return out;
}

std::shared_ptr<const PhishData> make_data(std::vector<Brand> brands, const std::vector<std::string>& freemail) {
  auto d = std::make_shared<PhishData>();
  d->brands = std::move(brands);
  for (auto& f : freemail) d->freemail.add(f);
  std::set<std::string> seen;
  for (size_t b = 0; b < d->brands.size(); ++b)
    for (size_t k = 0; k < d->brands[b].domains.size(); ++k) {
      std::string reg = message::registrable_domain(d->brands[b].domains[k]);
      if (!seen.insert(reg).second) continue;
      d->brand_targets.push_back({prepare(reg), static_cast<int>(b), k == 0});
    }
  return d;
}

Result<std::shared_ptr<const PhishData>> load_data(const std::filesystem::path& dir) {
  std::string text;
  {
    auto lines = links::read_list_file(dir / "brands.txt");
    if (!lines) return Status::error(lines.error());
    for (auto& l : *lines) text += l + "\n";
  }
  auto brands = parse_brands(text);
  if (!brands) return Status::error((dir / "brands.txt").string() + ": " + brands.error());
  auto free = links::read_list_file(dir / "freemail.txt");
  if (!free) return Status::error(free.error());
  return make_data(std::move(*brands), *free);
}

PhishCheck::PhishCheck(PhishOptions opt) : opt_(std::move(opt)) {
  if (!opt_.data) opt_.data = make_data({});
}

double PhishCheck::max_abs_score() const {
  double t = 0;
  for (auto& s : kAll) t += s.score;
  return t;
}

void PhishCheck::run(const scan::Context& ctx, std::vector<Symbol>& out) const {
  const auto& m = ctx.msg;
  const auto& data = *opt_.data;
  const scan::TenantFacts* facts = ctx.env.tenant_facts.get();
  const auto shared_urls = links::urls_of(ctx);
  const auto& urls = *shared_urls;

  const std::string from_reg = m.from.domain.empty() ? "" : message::registrable_domain(m.from.domain);
  std::string env_reg;
  if (auto at = ctx.env.sender.rfind('@'); at != std::string::npos)
    env_reg = message::registrable_domain(lower(ctx.env.sender.substr(at + 1)));
  std::set<std::string> tenant_regs;
  if (facts)
    for (auto& d : facts->domains) tenant_regs.insert(message::registrable_domain(d));
  const bool from_tenant = !from_reg.empty() && tenant_regs.count(from_reg);
  auto own = [&](const std::string& reg) { return !reg.empty() && (reg == from_reg || reg == env_reg); };
  // The brand whose domains include reg (-1: none).
  auto brand_of = [&](const std::string& reg) {
    for (size_t b = 0; b < data.brands.size(); ++b)
      for (auto& d : data.brands[b].domains)
        if (d == reg) return static_cast<int>(b);
    return -1;
  };
  // A brand's free-mail domain (hotmail.com, gmail.com) is anyone's address, not the brand speaking.
  // Only a brand's main domain speaks for it even when it is free mail (Yahoo! News from yahoo.com).
  const int from_brand_any = brand_of(from_reg);
  const bool from_free = data.freemail.contains(from_reg) &&
                         !(from_brand_any >= 0 && data.brands[static_cast<size_t>(from_brand_any)].domains.front() == from_reg);
  const int from_brand = from_free ? -1 : from_brand_any;

  // --- Link text showing another domain ---
  for (const auto& u : urls) {
    if (u.source != links::Source::Href || u.text.empty()) continue;
    std::string shown = links::host_in_text(u.text);
    if (shown.empty()) continue;
    std::string shown_reg = message::registrable_domain(shown);
    if (shown_reg == u.registrable) continue;
    // Tracking redirects that carry the shown destination in their query are not a mismatch.
    if (lower(u.path).find(shown_reg) != std::string::npos) continue;
    std::string d = "href " + u.host;
    if (!u.ip) {
      auto k = lookalike(prepare(u.registrable), prepare(shown_reg));
      if (k != LookalikeKind::None) d += " (" + std::string(to_string(k)) + " lookalike of " + shown_reg + ")";
    }
    emit(out, kLinkMismatch, d + ", text " + shown);
    break;
  }

  // --- Forms ---
  if (!m.forms.empty()) {
    emit(out, kForm, std::to_string(m.forms.size()) + " form(s), action " + short_text(m.forms.front(), 100));
    std::string offsite;
    for (const auto& u : urls)
      if (u.source == links::Source::Form && !own(u.registrable)) {
        offsite = u.host;
        break;
      }
    if (m.password_fields > 0)
      emit(out, kFormPassword, std::to_string(m.password_fields) + " password field(s) in a form posting to " +
                                   (offsite.empty() ? short_text(m.forms.front(), 80) : offsite));
  } else if (m.password_fields > 0) {
    emit(out, kFormPassword, std::to_string(m.password_fields) + " password field(s) in the HTML");
  }

  // --- Login lure: account wording plus a login-looking link (or a form) off the sender's domain ---
  std::string lure;
  for (const auto& s : ctx.prior)
    if (s.hint == Class::Phishing && s.score >= 1.0 && (s.name.starts_with("BODY_") || s.name.starts_with("SUBJ_"))) {
      lure = s.name;
      break;
    }
  if (lure.empty()) {
    std::string body = lower(std::string_view(m.body_text()).substr(0, 64 << 10)) + " " + lower(m.subject);
    for (auto w : kLureWords)
      if (has_words(body, w)) {
        lure = "'" + std::string(w) + "'";
        break;
      }
  }
  if (!lure.empty() || m.password_fields > 0) {
    // An off-site form matters with account wording or a password field (search boxes do not).
    for (const auto& u : urls)
      if (u.source == links::Source::Form && !own(u.registrable)) {
        emit(out, kFormOffsite, "form posts to " + u.host + ", sender " + (from_reg.empty() ? "unknown" : from_reg) +
                                    (lure.empty() ? ", with a password field" : ", after " + lure));
        break;
      }
  }
  if (!lure.empty()) {
    for (const auto& u : urls) {
      if (u.source == links::Source::Image || own(u.registrable) || !login_looking(u)) continue;
      if (brand_of(u.registrable) >= 0 && brand_of(u.registrable) == from_brand) continue;
      emit(out, kLoginLure, links::describe(u) + " after " + lure);
      break;
    }
  }

  // --- Brand names from unrelated domains ---
  const std::string display = lower(m.from.display);
  const std::string subject = lower(m.subject);
  bool brand_display = false;
  const std::string display_words = normalize_name(m.from.display);
  for (size_t b = 0; b < data.brands.size() && !display.empty(); ++b) {
    const auto& br = data.brands[b];
    if (!speaks_as(display_words, normalize_name(br.name))) continue;
    if ((!from_free && std::find(br.domains.begin(), br.domains.end(), from_reg) != br.domains.end()) || from_tenant)
      continue;
    emit(out, kBrandName, "From name '" + short_text(m.from.display) + "' names " + br.name + ", sent from " +
                              (from_reg.empty() ? "no domain" : from_reg));
    brand_display = true;
    break;
  }
  double phish_prior = 0;
  for (const auto& s : ctx.prior)
    if (s.hint == Class::Phishing) phish_prior += std::max(0.0, s.score);
  if (!brand_display && !lure.empty() && phish_prior >= 1.0) {
    for (const auto& br : data.brands) {
      if (!has_words(subject, lower(br.name))) continue;
      if ((!from_free && std::find(br.domains.begin(), br.domains.end(), from_reg) != br.domains.end()) || from_tenant)
        continue;
      emit(out, kBrandSubject, "subject names " + br.name + ", sent from " + (from_reg.empty() ? "no domain" : from_reg) +
                                   ", with " + lure);
      break;
    }
  }

  // --- Lookalike domains and suspicious IDN hosts ---
  struct Candidate {
    std::string reg, where;
    bool image = false;  // only seen as an image source (CDNs): no combination names
  };
  std::vector<Candidate> cands;
  std::set<std::string> seen;
  auto add_cand = [&](std::string reg, std::string where, bool image = false) {
    if (reg.empty() || message::is_ip_literal(reg) || cands.size() >= 200) return;
    // Internationalised addresses (SMTPUTF8) carry Unicode domains: compare them as punycode.
    if (std::any_of(reg.begin(), reg.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; })) {
      reg = links::to_ascii(reg);
      if (reg.empty()) return;
    }
    if (!seen.insert(reg).second) {
      if (!image)
        for (auto& c : cands)
          if (c.reg == reg) c.image = false;
      return;
    }
    cands.push_back({reg, std::move(where), image});
  };
  add_cand(from_reg, "From " + m.from.domain);
  for (auto& r : m.reply_to) add_cand(message::registrable_domain(r.domain), "Reply-To " + r.domain);
  add_cand(env_reg, "envelope sender " + env_reg);
  for (const auto& u : urls) {
    std::string where = std::string(links::to_string(u.source)) + " " + u.host;
    if (!u.text.empty()) {
      std::string shown = links::host_in_text(u.text);
      if (!shown.empty()) where += "|, text " + shown;
    }
    add_cand(u.registrable, where, u.source == links::Source::Image);
  }
  auto where_text = [](const std::string& w, const std::string& note) {
    size_t bar = w.find('|');
    return bar == std::string::npos ? w + " (" + note + ")" : w.substr(0, bar) + " (" + note + ")" + w.substr(bar + 1);
  };
  std::vector<Target> tenant_targets;
  for (auto& r : tenant_regs) tenant_targets.push_back({prepare(r), -1});
  bool look_tenant = false, look_brand = false, look_combo = false, idn_mixed = false, puny = false;
  for (const auto& c : cands) {
    if (tenant_regs.count(c.reg) || brand_of(c.reg) >= 0) continue;  // the real thing
    DomainName dn = prepare(c.reg);
    if (!look_tenant)
      for (const auto& t : tenant_targets)
        if (auto k = lookalike(dn, t.name); k != LookalikeKind::None) {
          emit(out, kLookTenant, where_text(c.where, std::string(to_string(k)) + " lookalike of " + t.name.domain +
                                                         ", a domain of tenant " + facts->name));
          look_tenant = true;
          break;
        }
    if (!look_brand || !look_combo)
      for (const auto& t : data.brand_targets) {
        auto k = lookalike(dn, t.name);
        if (k == LookalikeKind::None || (k != LookalikeKind::Homoglyph && !t.primary)) continue;
        if (k == LookalikeKind::Combo) {
          // A brand's own mail uses its own hyphenated names (CDNs, campaigns); images are CDNs.
          if (look_combo || look_brand || c.image || t.brand == from_brand) continue;
          emit(out, kLookCombo, where_text(c.where, "combines " + data.brands[static_cast<size_t>(t.brand)].name +
                                                        "'s " + t.name.label + " with other words"));
          look_combo = true;
          continue;
        }
        if (look_brand) continue;
        emit(out, kLookBrand, where_text(c.where, std::string(to_string(k)) + " lookalike of " + t.name.domain));
        look_brand = true;
        break;
      }
    if (c.reg.find("xn--") != std::string::npos && !idn_mixed) {
      std::string uni = links::to_unicode(c.reg);
      if (mixed_script(dn.unicode_label)) {
        emit(out, kIdnMixed, where_text(c.where, c.reg + " is " + uni + ", mixing scripts"));
        idn_mixed = true;
      } else if (!puny) {
        emit(out, kPunycode, where_text(c.where, c.reg + " is " + uni));
        puny = true;
      }
    }
  }

  // --- Impersonation of the tenant's people or of the tenant ---
  if (facts && !from_tenant && !m.from.display.empty()) {
    const std::string name = normalize_name(m.from.display);
    bool exec = false;
    for (const auto& p : facts->protected_names) {
      std::string pn = normalize_name(p);
      if (pn.size() < 3) continue;
      bool hit = has_words(name, pn) || (name.size() <= pn.size() + 4 && skeleton(name) == skeleton(pn));
      if (!hit) continue;
      emit(out, kExec, "From name '" + short_text(m.from.display) + "' is " + p + ", protected for tenant " + facts->name +
                           ", sent from " + (m.from.address.empty() ? "no address" : m.from.address));
      exec = true;
      break;
    }
    if (!exec) {
      std::string tn = normalize_name(facts->display_name);
      bool hit = tn.size() >= 4 && has_words(name, tn);
      std::string what = facts->display_name;
      if (!hit)
        for (const auto& t : tenant_targets)
          if (t.name.label.size() >= 4 && has_words(name, t.name.label)) {
            hit = true;
            what = t.name.label;
            break;
          }
      if (hit)
        emit(out, kTenantName, "From name '" + short_text(m.from.display) + "' names the tenant (" + what +
                                   "), sent from outside: " + (m.from.address.empty() ? "no address" : m.from.address));
    }
  }

  // --- Reply-To that takes the answers elsewhere ---
  for (const auto& r : m.reply_to) {
    std::string rr = message::registrable_domain(r.domain);
    if (rr.empty() || rr == from_reg || from_reg.empty()) continue;
    // A free-mail Reply-To for a company From is the rules' HDR_REPLYTO_FREEMAIL (10_headers.rules).
    // A brand's From counts unless it is free mail (people at yahoo.com write to mailing lists).
    bool protected_from = from_tenant || (from_brand >= 0 && !data.freemail.contains(from_reg));
    bool same_owner = (from_tenant && tenant_regs.count(rr)) || (from_brand >= 0 && brand_of(rr) == from_brand);
    if (protected_from && !same_owner) {
      emit(out, kReplyProtected, "Reply-To " + r.address + " for From " + m.from.address + " (" +
                                     (from_tenant ? "the tenant's domain" : data.brands[static_cast<size_t>(from_brand)].name) + ")");
      break;
    }
  }
}

}  // namespace mm::phish
