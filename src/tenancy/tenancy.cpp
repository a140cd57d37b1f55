#include "tenancy/tenancy.h"

#include <sodium.h>

#include <algorithm>

#include "ops/log.h"
#include "util/clock.h"

namespace mm::tenancy {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status operator_only(const Scope& s) {
  if (!s.is_operator()) return Status::error("permission denied: needs an operator");
  return Status::ok();
}

constexpr size_t kMinPassword = 12;

}  // namespace

Result<std::string> hash_password(const std::string& password) {
  if (sodium_init() < 0) return Status::error("libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::error("password hashing failed (out of memory)");
  return std::string(out);
}

bool verify_password(const std::string& encoded, const std::string& password) {
  if (sodium_init() < 0 || encoded.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

Result<store::Tenant> TenancyService::create_tenant(const Scope& s, const std::string& name,
                                                    const std::string& display) {
  if (auto st = operator_only(s); !st) return st;
  return st_.create_tenant(name, display.empty() ? name : display);
}

Result<store::TenantInfo> TenancyService::info(const Scope& s, const std::string& tenant) {
  if (auto st = s.can_read(tenant); !st) return st;
  return st_.tenancy().tenant_info(tenant);
}

std::vector<store::TenantInfo> TenancyService::list(const Scope& s) {
  std::vector<store::TenantInfo> out;
  for (auto& t : st_.list_tenants()) {
    if (!s.can_read(t.name)) continue;
    if (auto i = st_.tenancy().tenant_info(t.name)) out.push_back(std::move(*i));
  }
  return out;
}

Status TenancyService::set_contract(const Scope& s, const std::string& tenant, const Contract& c) {
  if (auto st = operator_only(s); !st) return st;
  auto i = st_.tenancy().tenant_info(tenant);
  if (!i) return i.status();
  if (c.licensed_accounts < -1) return Status::error("licensed accounts must be 0 (unlimited) or more");
  if (c.licensed_accounts >= 0) i->licensed_accounts = c.licensed_accounts;
  if (c.term_start >= 0) i->term_start = c.term_start;
  if (c.term_end >= 0) i->term_end = c.term_end;
  if (i->term_start && i->term_end && i->term_end <= i->term_start)
    return Status::error("the contract term must end after it starts");
  if (c.account_list >= 0) i->account_list = c.account_list == 1;
  for (auto [v, what] : {std::pair{c.quarantine_days, "quarantine retention"}, {c.tracking_days, "tracking retention"}})
    if (v == 0 || v > 3650) return Status::error(std::string(what) + " must be 1..3650 days");
  if (c.quarantine_days > 0) i->quarantine_days = c.quarantine_days;
  if (c.tracking_days > 0) i->tracking_days = c.tracking_days;
  if (c.approve_unauthenticated >= 0) i->approve_unauthenticated = c.approve_unauthenticated == 1;
  if (c.user_release != "-") {
    std::string list = lower(c.user_release);
    size_t pos = 0;
    while (pos <= list.size() && !list.empty()) {
      size_t comma = list.find(',', pos);
      std::string cls = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      static const char* kAllowed[] = {"spam", "bulk", "phishing", "blocked", "dmarc_fail", "unscannable", "clean"};
      if (std::find(std::begin(kAllowed), std::end(kAllowed), cls) == std::end(kAllowed))
        return Status::error("end users cannot be allowed to release '" + cls +
                             "' (choose from spam, bulk, phishing, blocked, dmarc_fail, unscannable, clean; "
                             "malware never)");
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    i->user_release = list;
  }
  auto r = st_.tenancy().set_tenant_info(*i);
  if (r) log::info("tenant.contract", JsonLine().add("tenant", tenant).add("by", s.actor)
                                          .add("licensed", i->licensed_accounts));
  return r;
}

Status TenancyService::set_contact(const Scope& s, const std::string& tenant, const Contact& c) {
  if (auto st = s.can_admin(tenant); !st) return st;
  auto i = st_.tenancy().tenant_info(tenant);
  if (!i) return i.status();
  if (c.name != "-") i->contact_name = c.name;
  if (c.email != "-") i->contact_email = c.email;
  if (c.phone != "-") i->contact_phone = c.phone;
  for (auto* f : {&i->contact_name, &i->contact_email, &i->contact_phone})
    if (f->size() > 255 || f->find_first_of("\r\n") != std::string::npos)
      return Status::error("contact fields are single lines of at most 255 bytes");
  return st_.tenancy().set_tenant_info(*i);
}

Status TenancyService::suspend(const Scope& s, const std::string& tenant, bool inbound, bool outbound,
                               const std::string& reason) {
  if (auto st = operator_only(s); !st) return st;
  if (!inbound && !outbound) return Status::error("suspend inbound, outbound or both");
  if (reason.empty()) return Status::error("a suspension needs a reason");
  auto i = st_.tenancy().tenant_info(tenant);
  if (!i) return i.status();
  i->suspended_inbound = i->suspended_inbound || inbound;
  i->suspended_outbound = i->suspended_outbound || outbound;
  i->suspend_reason = reason;
  i->suspended_at = now_s();
  if (auto st = st_.tenancy().set_tenant_info(*i); !st) return st;
  std::string what = std::string(inbound ? "inbound" : "") + (inbound && outbound ? "+" : "") + (outbound ? "outbound" : "");
  log::warn("tenant.suspended", JsonLine().add("tenant", tenant).add("mail", what).add("reason", reason)
                                    .add("by", s.actor));
  return st_.tenancy().add_security_event({0, 0, tenant, "tenant_suspended", what + ": " + reason + " (by " + s.actor + ")"});
}

Status TenancyService::resume(const Scope& s, const std::string& tenant) {
  if (auto st = operator_only(s); !st) return st;
  auto i = st_.tenancy().tenant_info(tenant);
  if (!i) return i.status();
  i->suspended_inbound = i->suspended_outbound = false;
  i->suspend_reason.clear();
  i->suspended_at = 0;
  if (auto st = st_.tenancy().set_tenant_info(*i); !st) return st;
  log::info("tenant.resumed", JsonLine().add("tenant", tenant).add("by", s.actor));
  return st_.tenancy().add_security_event({0, 0, tenant, "tenant_resumed", "by " + s.actor});
}

Result<store::Account> TenancyService::add_account(const Scope& s, const std::string& tenant,
                                                   const std::string& address, const std::string& display) {
  if (auto st = s.can_admin(tenant); !st) return st;
  auto i = st_.tenancy().tenant_info(tenant);
  if (!i) return i.status();
  // The licence is checked inside the store's transaction (no race between two creators).
  return st_.tenancy().create_account(tenant, address, display, i->licensed_accounts);
}

Status TenancyService::remove_account(const Scope& s, const std::string& tenant, const std::string& address) {
  if (auto st = s.can_admin(tenant); !st) return st;
  return st_.tenancy().delete_account(tenant, address);
}

Status TenancyService::add_alias(const Scope& s, const std::string& tenant, const std::string& address,
                                 const std::string& alias) {
  if (auto st = s.can_admin(tenant); !st) return st;
  return st_.tenancy().add_alias(tenant, address, alias);
}

Status TenancyService::remove_alias(const Scope& s, const std::string& tenant, const std::string& alias) {
  if (auto st = s.can_admin(tenant); !st) return st;
  return st_.tenancy().remove_alias(tenant, alias);
}

Result<std::vector<store::Account>> TenancyService::accounts(const Scope& s, const std::string& tenant) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  auto all = st_.tenancy().list_accounts(*t);
  if (s.role == Role::User)
    std::erase_if(all, [&](const store::Account& a) { return !s.owns_address(a.address); });
  return all;
}

std::string TenancyService::note_seen(const std::string& tenant, const std::vector<std::string>& addresses,
                                      int64_t now) {
  if (tenant.empty() || addresses.empty()) return "";
  int64_t day = now / 86400;
  std::vector<std::string> fresh;
  {
    std::lock_guard lk(mu_);
    auto& seen = seen_day_[tenant];
    if (seen_on_[tenant] != day) {  // a new day: everything is written again once; memory stays one day's worth
      seen.clear();
      seen_on_[tenant] = day;
    }
    for (auto& a : addresses) {
      auto& d = seen[lower(a)];
      if (d != day) {
        d = day;
        fresh.push_back(lower(a));
      }
    }
  }
  if (fresh.empty()) return "";
  auto info = st_.tenancy().tenant_info(tenant);
  if (!info) return "";
  bool outside = (info->term_start && now < info->term_start) || (info->term_end && now >= info->term_end);
  if (outside) {
    std::lock_guard lk(mu_);
    if (term_alerted_.insert(tenant).second) {
      std::string text = "tenant '" + tenant + "' receives mail outside its contract term";
      log::warn("tenant.outside_term", JsonLine().add("tenant", tenant).add("term_start", info->term_start)
                                           .add("term_end", info->term_end));
      (void)st_.tenancy().add_security_event({0, now, tenant, "licence_term", text});
    }
  }
  auto n = st_.tenancy().note_seen(tenant, fresh, now);
  if (!n || info->account_list || info->licensed_accounts <= 0) return "";
  int64_t in_use = st_.tenancy().count_seen(tenant, now - 30 * 86400);
  std::lock_guard lk(mu_);
  if (in_use <= info->licensed_accounts || alerted_[tenant] >= in_use) return "";
  alerted_[tenant] = in_use;
  std::string text = "tenant '" + tenant + "' has " + std::to_string(in_use) +
                     " protected accounts in use (recipients seen in the last 30 days), licensed for " +
                     std::to_string(info->licensed_accounts);
  log::warn("tenant.licence_exceeded", JsonLine().add("tenant", tenant).add("in_use", in_use)
                                           .add("licensed", info->licensed_accounts));
  (void)st_.tenancy().add_security_event({0, now, tenant, "licence_exceeded", text});
  return text;
}

Result<std::vector<Usage>> TenancyService::usage(const Scope& s, const std::string& tenant, int64_t now) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  if (s.role == Role::User) return Status::error("permission denied: end users see no licence usage");
  std::vector<Usage> out;
  for (auto& i : list(s)) {
    if (!t->empty() && i.tenant != *t) continue;
    Usage u;
    u.tenant = i.tenant;
    u.licensed = i.licensed_accounts;
    u.account_list = i.account_list;
    u.accounts = st_.tenancy().count_accounts(i.tenant);
    u.seen = st_.tenancy().count_seen(i.tenant, now - 30 * 86400);
    u.in_use = i.account_list ? u.accounts : std::max(u.accounts, u.seen);
    u.over = u.licensed > 0 && u.in_use > u.licensed;
    u.term_start = i.term_start;
    u.term_end = i.term_end;
    u.term_active = (i.term_start == 0 || now >= i.term_start) && (i.term_end == 0 || now < i.term_end);
    out.push_back(u);
  }
  return out;
}

Status TenancyService::can_manage_user(const Scope& s, const store::User& u) {
  if (s.is_operator()) return Status::ok();
  if (u.role == "operator") return Status::error("permission denied: only operators manage operators");
  return s.can_admin(u.tenant);
}

Result<store::User> TenancyService::create_user(const Scope& s, const std::string& name, const std::string& role,
                                                const std::string& tenant, const std::string& account,
                                                const std::string& password) {
  auto r = parse_role(role);
  if (!r) return r.status();
  store::User u;
  u.name = lower(name);
  u.role = role;
  u.tenant = *r == Role::Operator ? "" : tenant;
  if (u.name.empty() || u.name.size() > 320 || u.name.find_first_of(" \t\r\n") != std::string::npos)
    return Status::error("user name must be 1..320 characters without spaces");
  if (*r != Role::Operator && tenant.empty()) return Status::error("a " + role + " belongs to a tenant (--tenant)");
  if (*r == Role::Operator && !tenant.empty()) return Status::error("operators belong to no tenant");
  if (auto st = can_manage_user(s, u); !st) return st;
  if (*r == Role::User) {
    auto acc = st_.tenancy().find_account(account);
    if (!acc || acc->tenant != tenant)
      return Status::error("end user '" + u.name + "' needs an account of tenant '" + tenant + "' (--account)");
    u.account = acc->address;
  } else if (!account.empty()) {
    return Status::error("only end users have an account");
  }
  if (password.size() < kMinPassword)
    return Status::error("password must be at least " + std::to_string(kMinPassword) + " characters");
  auto h = hash_password(password);
  if (!h) return h.status();
  return st_.tenancy().create_user(u, *h);
}

Result<std::vector<store::User>> TenancyService::users(const Scope& s, const std::string& tenant) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  if (!s.is_operator() && s.role != Role::Admin && s.role != Role::Auditor)
    return Status::error("permission denied: end users cannot list users");
  return st_.tenancy().list_users(*t);
}

Status TenancyService::disable_user(const Scope& s, const std::string& name, bool disabled) {
  auto u = st_.tenancy().find_user(name);
  if (!u) return Status::error("user '" + name + "' does not exist");
  if (auto st = can_manage_user(s, *u); !st) return st;
  auto r = st_.tenancy().set_user_disabled(name, disabled);
  if (r) (void)st_.tenancy().add_security_event({0, 0, u->tenant, disabled ? "user_disabled" : "user_enabled",
                                                 u->name + " by " + s.actor});
  return r;
}

Status TenancyService::reset_password(const Scope& s, const std::string& name, const std::string& password) {
  auto u = st_.tenancy().find_user(name);
  if (!u) return Status::error("user '" + name + "' does not exist");
  if (auto st = can_manage_user(s, *u); !st) return st;
  if (password.size() < kMinPassword)
    return Status::error("password must be at least " + std::to_string(kMinPassword) + " characters");
  auto h = hash_password(password);
  if (!h) return h.status();
  auto r = st_.tenancy().reset_password(name, *h, now_s());
  if (r) {
    log::warn("user.password_reset", JsonLine().add("user", u->name).add("by", s.actor));
    (void)st_.tenancy().add_security_event({0, 0, u->tenant, "password_reset",
                                            u->name + " by " + s.actor + "; sessions and tokens revoked"});
  }
  return r;
}

Status TenancyService::reset_totp(const Scope& s, const std::string& name) {
  auto u = st_.tenancy().find_user(name);
  if (!u) return Status::error("user '" + name + "' does not exist");
  if (auto st = can_manage_user(s, *u); !st) return st;
  if (!st_.api()) return Status::error("the store keeps no TOTP secrets");
  auto r = st_.api()->set_totp(u->name, "", false);
  if (r) {
    log::warn("user.totp_reset", JsonLine().add("user", u->name).add("by", s.actor));
    (void)st_.tenancy().add_security_event({0, 0, u->tenant, "totp_reset", u->name + " by " + s.actor});
  }
  return r;
}

Result<Scope> TenancyService::scope_for_user(const std::string& name) {
  auto u = st_.tenancy().find_user(name);
  if (!u) return Status::error("user '" + name + "' does not exist");
  if (u->disabled) return Status::error("user '" + u->name + "' is disabled");
  auto role = parse_role(u->role);
  if (!role) return role.status();
  switch (*role) {
    case Role::Operator: return Scope::operator_scope(u->name);
    case Role::Admin: return Scope::admin(u->tenant, u->name);
    case Role::Auditor: return Scope::auditor(u->tenant, u->name);
    case Role::User: {
      auto acc = st_.tenancy().find_account(u->account);
      if (!acc || acc->tenant != u->tenant) return Status::error("user '" + u->name + "' has no mailbox any more");
      std::vector<std::string> addrs{acc->address};
      addrs.insert(addrs.end(), acc->aliases.begin(), acc->aliases.end());
      return Scope::end_user(u->tenant, addrs, u->name);
    }
  }
  return Status::error("unknown role");
}

Result<Scope> TenancyService::authenticate(const std::string& name, const std::string& password) {
  auto h = st_.tenancy().password_hash(name);
  // The same answer for unknown users and wrong passwords.
  if (!h || !verify_password(*h, password)) return Status::error("invalid user name or password");
  return scope_for_user(name);
}

Result<std::vector<store::SecurityEvent>> TenancyService::security_events(const Scope& s, const std::string& tenant,
                                                                          size_t limit) {
  auto t = s.tenant_filter(tenant);
  if (!t) return t.status();
  if (s.role == Role::User) return Status::error("permission denied: end users see no security events");
  return st_.tenancy().security_events(*t, limit);
}

}  // namespace mm::tenancy
