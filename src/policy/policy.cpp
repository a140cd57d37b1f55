#include "policy/policy.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "store/validate.h"
#include "util/clock.h"

namespace mm::policy {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* const kClasses[] = {"clean", "spam", "bulk", "phishing", "malware", "unscannable", "dmarc_fail", "blocked"};

bool known_class(const std::string& c) {
  return std::find(std::begin(kClasses), std::end(kClasses), c) != std::end(kClasses);
}

}  // namespace

std::optional<Action> parse_action(const std::string& a) {
  if (a == "deliver") return Action::Deliver;
  if (a == "tag") return Action::Tag;
  if (a == "quarantine") return Action::Quarantine;
  if (a == "delete") return Action::Delete;
  if (a == "reject") return Action::Reject;
  return std::nullopt;
}

namespace {

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? "" : address.substr(at + 1);
}

}  // namespace

bool glob_match(const std::string& p, const std::string& s) {
  size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

// The rule of `p` for class cls that matches the score: the highest minimum at or below it.
const Rule* match(const Policy& p, const std::string& cls, double score, double high) {
  const Rule* best = nullptr;
  double best_min = 0;
  for (auto& r : p.rules) {
    if (r.cls != cls) continue;
    double min = r.high ? high : r.min_score.value_or(-1e300);
    if (score < min) continue;
    if (!best || min > best_min) {
      best = &r;
      best_min = min;
    }
  }
  return best;
}

}  // namespace

const char* to_string(Action a) {
  switch (a) {
    case Action::Deliver: return "deliver";
    case Action::Tag: return "tag";
    case Action::Quarantine: return "quarantine";
    case Action::Delete: return "delete";
    case Action::Reject: return "reject";
  }
  return "deliver";
}

std::string Policy::spec() const {
  std::string out;
  for (auto& r : rules) {
    if (!out.empty()) out += ' ';
    out += r.cls;
    if (r.high) {
      out += ">=high";
    } else if (r.min_score) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ">=%g", *r.min_score);
      out += buf;
    }
    out += '=';
    out += to_string(r.action);
  }
  return out;
}

Result<Policy> parse_policy(const std::string& spec) {
  Policy p;
  std::set<std::pair<std::string, std::string>> seen;
  std::string text = lower(spec);
  for (char& c : text)
    if (c == ',' || c == ';' || c == '\n' || c == '\t' || c == '\r') c = ' ';
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = text.find(' ', pos);
    std::string tok = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end;
    auto eq = tok.rfind('=');
    if (eq == std::string::npos || eq == 0)
      return Status::error("policy rule '" + tok + "' must look like CLASS=ACTION or CLASS>=SCORE=ACTION");
    Rule r;
    std::string lhs = tok.substr(0, eq), act = tok.substr(eq + 1);
    auto ge = lhs.find(">=");
    r.cls = lhs.substr(0, ge);
    if (!known_class(r.cls))
      return Status::error("policy rule '" + tok + "': unknown class '" + r.cls +
                           "' (clean, spam, bulk, phishing, malware, unscannable, dmarc_fail, blocked)");
    std::string score = ge == std::string::npos ? "" : lhs.substr(ge + 2);
    if (ge != std::string::npos) {
      if (score == "high") {
        r.high = true;
      } else {
        char* e = nullptr;
        double v = std::strtod(score.c_str(), &e);
        if (score.empty() || *e != 0 || v != v || v < -1000 || v > 1000)
          return Status::error("policy rule '" + tok + "': score '" + score + "' is not a number in -1000..1000 or 'high'");
        r.min_score = v;
      }
    }
    auto a = parse_action(act);
    if (!a) return Status::error("policy rule '" + tok + "': unknown action '" + act +
                                 "' (deliver, tag, quarantine, delete, reject)");
    r.action = *a;
    if ((r.cls == "malware") && (r.action == Action::Deliver || r.action == Action::Tag))
      return Status::error("policy rule '" + tok + "': malware is never delivered (use quarantine, delete or reject)");
    if (!seen.emplace(r.cls, score).second)
      return Status::error("policy rule '" + tok + "': class " + r.cls + (score.empty() ? "" : " >= " + score) +
                           " is given twice");
    p.rules.push_back(r);
  }
  if (p.rules.empty()) return Status::error("a policy needs at least one rule");
  return p;
}

