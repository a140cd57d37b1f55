#include "cli/tenancy_commands.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/engine.h"
#include "ops/control.h"
#include "ops/tracker.h"
#include "policy/policy.h"
#include "quarantine/digest.h"
#include "queue/spool.h"
#include "tenancy/tenancy.h"
#include "tenancy/tracking.h"
#include "util/clock.h"
#include "util/json_line.h"

namespace mm::cli {
namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailmoat: %s\n", msg.c_str());
  return 1;
}

// The store and the acting scope of one command.
struct Ctx {
  std::unique_ptr<store::Store> st;
  tenancy::Scope scope;
};

std::optional<Ctx> open(const config::Config& c, const TenancyArgs& a) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) {
    fail("cannot open the database " + c.db_path + ": " + st.error());
    return std::nullopt;
  }
  Ctx ctx{std::move(*st), tenancy::Scope::operator_scope("cli")};
  if (!a.as_user.empty()) {
    auto s = tenancy::TenancyService(*ctx.st).scope_for_user(a.as_user);
    if (!s) {
      fail(s.error());
      return std::nullopt;
    }
    ctx.scope = *s;
  }
  return ctx;
}

// "2026-11-25", "2026-11-25T10:00:00" (UTC), unix seconds, or "7d"/"12h" ago. 0 for "".
Result<int64_t> parse_time(const std::string& s) {
  if (s.empty()) return int64_t{0};
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end && *end == 0) return static_cast<int64_t>(v);
  if (end && end != s.c_str() && (std::string(end) == "d" || std::string(end) == "h") && v >= 0)
    return now_s() - v * (*end == 'd' ? 86400 : 3600);
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest || *rest) {
    tm = {};
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!rest || *rest) return Status::error("time '" + s + "' must be YYYY-MM-DD[THH:MM:SS] (UTC), unix seconds or Nd/Nh ago");
  return static_cast<int64_t>(timegm(&tm));
}

std::string score_json(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string day(int64_t t) {
  if (t == 0) return "-";
  return iso8601_us(t * 1000000).substr(0, 10);
}

Result<int> on_off(const std::string& v) {
  if (v.empty()) return -1;
  if (v == "on") return 1;
  if (v == "off") return 0;
  return Status::error("expected on or off, got '" + v + "'");
}

Result<int64_t> number(const std::string& v, const char* what) {
  if (v.empty()) return int64_t{-1};
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end || n < 0) return Status::error(std::string(what) + " must be a number >= 0");
  return static_cast<int64_t>(n);
}

std::string read_password() {
  std::string pw;
  std::getline(std::cin, pw);
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

std::string status_text(const store::TenantInfo& i) {
  if (!i.suspended_inbound && !i.suspended_outbound) return "active";
  std::string s = "suspended (";
  s += i.suspended_inbound ? "inbound" : "";
  s += i.suspended_inbound && i.suspended_outbound ? ", " : "";
  s += i.suspended_outbound ? "outbound" : "";
  return s + ")";
}

}  // namespace

int tenant_show(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto i = tenancy::TenancyService(*ctx->st).info(ctx->scope, a.name);
  if (!i) return fail(i.error());
  std::printf("tenant:           %s\nstatus:           %s\n", i->tenant.c_str(), status_text(*i).c_str());
  if (i->suspended_at)
    std::printf("suspended:        %s: %s\n", iso8601_us(i->suspended_at * 1000000).c_str(), i->suspend_reason.c_str());
  std::printf("contact:          %s <%s> %s\n", i->contact_name.c_str(), i->contact_email.c_str(), i->contact_phone.c_str());
  std::printf("licensed:         %s\n", i->licensed_accounts ? std::to_string(i->licensed_accounts).c_str() : "unlimited");
  std::printf("term:             %s .. %s\n", day(i->term_start).c_str(), day(i->term_end).c_str());
  std::printf("account list:     %s\n", i->account_list ? "kept (licence enforced on create)" : "not kept (seen recipients counted)");
  std::printf("retention:        quarantine %lld days, tracking %lld days\n", static_cast<long long>(i->quarantine_days),
              static_cast<long long>(i->tracking_days));
  std::printf("users may release: %s\n", i->user_release.c_str());
  std::printf("approvals:        %s\n", i->approve_unauthenticated ? "applied without authentication (unsafe)"
                                                                   : "need SPF/DKIM alignment for the sender's domain");
  return 0;
}

