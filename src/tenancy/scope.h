// Who is acting: every service call of tenancy, policy, quarantine and tracking search takes a
// Scope, and the service refuses what the scope may not see or change. Operators act on every
// tenant; tenant administrators change their own tenant; auditors read it; end users see only
// their own mailbox (its primary address and aliases). The API (issue 7) builds a Scope from a
// logged-in user with TenancyService::scope_for_user; the CLI acts as an operator unless told
// otherwise (--as USER).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::tenancy {

enum class Role { Operator, Admin, Auditor, User };
const char* to_string(Role);
// "operator", "admin", "auditor", "user"; nullopt-like error otherwise.
Result<Role> parse_role(const std::string&);

struct Scope {
  Role role = Role::Operator;
  std::string tenant;                  // required for every role but Operator
  std::vector<std::string> addresses;  // end users: their account's addresses (primary first)
  std::string actor = "cli";           // who, for audit fields ("cli", a user name)

  static Scope operator_scope(std::string actor = "cli");
  static Scope admin(std::string tenant, std::string actor = "admin");
  static Scope auditor(std::string tenant, std::string actor = "auditor");
  static Scope end_user(std::string tenant, std::vector<std::string> addresses, std::string actor = "user");

  bool is_operator() const { return role == Role::Operator; }
  // May this scope read data of tenant t (end users: only their own mailbox within it)?
  Status can_read(const std::string& t) const;
  // May it change tenant-wide settings of t (operators and t's administrators)?
  Status can_admin(const std::string& t) const;
  // Is `address` one of the end user's own addresses (always true for other roles that can read)?
  bool owns_address(const std::string& address) const;
  // The recipients a query must be limited to: the requested ones (empty = any) for every role but
  // end users, for whom the requested ones they own, or all their own when none was requested.
  // nullopt: an end user asked only for addresses not theirs (the answer is empty).
  std::optional<std::vector<std::string>> recipient_filter(const std::vector<std::string>& requested) const;
  // The tenant filter a query must use: the requested one, checked; "" (all) only for operators.
  Result<std::string> tenant_filter(const std::string& requested) const;
};

}  // namespace mm::tenancy