const Policy& default_policy() {
  static const Policy p = *parse_policy(
      "clean=deliver spam>=high=reject spam=quarantine bulk=tag phishing>=high=reject phishing=quarantine "
      "malware=reject unscannable=quarantine dmarc_fail=quarantine blocked=reject");
  return p;
}

bool AuthFacts::passes_for(const std::string& domain) const {
  auto d = lower(domain);
  return std::find(aligned_pass_domains.begin(), aligned_pass_domains.end(), d) != aligned_pass_domains.end();
}

Result<std::string> normalize_pattern(const std::string& pattern) {
  std::string p = lower(pattern);
  if (p.empty() || p.size() > 320) return Status::error("sender pattern must be 1..320 characters");
  for (unsigned char c : p)
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == '"' || c == 127)
      return Status::error("sender pattern '" + pattern + "' contains a character not allowed in an address");
  auto at = p.rfind('@');
  std::string dom = at == std::string::npos ? p : p.substr(at + 1);
  std::string bare = dom;
  std::erase(bare, '*');
  if (bare.find('.') == std::string::npos || bare == "." || bare.size() < 3)
    return Status::error("sender pattern '" + pattern + "' must name a domain (e.g. *@example.com or example.com)");
  if (p.find('@') != at) return Status::error("sender pattern '" + pattern + "' has more than one '@'");
  if (dom.find('*') == std::string::npos && !store::normalize_domain(dom))
    return Status::error("sender pattern '" + pattern + "': '" + dom + "' is not a valid domain");
  return p;
}

bool pattern_matches(const std::string& pattern, const std::string& address) {
  if (address.empty()) return false;
  if (pattern.find('@') == std::string::npos) return glob_match(pattern, domain_of(address));
  return glob_match(pattern, address);
}

std::shared_ptr<const Snapshot> Snapshot::load(store::Store& st) {
  auto s = std::make_shared<Snapshot>();
  s->generation_ = st.config_generation();
  auto& ts = st.tenancy();
  for (auto& t : st.list_tenants()) {
    auto& d = s->tenants_[t.name];
    if (auto i = ts.tenant_info(t.name)) d.approve_unauthenticated = i->approve_unauthenticated;
  }
  for (auto& row : ts.list_policies("")) {
    if (row.level == "rules") {
      if (auto r = parse_rules(row.spec)) s->tenants_[row.tenant].rules = std::move(*r);
      continue;
    }
    if (row.level == "attachments") continue;  // the attachments check's (gateway directory)
    auto p = parse_policy(row.spec);
    if (!p) continue;  // validated on save; an unreadable row falls back to the next level
    auto& d = s->tenants_[row.tenant];
    if (row.level == "rules") continue;
    if (row.level == "tenant") d.tenant = *p;
    else if (row.level == "domain") d.domains[row.target] = *p;
    else if (row.level == "account") d.accounts[row.target] = *p;
  }
  for (auto& e : ts.list_senders("")) s->tenants_[e.tenant].senders.push_back(e);
  for (auto& a : ts.list_accounts("")) {
    s->account_of_[a.address] = a.address;
    for (auto& al : a.aliases) s->account_of_[al] = a.address;
  }
  return s;
}

std::shared_ptr<Snapshot> Snapshot::with_policy(const std::string& tenant, const std::string& level,
                                                const std::string& target, const Policy& p) const {
  auto s = std::make_shared<Snapshot>(*this);
  auto& d = s->tenants_[tenant];
  if (level == "tenant") d.tenant = p;
  else if (level == "domain") d.domains[target] = p;
  else d.accounts[target] = p;
  return s;
}