int tenant_contract(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  tenancy::Contract k;
  auto lic = number(a.licensed, "--licensed");
  auto qd = number(a.quarantine_days, "--quarantine-days");
  auto td = number(a.tracking_days, "--tracking-days");
  auto ts = a.term_start.empty() ? Result<int64_t>(int64_t{-1}) : parse_time(a.term_start);
  auto te = a.term_end.empty() ? Result<int64_t>(int64_t{-1}) : parse_time(a.term_end);
  auto al = on_off(a.account_list);
  auto au = on_off(a.approve_unauthenticated);
  for (auto* r : {&lic, &qd, &td, &ts, &te})
    if (!*r) return fail(r->error());
  if (!al) return fail("--account-list: " + al.error());
  if (!au) return fail("--approve-unauthenticated: " + au.error());
  k.licensed_accounts = *lic;
  k.quarantine_days = *qd;
  k.tracking_days = *td;
  k.term_start = *ts;
  k.term_end = *te;
  k.account_list = *al;
  k.approve_unauthenticated = *au;
  if (!a.user_release.empty()) k.user_release = a.user_release;
  if (auto st = tenancy::TenancyService(*ctx->st).set_contract(ctx->scope, a.name, k); !st) return fail(st.message());
  return tenant_show(c, a);
}

int tenant_contact(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  tenancy::Contact k{a.contact_name, a.contact_email, a.contact_phone};
  if (auto st = tenancy::TenancyService(*ctx->st).set_contact(ctx->scope, a.name, k); !st) return fail(st.message());
  std::printf("contact of %s updated\n", a.name.c_str());
  return 0;
}

int tenant_suspend(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  bool in = a.inbound || !a.outbound, out = a.outbound || !a.inbound;
  std::string reason = a.reason.empty() ? "suspended by the operator" : a.reason;
  if (auto st = tenancy::TenancyService(*ctx->st).suspend(ctx->scope, a.name, in, out, reason); !st)
    return fail(st.message());
  std::printf("tenant %s is suspended for %s mail: %s\n", a.name.c_str(),
              in && out ? "inbound and outbound" : in ? "inbound" : "outbound", reason.c_str());
  return 0;
}

int tenant_resume(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  if (auto st = tenancy::TenancyService(*ctx->st).resume(ctx->scope, a.name); !st) return fail(st.message());
  std::printf("tenant %s is now active\n", a.name.c_str());
  return 0;
}

int tenant_usage(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto u = tenancy::TenancyService(*ctx->st).usage(ctx->scope, a.name, now_s());
  if (!u) return fail(u.error());
  if (!a.json)
    std::printf("%-24s %9s %9s %9s %9s  %-6s %s\n", "TENANT", "LICENSED", "ACCOUNTS", "SEEN-30D", "IN-USE", "STATE", "TERM");
  for (auto& x : *u) {
    if (a.json) {
      std::printf("%s\n", JsonLine().add("tenant", x.tenant).add("licensed", x.licensed).add("account_list", x.account_list)
                              .add("accounts", x.accounts).add("seen", x.seen).add("in_use", x.in_use)
                              .add("over", x.over).add("term_active", x.term_active).str().c_str());
      continue;
    }
    std::printf("%-24s %9s %9lld %9lld %9lld  %-6s %s..%s%s\n", x.tenant.c_str(),
                x.licensed ? std::to_string(x.licensed).c_str() : "-", static_cast<long long>(x.accounts),
                static_cast<long long>(x.seen), static_cast<long long>(x.in_use), x.over ? "OVER" : "ok",
                day(x.term_start).c_str(), day(x.term_end).c_str(), x.term_active ? "" : " (outside the term)");
  }
  return 0;
}

int tenant_events(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto ev = tenancy::TenancyService(*ctx->st).security_events(ctx->scope, a.name, a.limit);
  if (!ev) return fail(ev.error());
  for (auto& e : *ev)
    std::printf("%s  %-16s %-20s %s\n", iso8601_us(e.ts * 1000000).c_str(), e.tenant.c_str(), e.kind.c_str(),
                e.detail.c_str());
  return 0;
}

