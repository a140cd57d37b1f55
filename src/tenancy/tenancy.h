// The tenancy service: tenants (status, contact, contract), protected accounts with aliases and
// the licence on their number, console users (roles, Argon2id passwords, disable, reset with
// revocation of sessions and tokens) and the security events these raise. Every rule lives here
// so the CLI and the REST API apply the same ones; every call takes the acting Scope.
//
// Licence: a tenant that keeps an account list (account_list) cannot create more accounts than
// licensed (refused with a clear error). A tenant without a list has the recipients seen in its
// inbound mail counted (note_seen, called by the gateway); going over the licence logs a warning
// and stores a security event "licence_exceeded" for operator and tenant, and never drops mail.
// Mail arriving outside the contract term raises a "licence_term" event (once per process and
// tenant); it is not refused for it either.
#pragma once
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::tenancy {

// Argon2id (libsodium crypto_pwhash_str, interactive limits) in the standard "$argon2id$..." form.
Result<std::string> hash_password(const std::string& password);
bool verify_password(const std::string& encoded, const std::string& password);

struct Usage {
  std::string tenant;
  int64_t licensed = 0;   // 0 = no licence set
  bool account_list = false;
  int64_t accounts = 0;   // protected accounts on the list
  int64_t seen = 0;       // distinct recipients seen in the last 30 days (tenants without a list)
  int64_t in_use = 0;     // what counts against the licence: accounts, or seen without a list
  bool over = false;
  int64_t term_start = 0, term_end = 0;
  bool term_active = true;  // now within the term (open ends count as within)
};

struct Contract {
  int64_t licensed_accounts = -1;  // -1 = keep
  int64_t term_start = -1, term_end = -1;
  int account_list = -1;           // -1 keep, 0 off, 1 on
  int64_t quarantine_days = -1, tracking_days = -1;
  int approve_unauthenticated = -1;
  std::string user_release = "-";  // "-" = keep
};

struct Contact {
  std::string name = "-", email = "-", phone = "-";  // "-" = keep
};

class TenancyService {
 public:
  explicit TenancyService(store::Store& st) : st_(st) {}

  // --- tenants (operators create, suspend and set contracts; admins may edit their contact) ---
  Result<store::Tenant> create_tenant(const Scope&, const std::string& name, const std::string& display);
  Result<store::TenantInfo> info(const Scope&, const std::string& tenant);
  std::vector<store::TenantInfo> list(const Scope&);
  Status set_contract(const Scope&, const std::string& tenant, const Contract&);
  Status set_contact(const Scope&, const std::string& tenant, const Contact&);
  // Suspends inbound and/or outbound mail with a reason; resume clears both.
  Status suspend(const Scope&, const std::string& tenant, bool inbound, bool outbound, const std::string& reason);
  Status resume(const Scope&, const std::string& tenant);

  // --- accounts ---
  Result<store::Account> add_account(const Scope&, const std::string& tenant, const std::string& address,
                                     const std::string& display);
  Status remove_account(const Scope&, const std::string& tenant, const std::string& address);
  Status add_alias(const Scope&, const std::string& tenant, const std::string& address, const std::string& alias);
  Status remove_alias(const Scope&, const std::string& tenant, const std::string& alias);
  Result<std::vector<store::Account>> accounts(const Scope&, const std::string& tenant);

  // --- licence ---
  // The gateway reports recipients of a tenant's delivered mail; cheap (an in-memory set filters
  // what was already written today). Returns the over-licence alert text when one was raised, else "".
  std::string note_seen(const std::string& tenant, const std::vector<std::string>& addresses, int64_t now);
  Result<std::vector<Usage>> usage(const Scope&, const std::string& tenant, int64_t now);

  // --- console users ---
  // Operators create any user; tenant admins create admin/auditor/user within their tenant.
  // End users need an account address of the tenant. Passwords: at least 12 characters.
  Result<store::User> create_user(const Scope&, const std::string& name, const std::string& role,
                                  const std::string& tenant, const std::string& account,
                                  const std::string& password);
  Result<std::vector<store::User>> users(const Scope&, const std::string& tenant);
  Status disable_user(const Scope&, const std::string& name, bool disabled);
  // Sets a new password and revokes every session and API token of the user.
  Status reset_password(const Scope&, const std::string& name, const std::string& password);
  // For login (issue 7): the user's scope when the password matches and the user is enabled.
  Result<Scope> authenticate(const std::string& name, const std::string& password);
  // The scope of an existing, enabled user (end users get their account's addresses).
  Result<Scope> scope_for_user(const std::string& name);

  Result<std::vector<store::SecurityEvent>> security_events(const Scope&, const std::string& tenant, size_t limit);
  // Turns the user's TOTP second factor off (a lost authenticator), by whoever may manage the user.
  Status reset_totp(const Scope&, const std::string& name);

 private:
  Status can_manage_user(const Scope&, const store::User&);
  store::Store& st_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unordered_map<std::string, int64_t>> seen_day_;  // tenant -> addr -> day
  std::unordered_map<std::string, int64_t> seen_on_;  // tenant -> the day seen_day_ holds
  std::map<std::string, int64_t> alerted_;  // tenant -> count at the last alert
  std::set<std::string> term_alerted_;      // tenants told once per process: mail outside the term
};

}  // namespace mm::tenancy