std::string Snapshot::account_of(const std::string& recipient) const {
  auto it = account_of_.find(lower(recipient));
  return it == account_of_.end() ? "" : it->second;
}

Decision Snapshot::decide(const MessageFacts& f, const std::string& recipient, int64_t now) const {
  Decision d;
  d.cls = scan::to_string(f.cls);
  std::string rcpt = lower(recipient);
  std::string account = account_of(rcpt);
  static const TenantData kNone;
  auto it = tenants_.find(f.tenant);
  const TenantData& td = it == tenants_.end() ? kNone : it->second;

  // Sender lists: the end user's own entries first, then the tenant's.
  std::vector<std::string> senders;
  for (auto* a : {&f.from_address, &f.envelope_sender})
    if (!a->empty() && std::find(senders.begin(), senders.end(), lower(*a)) == senders.end())
      senders.push_back(lower(*a));
  const std::string* owners[] = {&account, nullptr};
  for (const std::string* owner : owners) {
    if (owner && owner->empty()) continue;
    const store::SenderEntry* allow = nullptr;
    const store::SenderEntry* block = nullptr;
    std::string allowed_address;
    for (auto& e : td.senders) {
      if (e.owner != (owner ? *owner : std::string()) || (e.expires_at && e.expires_at <= now)) continue;
      for (auto& s : senders) {
        if (!pattern_matches(e.pattern, s)) continue;
        if (e.kind == "block") block = &e;
        else if (!allow) {
          allow = &e;
          allowed_address = s;
        }
      }
    }
    std::string where = owner ? "list of " + *owner : "tenant list";
    if (block) {
      d.cls = "blocked";
      d.note = "blocked sender " + block->pattern + " (" + where + ")";
      break;
    }
    if (allow) {
      bool spamlike = f.cls == scan::Class::Spam || f.cls == scan::Class::Bulk || f.cls == scan::Class::Clean;
      std::string dom = domain_of(allowed_address);
      if (!spamlike) {
        d.note = "approved sender " + allow->pattern + " (" + where + ") not applied to " + d.cls;
      } else if (!f.auth.passes_for(dom) && !td.approve_unauthenticated) {
        d.note = "approved sender " + allow->pattern + " (" + where + ") not applied: not authenticated for " + dom;
      } else {
        d.cls = "clean";
        d.note = "approved sender " + allow->pattern + " (" + where + ")";
      }
      break;
    }
  }
  if (d.cls == "clean" && f.dmarc_fail) d.cls = "dmarc_fail";

  // Content rules, in order: headers and skip-spam accumulate; the first decisive action decides.
  if (!td.rules.rules.empty()) {
    RuleInput in{f.msg, senders, rcpt, scan::to_string(f.cls), f.score, f.size};
    bool malware = f.cls == scan::Class::Malware;
    for (auto& r : td.rules.rules) {
      if (!matches(r, in)) continue;
      for (auto& h : r.add_headers) d.add_headers.push_back(h);
      if (d.redirect.empty() && !r.redirect.empty()) {
        d.redirect = r.redirect;
        d.note += (d.note.empty() ? "" : "; ") + ("redirected to " + r.redirect + " by rule " + r.name);
      }
      for (auto& c : r.copies)
        if (std::find(d.copies.begin(), d.copies.end(), c) == d.copies.end()) d.copies.push_back(c);
      if (r.skip_spam && (d.cls == "spam" || d.cls == "bulk")) {
        d.cls = "clean";
        d.note += (d.note.empty() ? "" : "; ") + ("skip-spam by rule " + r.name);
      }
      if (!r.action) continue;
      if (malware && (*r.action == Action::Deliver || *r.action == Action::Tag)) {
        d.note += (d.note.empty() ? "" : "; ") + ("rule " + r.name + " cannot deliver malware");
        continue;
      }
      d.action = *r.action;
      d.source = "rule:" + r.name;
      return d;
    }
  }

  // account > domain > tenant > defaults, per class and score band.
  std::string domain = domain_of(rcpt);
  std::vector<std::pair<const Policy*, std::string>> levels;
  if (auto a = td.accounts.find(account); !account.empty() && a != td.accounts.end())
    levels.emplace_back(&a->second, "account:" + account);
  if (auto dm = td.domains.find(domain); dm != td.domains.end()) levels.emplace_back(&dm->second, "domain:" + domain);
  levels.emplace_back(&td.tenant, "tenant");
  levels.emplace_back(&default_policy(), "default");
  for (auto& [p, src] : levels) {
    if (const Rule* r = match(*p, d.cls, f.score, f.high)) {
      d.action = r->action;
      d.source = src;
      return d;
    }
  }
  // No rule at all (e.g. a class without a default band at this score): deliver clean mail,
  // quarantine anything else.
  d.action = d.cls == "clean" ? Action::Deliver : Action::Quarantine;
  d.source = "fallback";
  return d;
}

