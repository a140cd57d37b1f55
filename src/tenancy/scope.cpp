#include "tenancy/scope.h"

#include <algorithm>

namespace mm::tenancy {
namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

const char* to_string(Role r) {
  switch (r) {
    case Role::Operator: return "operator";
    case Role::Admin: return "admin";
    case Role::Auditor: return "auditor";
    case Role::User: return "user";
  }
  return "user";
}

Result<Role> parse_role(const std::string& s) {
  if (s == "operator") return Role::Operator;
  if (s == "admin") return Role::Admin;
  if (s == "auditor") return Role::Auditor;
  if (s == "user") return Role::User;
  return Status::error("unknown role '" + s + "' (use operator, admin, auditor or user)");
}

Scope Scope::operator_scope(std::string actor) {
  Scope s;
  s.actor = std::move(actor);
  return s;
}
Scope Scope::admin(std::string tenant, std::string actor) {
  Scope s;
  s.role = Role::Admin;
  s.tenant = std::move(tenant);
  s.actor = std::move(actor);
  return s;
}
Scope Scope::auditor(std::string tenant, std::string actor) {
  Scope s = admin(std::move(tenant), std::move(actor));
  s.role = Role::Auditor;
  return s;
}
Scope Scope::end_user(std::string tenant, std::vector<std::string> addresses, std::string actor) {
  Scope s = admin(std::move(tenant), std::move(actor));
  s.role = Role::User;
  for (auto& a : addresses) s.addresses.push_back(lower(a));
  return s;
}

Status Scope::can_read(const std::string& t) const {
  if (is_operator()) return Status::ok();
  if (tenant.empty() || t != tenant) return Status::error("permission denied: not your organisation's data");
  if (role == Role::User && addresses.empty()) return Status::error("permission denied: no mailbox for this user");
  return Status::ok();
}

Status Scope::can_admin(const std::string& t) const {
  if (is_operator()) return Status::ok();
  if (role != Role::Admin) return Status::error("permission denied: needs a tenant administrator");
  if (tenant.empty() || t != tenant) return Status::error("permission denied: not your organisation");
  return Status::ok();
}

bool Scope::owns_address(const std::string& address) const {
  if (role != Role::User) return true;
  auto a = lower(address);
  return std::find(addresses.begin(), addresses.end(), a) != addresses.end();
}

std::optional<std::vector<std::string>> Scope::recipient_filter(const std::vector<std::string>& requested) const {
  if (role != Role::User) return requested;
  if (requested.empty()) return addresses;
  std::vector<std::string> mine;
  for (auto& r : requested)
    if (owns_address(r)) mine.push_back(r);
  if (mine.empty()) return std::nullopt;
  return mine;
}

Result<std::string> Scope::tenant_filter(const std::string& requested) const {
  if (is_operator()) return requested;
  if (!requested.empty() && requested != tenant)
    return Status::error("permission denied: not your organisation's data");
  if (auto st = can_read(tenant); !st) return st;
  return tenant;
}

}  // namespace mm::tenancy