int account_add(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto r = tenancy::TenancyService(*ctx->st).add_account(ctx->scope, a.tenant, a.address, a.display);
  if (!r) return fail(r.error());
  std::printf("account %s added to %s\n", r->address.c_str(), r->tenant.c_str());
  return 0;
}

int account_remove(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  if (auto st = tenancy::TenancyService(*ctx->st).remove_account(ctx->scope, a.tenant, a.address); !st)
    return fail(st.message());
  std::printf("account %s removed\n", a.address.c_str());
  return 0;
}

int account_alias(const config::Config& c, const TenancyArgs& a, bool add) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  tenancy::TenancyService svc(*ctx->st);
  auto st = add ? svc.add_alias(ctx->scope, a.tenant, a.address, a.alias) : svc.remove_alias(ctx->scope, a.tenant, a.alias);
  if (!st) return fail(st.message());
  std::printf("alias %s %s\n", a.alias.c_str(), add ? ("added to " + a.address).c_str() : "removed");
  return 0;
}

int account_list(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto l = tenancy::TenancyService(*ctx->st).accounts(ctx->scope, a.tenant);
  if (!l) return fail(l.error());
  for (auto& x : *l) {
    std::string aliases;
    for (auto& al : x.aliases) aliases += " " + al;
    std::printf("%-16s %-40s %s%s\n", x.tenant.c_str(), x.address.c_str(), x.display_name.c_str(),
                aliases.empty() ? "" : ("  aliases:" + aliases).c_str());
  }
  return 0;
}

int user_add(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto u = tenancy::TenancyService(*ctx->st).create_user(ctx->scope, a.user, a.role, a.tenant, a.account, read_password());
  if (!u) return fail(u.error());
  std::printf("user %s (%s%s) created\n", u->name.c_str(), u->role.c_str(), u->tenant.empty() ? "" : (" of " + u->tenant).c_str());
  return 0;
}

int user_list(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto l = tenancy::TenancyService(*ctx->st).users(ctx->scope, a.tenant);
  if (!l) return fail(l.error());
  for (auto& u : *l)
    std::printf("%-32s %-9s %-16s %-32s %s\n", u.name.c_str(), u.role.c_str(), u.tenant.empty() ? "-" : u.tenant.c_str(),
                u.account.empty() ? "-" : u.account.c_str(), u.disabled ? "disabled" : "enabled");
  return 0;
}

int user_disable(const config::Config& c, const TenancyArgs& a, bool disabled) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  if (auto st = tenancy::TenancyService(*ctx->st).disable_user(ctx->scope, a.user, disabled); !st) return fail(st.message());
  std::printf("user %s %s\n", a.user.c_str(), disabled ? "disabled (sessions and tokens revoked)" : "enabled");
  return 0;
}

int user_reset(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  if (auto st = tenancy::TenancyService(*ctx->st).reset_password(ctx->scope, a.user, read_password()); !st)
    return fail(st.message());
  std::printf("password of %s reset; all its sessions and API tokens are revoked\n", a.user.c_str());
  return 0;
}

int user_totp_reset(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  if (auto st = tenancy::TenancyService(*ctx->st).reset_totp(ctx->scope, a.user); !st) return fail(st.message());
  std::printf("TOTP of %s is off; it logs in with its password until it sets TOTP up again\n", a.user.c_str());
  return 0;
}

namespace {
std::pair<std::string, std::string> level_of(const TenancyArgs& a) {
  if (!a.account.empty()) return {"account", a.account};
  if (!a.domain.empty()) return {"domain", a.domain};
  return {"tenant", ""};
}
}  // namespace

int policy_set(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto [level, target] = level_of(a);
  if (auto st = policy::PolicyService(*ctx->st).set(ctx->scope, a.tenant, level, target, a.spec); !st)
    return fail(st.message());
  std::printf("%s policy of %s%s set: %s\n", level.c_str(), a.tenant.c_str(),
              target.empty() ? "" : (" for " + target).c_str(), policy::parse_policy(a.spec)->spec().c_str());
  return 0;
}

int policy_remove(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto [level, target] = level_of(a);
  if (auto st = policy::PolicyService(*ctx->st).remove(ctx->scope, a.tenant, level, target); !st) return fail(st.message());
  std::printf("%s policy removed\n", level.c_str());
  return 0;
}