// ---------------------------------------------------------------- PolicyService

namespace {

// The canonical target of a policy level within the tenant, or an error.
Result<std::string> policy_target(store::Store& st, const std::string& tenant, const std::string& level,
                                  const std::string& target) {
  std::string t = lower(target);
  if (level == "tenant") {
    if (!t.empty()) return Status::error("a tenant policy has no target");
  } else if (level == "domain") {
    auto d = st.get_domain(t);
    if (!d || d->tenant != tenant) return Status::error("'" + t + "' is not a domain of tenant '" + tenant + "'");
    t = d->name;
  } else if (level == "account") {
    auto a = st.tenancy().find_account(t);
    if (!a || a->tenant != tenant) return Status::error("'" + t + "' is not an account of tenant '" + tenant + "'");
    t = a->address;
  } else {
    return Status::error("policy level must be tenant, domain or account");
  }
  return t;
}

std::optional<scan::Class> class_of(const std::string& name) {
  for (auto c : {scan::Class::Clean, scan::Class::Bulk, scan::Class::Spam, scan::Class::Phishing, scan::Class::Malware,
                 scan::Class::Unscannable})
    if (name == scan::to_string(c)) return c;
  return std::nullopt;
}

}  // namespace

Status PolicyService::set(const tenancy::Scope& s, const std::string& tenant, const std::string& level,
                          const std::string& target, const std::string& spec) {
  if (auto st = s.can_admin(tenant); !st) return st;
  auto p = parse_policy(spec);
  if (!p) return p.status();
  auto t = policy_target(st_, tenant, level, target);
  if (!t) return t.status();
  return st_.tenancy().put_policy({tenant, level, *t, p->spec(), 0});
}

Status PolicyService::set_rules(const tenancy::Scope& s, const std::string& tenant, const std::string& text) {
  if (auto st = s.can_admin(tenant); !st) return st;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    auto st = st_.tenancy().delete_policy(tenant, "rules", "");
    return st ? st : Status::error("tenant '" + tenant + "' has no content rules");
  }
  if (text.size() > 256 * 1024) return Status::error("content rules are limited to 256 KiB");
  auto r = parse_rules(text);  // all or nothing: one bad line refuses the whole text
  if (!r) return r.status();
  // Redirects and copies stay within the tenant: their addresses must be in its own domains.
  std::set<std::string> own;
  for (auto& d : st_.list_domains(tenant)) own.insert(d.name);
  for (auto& rule : r->rules) {
    std::vector<std::string> to = rule.copies;
    if (!rule.redirect.empty()) to.push_back(rule.redirect);
    for (auto& addr : to)
      if (!own.count(domain_of(addr)))
        return Status::error("rule " + rule.name + ": " + addr + " is not in a domain of tenant '" + tenant +
                             "'; redirect and copy stay within the tenant");
  }
  return st_.tenancy().put_policy({tenant, "rules", "", text, 0});
}

Result<std::vector<DryRunChange>> PolicyService::dry_run(const tenancy::Scope& s, const std::string& tenant,
                                                         const std::string& level, const std::string& target,
                                                         const std::string& spec, int64_t since_us, size_t limit,
                                                         double high) {
  if (auto st = s.can_admin(tenant); !st) return st;
  auto p = parse_policy(spec);
  if (!p) return p.status();
  auto t = policy_target(st_, tenant, level, target);
  if (!t) return t.status();
  auto before = Snapshot::load(st_);
  auto after = before->with_policy(tenant, level, *t, *p);
  store::SummaryQuery q;
  q.tenant = tenant;
  q.since_us = since_us;
  q.limit = limit ? limit : 1000;
  std::vector<DryRunChange> out;
  int64_t now = now_s();
  for (auto& m : st_.tenancy().search_summaries(q)) {
    auto cls = class_of(m.verdict);
    if (!cls) continue;
    MessageFacts f;
    f.tenant = tenant;
    f.envelope_sender = f.from_address = m.sender;
    f.cls = *cls;
    f.score = m.score;
    f.high = high;
    size_t pos = 0;
    while (pos < m.recipients.size()) {
      size_t comma = m.recipients.find(',', pos);
      std::string r = m.recipients.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      pos = comma == std::string::npos ? m.recipients.size() : comma + 1;
      if (r.empty()) continue;
      auto b = before->decide(f, r, now), a = after->decide(f, r, now);
      if (a.action != b.action) out.push_back({m, r, b, a});
    }
  }
  return out;
}

Status PolicyService::remove(const tenancy::Scope& s, const std::string& tenant, const std::string& level,
                             const std::string& target) {
  if (auto st = s.can_admin(tenant); !st) return st;
  return st_.tenancy().delete_policy(tenant, level, target);
}

namespace {
Result<std::string> extension_of(std::string e) {
  if (!e.empty() && e[0] == '.') e.erase(0, 1);
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (e.empty() || e.size() > 16 || e.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    return Status::error("'" + e + "' is not a file name extension (letters, digits, '-' or '_', at most 16)");
  return e;
}
std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (auto& x : v) out += (out.empty() ? "" : ",") + x;
  return out;
}
}  // namespace

std::string AttachmentOverrides::spec() const {
  std::string out;
  if (!allow.empty()) out = "allow=" + joined(allow);
  if (!block.empty()) out += (out.empty() ? "" : " ") + std::string("block=") + joined(block);
  return out;
}

Result<AttachmentOverrides> make_attachment_overrides(const std::vector<std::string>& allow,
                                                      const std::vector<std::string>& block) {
  AttachmentOverrides o;
  for (auto [in, out] : {std::pair{&allow, &o.allow}, std::pair{&block, &o.block}})
    for (auto& item : *in) {
      size_t pos = 0;
      while (pos <= item.size()) {  // "js,vbs" counts as two
        size_t c = item.find(',', pos);
        auto e = extension_of(item.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
        if (!e) return e.status();
        out->push_back(*e);
        if (c == std::string::npos) break;
        pos = c + 1;
      }
      std::sort(out->begin(), out->end());
      out->erase(std::unique(out->begin(), out->end()), out->end());
    }
  for (auto& e : o.allow)
    if (std::binary_search(o.block.begin(), o.block.end(), e))
      return Status::error("extension '" + e + "' cannot be both allowed and blocked");
  if (o.allow.size() + o.block.size() > 200) return Status::error("at most 200 extensions");
  return o;
}

Result<AttachmentOverrides> parse_attachment_overrides(const std::string& spec) {
  std::vector<std::string> allow, block;
  std::istringstream in(spec);
  std::string word;
  while (in >> word) {
    if (word.rfind("allow=", 0) == 0) allow.push_back(word.substr(6));
    else if (word.rfind("block=", 0) == 0) block.push_back(word.substr(6));
    else return Status::error("attachment overrides: '" + word + "' is neither allow=EXT,... nor block=EXT,...");
  }
  return make_attachment_overrides(allow, block);
}

Status PolicyService::set_attachments(const tenancy::Scope& s, const std::string& tenant, const AttachmentOverrides& o) {
  if (auto st = s.can_admin(tenant); !st) return st;
  auto checked = parse_attachment_overrides(o.spec());  // the same rules as any stored spec
  if (!checked) return checked.status();
  if (checked->empty()) {
    auto st = st_.tenancy().delete_policy(tenant, "attachments", "");
    return st ? st : Status::error("tenant '" + tenant + "' has no attachment overrides");
  }
  return st_.tenancy().put_policy({tenant, "attachments", "", checked->spec(), 0});
}

Result<AttachmentOverrides> PolicyService::attachments(const tenancy::Scope& s, const std::string& tenant) {
  if (auto st = s.can_read(tenant); !st) return st;
  for (auto& row : st_.tenancy().list_policies(tenant))
    if (row.level == "attachments") return parse_attachment_overrides(row.spec);
  return AttachmentOverrides{};
}

Result<std::vector<store::PolicyRow>> PolicyService::list(const tenancy::Scope& s, const std::string& tenant) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  auto rows = st_.tenancy().list_policies(*t);
  if (s.role == tenancy::Role::User)
    std::erase_if(rows, [&](const store::PolicyRow& r) { return r.level == "account" && !s.owns_address(r.target); });
  return rows;
}