int policy_show(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto rows = policy::PolicyService(*ctx->st).list(ctx->scope, a.tenant);
  if (!rows) return fail(rows.error());
  std::printf("%-16s %-8s %-32s %s\n", "-", "default", "-", policy::default_policy().spec().c_str());
  for (auto& r : *rows)
    std::printf("%-16s %-8s %-32s %s\n", r.tenant.c_str(), r.level.c_str(), r.target.empty() ? "-" : r.target.c_str(),
                r.spec.c_str());
  return 0;
}

int policy_explain(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  policy::MessageFacts f;
  f.envelope_sender = f.from_address = a.sender;
  static const std::pair<const char*, scan::Class> kClasses[] = {
      {"clean", scan::Class::Clean}, {"spam", scan::Class::Spam}, {"bulk", scan::Class::Bulk},
      {"phishing", scan::Class::Phishing}, {"malware", scan::Class::Malware}, {"unscannable", scan::Class::Unscannable}};
  bool found = false;
  for (auto& [n, cl] : kClasses)
    if (a.cls == n) {
      f.cls = cl;
      found = true;
    }
  if (!found) return fail("--class must be clean, spam, bulk, phishing, malware or unscannable");
  f.score = std::strtod(a.score.c_str(), nullptr);
  f.high = c.reject_score;
  if (!a.auth_domain.empty()) f.auth.aligned_pass_domains.push_back(a.auth_domain);
  auto d = policy::PolicyService(*ctx->st).explain(ctx->scope, a.recipient, f);
  if (!d) return fail(d.error());
  std::printf("%s (class %s, rule from %s)%s\n", policy::to_string(d->action), d->cls.c_str(), d->source.c_str(),
              d->note.empty() ? "" : ("; " + d->note).c_str());
  return 0;
}

int policy_dry_run(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto [level, target] = level_of(a);
  auto since = parse_time(a.since.empty() ? "7d" : a.since);
  if (!since) return fail(since.error());
  auto d = policy::PolicyService(*ctx->st).dry_run(ctx->scope, a.tenant, level, target, a.spec, *since * 1000000,
                                                   a.limit, c.reject_score);
  if (!d) return fail(d.error());
  for (auto& x : *d)
    std::printf("%s  %s  %-30s %-9s %6.2f  %s -> %s  \"%s\"\n", iso8601_us(x.message.ts_us).c_str(),
                x.message.queue_id.c_str(), x.recipient.c_str(), x.message.verdict.c_str(), x.message.score,
                policy::to_string(x.before.action), policy::to_string(x.after.action),
                x.message.subject.substr(0, 50).c_str());
  std::printf("%zu recipient(s) would be treated differently\n", d->size());
  return 0;
}

int policy_attachments(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  policy::PolicyService ps(*ctx->st);
  if (a.att_clear || !a.att_allow.empty() || !a.att_block.empty()) {
    auto o = policy::make_attachment_overrides(a.att_allow, a.att_block);
    if (!o) return fail(o.error());
    if (a.att_clear && !o->empty()) return fail("--clear takes no --allow or --block");
    if (auto st = ps.set_attachments(ctx->scope, a.tenant, *o); !st) return fail(st.message());
  }
  auto cur = ps.attachments(ctx->scope, a.tenant);
  if (!cur) return fail(cur.error());
  std::printf("attachment overrides of %s: %s\n", a.tenant.c_str(),
              cur->empty() ? "none (the configured defaults apply)" : cur->spec().c_str());
  return 0;
}