Result<Decision> PolicyService::explain(const tenancy::Scope& s, const std::string& recipient,
                                        const MessageFacts& facts) {
  auto d = st_.get_domain(domain_of(lower(recipient)));
  if (!d) return d.status();
  if (auto st = s.can_read(d->tenant); !st) return st;
  if (!s.owns_address(recipient)) return Status::error("permission denied: not your mailbox");
  MessageFacts f = facts;
  f.tenant = d->tenant;
  return Snapshot::load(st_)->decide(f, recipient, now_s());
}

Result<store::SenderEntry> PolicyService::add_sender(const tenancy::Scope& s, const std::string& tenant,
                                                     const std::string& owner, const std::string& kind,
                                                     const std::string& pattern, int64_t expires_at) {
  if (kind != "allow" && kind != "block") return Status::error("list must be allow or block");
  std::string own = lower(owner);
  if (own.empty()) {
    if (auto st = s.can_admin(tenant); !st) return st;
  } else {
    auto a = st_.tenancy().find_account(own);
    if (!a || a->tenant != tenant) return Status::error("'" + own + "' is not an account of tenant '" + tenant + "'");
    own = a->address;
    bool self = s.role == tenancy::Role::User && s.can_read(tenant) && s.owns_address(own);
    if (!self)
      if (auto st = s.can_admin(tenant); !st) return st;
  }
  auto p = normalize_pattern(pattern);
  if (!p) return p.status();
  if (expires_at < 0) return Status::error("expiry must be a time in the future");
  store::SenderEntry e;
  e.tenant = tenant;
  e.owner = own;
  e.kind = kind;
  e.pattern = *p;
  e.expires_at = expires_at;
  e.created_by = s.actor;
  return st_.tenancy().add_sender(e);
}

Status PolicyService::remove_sender(const tenancy::Scope& s, const std::string& tenant, int64_t id) {
  if (auto st = s.can_read(tenant); !st) return st;
  auto all = st_.tenancy().list_senders(tenant);
  auto it = std::find_if(all.begin(), all.end(), [&](const store::SenderEntry& e) { return e.id == id; });
  if (it == all.end()) return Status::error("tenant '" + tenant + "' has no list entry " + std::to_string(id));
  bool self = s.role == tenancy::Role::User && !it->owner.empty() && s.owns_address(it->owner);
  if (!self)
    if (auto st = s.can_admin(tenant); !st) return st;
  return st_.tenancy().delete_sender(tenant, id);
}

Result<std::vector<store::SenderEntry>> PolicyService::senders(const tenancy::Scope& s, const std::string& tenant) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  auto all = st_.tenancy().list_senders(*t);
  if (s.role == tenancy::Role::User)
    std::erase_if(all, [&](const store::SenderEntry& e) { return e.owner.empty() || !s.owns_address(e.owner); });
  return all;
}

}  // namespace mm::policy