int policy_rules(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  std::string text;
  if (a.spec == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(a.spec, std::ios::binary);
    if (!in) return fail("cannot read " + a.spec);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (auto st = policy::PolicyService(*ctx->st).set_rules(ctx->scope, a.tenant, text); !st) return fail(st.message());
  auto n = policy::parse_rules(text);
  std::printf("content rules of %s: %zu rule(s)\n", a.tenant.c_str(), n ? n->rules.size() : size_t{0});
  return 0;
}

int list_add(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  int64_t exp = 0;
  if (!a.expires.empty()) {
    char* end = nullptr;
    long long days = std::strtoll(a.expires.c_str(), &end, 10);
    if (*end == 'd' && end[1] == 0 && days > 0) {
      exp = now_s() + days * 86400;
    } else {
      auto t = parse_time(a.expires);
      if (!t) return fail(t.error());
      exp = *t;
      if (exp <= now_s()) return fail("--expires must be in the future");
    }
  }
  auto e = policy::PolicyService(*ctx->st).add_sender(ctx->scope, a.tenant, a.user, a.kind, a.pattern, exp);
  if (!e) return fail(e.error());
  std::printf("%lld: %s %s%s%s\n", static_cast<long long>(e->id), e->kind.c_str(), e->pattern.c_str(),
              e->owner.empty() ? "" : (" for " + e->owner).c_str(),
              e->expires_at ? (" until " + iso8601_us(e->expires_at * 1000000)).c_str() : "");
  return 0;
}

int list_remove(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto id = number(a.id, "the entry id");
  if (!id || *id < 0) return fail("the entry id must be a number");
  if (auto st = policy::PolicyService(*ctx->st).remove_sender(ctx->scope, a.tenant, *id); !st) return fail(st.message());
  std::printf("entry %s removed\n", a.id.c_str());
  return 0;
}

int list_show(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  auto l = policy::PolicyService(*ctx->st).senders(ctx->scope, a.tenant);
  if (!l) return fail(l.error());
  int64_t now = now_s();
  for (auto& e : *l) {
    if (!a.user.empty() && e.owner != a.user) continue;
    std::printf("%-6lld %-16s %-5s %-36s %-28s %s\n", static_cast<long long>(e.id), e.tenant.c_str(), e.kind.c_str(),
                e.pattern.c_str(), e.owner.empty() ? "(tenant)" : e.owner.c_str(),
                e.expires_at == 0 ? "" : e.expires_at <= now ? "expired" : ("until " + day(e.expires_at)).c_str());
  }
  return 0;
}

int quarantine_list(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  store::QuarantineQuery q;
  q.tenant = a.tenant;
  if (!a.recipient.empty()) q.recipients.push_back(a.recipient);
  q.sender = a.sender;
  q.subject = a.subject;
  q.verdict = a.verdict;
  q.reason = a.reason;
  q.status = a.status == "any" ? "" : a.status;
  auto since = parse_time(a.since), until = parse_time(a.until);
  if (!since) return fail(since.error());
  if (!until) return fail(until.error());
  q.since = *since;
  q.until = *until;
  q.limit = a.limit;
  quarantine::Quarantine qu(*ctx->st, c.var_dir + "/quarantine");
  auto items = qu.search(ctx->scope, q);
  if (!items) return fail(items.error());
  for (auto& i : *items) {
    if (a.json) {
      std::printf("%s\n", JsonLine().add("id", i.id).add("tenant", i.tenant).add("queue_id", i.queue_id)
                              .add("recipient", i.recipient).add("sender", i.sender).add("subject", i.subject)
                              .add("verdict", i.verdict).add_raw("score", score_json(i.score)).add("reason", i.reason)
                              .add("status", i.status).add("received", iso8601_us(i.received_at * 1000000))
                              .add("expires", iso8601_us(i.expires_at * 1000000)).add("size", i.size).str().c_str());
    } else {
      std::printf("%s  %s  %-10s %-30s <- %-30s %s\n", i.id.c_str(), day(i.received_at).c_str(), i.reason.c_str(),
                  i.recipient.c_str(), i.sender.c_str(), i.subject.substr(0, 60).c_str());
    }
  }
  return 0;
}

int quarantine_show(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  quarantine::Quarantine qu(*ctx->st, c.var_dir + "/quarantine");
  auto i = qu.get(ctx->scope, a.id);
  if (!i) return fail(i.error());
  std::printf("id: %s\nqueue id: %s\ntenant: %s\nrecipient: %s\nsender: %s\nverdict: %s score=%.2f\nreason: %s\n"
              "symbols: %s\nstatus: %s\nexpires: %s\n\n",
              i->id.c_str(), i->queue_id.c_str(), i->tenant.c_str(), i->recipient.c_str(), i->sender.c_str(),
              i->verdict.c_str(), i->score, i->reason.c_str(), i->symbols.c_str(), i->status.c_str(),
              iso8601_us(i->expires_at * 1000000).c_str());
  auto p = qu.preview(ctx->scope, a.id);
  if (!p) return fail(p.error());
  std::fputs(p->c_str(), stdout);
  return 0;
}

Result<std::string> quarantine_control(store::Store& st, quarantine::Quarantine& qu, quarantine::SpoolReleaser& rel,
                                       const std::vector<std::string>& args) {
  if (args.size() == 5 && args[1] == "digest") {
    auto signer = quarantine::LinkSigner::from_store(st);
    if (!signer) return signer.status();
    quarantine::DigestOptions o{args[2], "mailmoat quarantine <postmaster@" + args[4] + ">", args[4]};
    int64_t now = now_s();
    if (args[3] == "-") {  // since each tenant's last run
      auto sent = quarantine::send_due_digests(st, *signer, now, o, [&](const quarantine::Digest& d) -> Status {
        auto id = rel.submit(d.tenant, "", d.recipient, d.message,
                             "quarantine digest (" + std::to_string(d.items) + " items)");
        return id ? Status::ok() : id.status();
      });
      if (!sent) return sent.status();
      return std::to_string(*sent) + " digest(s) queued\n";
    }
    size_t sent = 0;
    for (auto& d : quarantine::build_digests(st, *signer, std::strtoll(args[3].c_str(), nullptr, 10), now, o)) {
      // Null sender: an automatic message never bounces back into a loop (RFC 3834).
      auto id = rel.submit(d.tenant, "", d.recipient, d.message, "quarantine digest (" + std::to_string(d.items) + " items)");
      if (!id) return Status::error("digest for " + d.recipient + ": " + id.error());
      ++sent;
    }
    return std::to_string(sent) + " digest(s) queued\n";
  }
  if (args.size() == 3 && args[1] == "redeem") {
    auto signer = quarantine::LinkSigner::from_store(st);
    if (!signer) return signer.status();
    return quarantine::redeem(qu, st, *signer, args[2], rel, now_s());
  }
  if ((args.size() != 5 && args.size() != 6) || args[1] != "release")
    return Status::error("usage: quarantine release ID APPROVE AS_USER [NOT_SPAM]");
  tenancy::Scope scope = tenancy::Scope::operator_scope("cli");
  if (args[4] != "-") {
    auto s = tenancy::TenancyService(st).scope_for_user(args[4]);
    if (!s) return s.status();
    scope = *s;
  }
  quarantine::ReleaseOptions ro;
  ro.approve_sender = args[3] == "1";
  ro.not_spam = args.size() == 6 && args[5] == "1";
  auto r = qu.release(scope, args[2], ro, rel);
  if (!r) return r.status();
  return "released " + args[2] + " as " + r->queue_id + " (rescan: " + r->verdict + ")" +
         (r->approved ? "; sender approved" : "") + (r->learn_note.empty() ? "" : "; " + r->learn_note) + "\n";
}

namespace {

// Runs a quarantine request on the live server, or here on the spool when none runs (the message
// is then delivered at the next start).
int quarantine_request(const config::Config& c, const std::vector<std::string>& args) {
  bool no_server = false;
  auto r = ops::control_request(c.control_socket, args, &no_server);
  if (no_server) {
    // No server: rescan here and put the message into the spool; it is delivered at the next start.
    auto st = store::open_sqlite(c.db_path);
    if (!st) return fail(st.error());
    auto setup = build_engine(c, **st);
    if (!setup) return fail(setup.error());
    queue::SpoolOptions so;
    so.fsync = c.spool_fsync;
    auto spool = queue::Spool::open(c.spool_dir, so, nullptr);
    if (!spool) return fail(spool.error());
    ops::Tracker tracker(st->get());
    quarantine::SpoolReleaser rel(**spool, nullptr, setup->engine, &tracker, c.scan_timeout_ms);
    quarantine::Quarantine qu(**st, c.var_dir + "/quarantine");
    r = quarantine_control(**st, qu, rel, args);
  }
  if (!r) return fail(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

}  // namespace

int quarantine_release(const config::Config& c, const TenancyArgs& a) {
  return quarantine_request(c, {"quarantine", "release", a.id, a.approve_sender ? "1" : "0",
                                a.as_user.empty() ? "-" : a.as_user, a.not_spam ? "1" : "0"});
}

int quarantine_digest(const config::Config& c, const TenancyArgs& a) {
  if (!a.as_user.empty()) return fail("digests are sent by the operator");
  if (a.base_url.rfind("https://", 0) != 0 && a.base_url.rfind("http://", 0) != 0)
    return fail("--base-url must be the http(s) address where links are redeemed");
  if (a.since.empty())  // each tenant's items since its last digest run
    return quarantine_request(c, {"quarantine", "digest", a.base_url, "-", c.hostname});
  auto since = parse_time(a.since);
  if (!since) return fail(since.error());
  return quarantine_request(c, {"quarantine", "digest", a.base_url, std::to_string(*since), c.hostname});
}

int quarantine_redeem(const config::Config& c, const TenancyArgs& a) {
  return quarantine_request(c, {"quarantine", "redeem", a.token});
}

int quarantine_delete(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  quarantine::Quarantine qu(*ctx->st, c.var_dir + "/quarantine");
  if (auto st = qu.remove(ctx->scope, a.id); !st) return fail(st.message());
  std::printf("quarantined message %s deleted\n", a.id.c_str());
  return 0;
}

int quarantine_expire(const config::Config& c) {
  auto st = store::open_sqlite(c.db_path);
  if (!st) return fail(st.error());
  quarantine::Quarantine qu(**st, c.var_dir + "/quarantine");
  std::printf("%zu quarantined message(s) expired\n", qu.expire(now_s()));
  return 0;
}

namespace {
// "a\nb\n" -> "a,b" (summary attachment lines for output).
std::string lines_csv(const std::string& lines) {
  std::string out;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t nl = lines.find('\n', pos);
    if (nl == std::string::npos) nl = lines.size();
    out += (out.empty() ? "" : ",") + lines.substr(pos, nl - pos);
    pos = nl + 1;
  }
  return out;
}
}  // namespace

bool track_wants_search(const TenancyArgs& a) {
  return !a.as_user.empty() || !a.tenant.empty() || !a.sender.empty() || !a.subject.empty() ||
         !a.message_id.empty() || !a.client_ip.empty() || !a.verdict.empty() || !a.since.empty() || !a.until.empty() ||
         !a.attachment.empty() || !a.sha256.empty();
}

int track_search(const config::Config& c, const TenancyArgs& a) {
  auto ctx = open(c, a);
  if (!ctx) return 1;
  tenancy::TrackingSearch ts(*ctx->st);
  store::SummaryQuery q;
  q.tenant = a.tenant;
  if (!a.recipient.empty()) q.recipients.push_back(a.recipient);
  q.sender = a.sender;
  q.subject = a.subject;
  q.message_id = a.message_id;
  q.queue_id = a.queue_id;
  q.client_ip = a.client_ip;
  q.verdict = a.verdict;
  q.attachment = a.attachment;
  q.sha256 = a.sha256;
  if (!q.sha256.empty() && (q.sha256.size() != 64 || q.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
    return fail("--sha256 takes the 64 hex digits of a SHA-256");
  auto since = parse_time(a.since), until = parse_time(a.until);
  if (!since) return fail(since.error());
  if (!until) return fail(until.error());
  q.since_us = *since * 1000000;
  q.until_us = *until * 1000000;
  q.limit = a.limit;
  auto found = ts.search(ctx->scope, q);
  if (!found) return fail(found.error());
  for (auto& m : *found) {
    if (a.json) {
      std::printf("%s\n", JsonLine().add("ts", iso8601_us(m.ts_us)).add("queue_id", m.queue_id).add("tenant", m.tenant)
                              .add("sender", m.sender).add("recipients", m.recipients).add("subject", m.subject)
                              .add("message_id", m.message_id).add("client_ip", m.client_ip).add("verdict", m.verdict)
                              .add_raw("score", score_json(m.score)).add("action", m.action)
                              .add("attachments", lines_csv(m.attachment_names))
                              .add("sha256", lines_csv(m.attachment_sha256)).str().c_str());
    } else {
      std::printf("%s  %s  %-9s %6.2f  %-22s <%s> -> %s  \"%s\"\n", iso8601_us(m.ts_us).c_str(), m.queue_id.c_str(),
                  m.verdict.c_str(), m.score, m.action.c_str(), m.sender.c_str(), m.recipients.c_str(),
                  m.subject.substr(0, 60).c_str());
    }
  }
  return 0;
}

}  // namespace mm::cli
