#include "api/connection_service.h"

#include "reputation/allow.h"

namespace mm::api {

using tenancy::Role;
using tenancy::Scope;

namespace {
double share(const reputation::Counts& c, double rw) { return c.total(rw) > 0 ? c.bad(rw) / c.total(rw) : 0.0; }
}  // namespace

ConnectionService::ConnectionService(store::Store& st, reputation::Reputation* live, std::string default_strictness)
    : st_(st), rep_(live), default_(std::move(default_strictness)) {
  if (!reputation::parse_strictness(default_)) default_ = "normal";
}

Status ConnectionService::may_read(const Scope& s, const std::string& tenant) {
  if (s.role == Role::User) return Status::error("permission denied: end users see no connection control");
  if (tenant.empty()) {
    if (!s.is_operator()) return Status::error("permission denied: the operator-wide list is the operators'");
    return Status::ok();
  }
  if (auto st = s.can_read(tenant); !st) return st;
  if (!st_.get_tenant(tenant)) return Status::error("unknown tenant '" + tenant + "'");
  return Status::ok();
}

Status ConnectionService::may_change(const Scope& s, const std::string& tenant) {
  if (tenant.empty()) {
    if (!s.is_operator()) return Status::error("permission denied: the operator-wide list is the operators'");
    return Status::ok();
  }
  if (auto st = s.can_admin(tenant); !st) return st;
  if (!st_.get_tenant(tenant)) return Status::error("unknown tenant '" + tenant + "'");
  return Status::ok();
}

Result<IpReport> ConnectionService::lookup(const Scope& s, const std::string& ip_in, const std::string& tenant_in,
                                           int64_t now) {
  std::string tenant = tenant_in.empty() && !s.is_operator() ? s.tenant : tenant_in;
  if (s.role == Role::User) return Status::error("permission denied: end users see no connection control");
  if (!tenant.empty())
    if (auto st = may_read(s, tenant); !st) return st;
  if (!rep_) return Status::error("unavailable: reputation lookups need the running server");
  std::string ip = reputation::ascii_lower(ip_in);
  IpReport r;
  r.network = reputation::network_of(ip);
  if (r.network.empty()) return Status::error("not an IP address: '" + ip_in + "'");
  r.ip = ip;
  r.tenant = tenant;
  r.strictness = default_;
  if (!tenant.empty()) {
    auto levels = st_.reputation().strictness();
    if (auto it = levels.find(tenant); it != levels.end() && reputation::parse_strictness(it->second)) r.strictness = it->second;
  }
  const double rw = rep_->options().refused_weight;
  for (auto lv : {reputation::Strictness::Low, reputation::Strictness::Normal, reputation::Strictness::Strict}) {
    auto a = rep_->assess(ip, lv, now);
    r.actions[reputation::to_string(lv)] = reputation::to_string(a.action);
    r.reasons[reputation::to_string(lv)] = a.reason;
    r.ip_counts = a.ip;
    r.network_counts = a.net;
  }
  auto a = rep_->assess(ip, *reputation::parse_strictness(r.strictness), now);
  r.action = reputation::to_string(a.action);
  r.reason = a.reason;
  r.bad_ip = r.ip_counts.bad(rw);
  r.bad_network = r.network_counts.bad(rw);
  r.bad_share_ip = share(r.ip_counts, rw);
  r.bad_share_network = share(r.network_counts, rw);
  for (auto& e : st_.reputation().allow_entries()) {
    if (!e.tenant.empty() && !tenant.empty() && e.tenant != tenant) continue;
    if (!e.tenant.empty() && tenant.empty() && !s.is_operator()) continue;
    if (e.expires_at != 0 && e.expires_at <= now) continue;
    auto k = reputation::parse_allow(e.pattern);
    if (!k || (k->first != reputation::AllowKind::Ip && k->first != reputation::AllowKind::Network)) continue;
    if (reputation::ip_in(ip, k->second)) r.allowed_by.push_back(e);
  }
  return r;
}

Result<std::vector<TopSource>> ConnectionService::top(const Scope& s, size_t n, int64_t now) {
  if (!s.is_operator()) return Status::error("permission denied: the worst sources are the operators' view");
  if (!rep_) return Status::error("unavailable: reputation lookups need the running server");
  const double rw = rep_->options().refused_weight;
  auto level = *reputation::parse_strictness(default_);
  std::vector<TopSource> out;
  for (auto& [key, c] : rep_->top(n, now)) {
    TopSource t;
    t.source = key;
    t.network = key.find('/') != std::string::npos;
    t.counts = c;
    t.bad = c.bad(rw);
    if (!t.network) t.action = reputation::to_string(rep_->assess(key, level, now).action);
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<store::ReputationAllowRow>> ConnectionService::allow_list(const Scope& s, const std::string& tenant) {
  if (auto st = may_read(s, tenant); !st) return st;
  std::vector<store::ReputationAllowRow> out;
  for (auto& e : st_.reputation().allow_entries())
    if (e.tenant == tenant) out.push_back(e);
  return out;
}

Result<store::ReputationAllowRow> ConnectionService::allow_add(const Scope& s, const std::string& tenant,
                                                               const std::string& entry, int64_t expires_at,
                                                               const std::string& note, int64_t now, bool* created) {
  if (auto st = may_change(s, tenant); !st) return st;
  auto k = reputation::parse_allow(entry);
  if (!k) return Status::error("not an allow entry: '" + entry + "' (IP, CIDR network, host pattern or sender:DOMAIN)");
  if (expires_at < 0 || (expires_at != 0 && expires_at <= now)) return Status::error("expires_at must be in the future (or 0: never)");
  if (note.size() > 1000) return Status::error("note: at most 1000 characters");
  *created = true;
  for (auto& e : st_.reputation().allow_entries())
    if (e.tenant == tenant && e.pattern == k->second) *created = false;
  store::ReputationAllowRow row;
  row.tenant = tenant;
  row.pattern = k->second;
  row.expires_at = expires_at;
  row.note = note;
  if (auto st = st_.reputation().add_allow(row); !st) return st;
  for (auto& e : st_.reputation().allow_entries())
    if (e.tenant == tenant && e.pattern == row.pattern) return e;
  return Status::error("the entry vanished");
}

Result<std::optional<store::ReputationAllowRow>> ConnectionService::allow_remove(const Scope& s, const std::string& tenant,
                                                                                int64_t id) {
  if (auto st = may_change(s, tenant); !st) return st;
  for (auto& e : st_.reputation().allow_entries())
    if (e.id == id && e.tenant == tenant) {
      if (auto st = st_.reputation().remove_allow(tenant, e.pattern); !st) return st;
      return std::optional<store::ReputationAllowRow>(e);
    }
  return std::optional<store::ReputationAllowRow>();
}

Result<ConnectionSettings> ConnectionService::settings(const Scope& s, const std::string& tenant) {
  if (tenant.empty()) return Status::error("a tenant is required");
  if (auto st = may_read(s, tenant); !st) return st;
  ConnectionSettings c;
  c.tenant = tenant;
  c.strictness = default_;
  auto levels = st_.reputation().strictness();
  if (auto it = levels.find(tenant); it != levels.end()) {
    c.strictness = it->second;
    c.inherited = false;
  }
  c.greylisting = st_.reputation().greylisting().count(tenant) > 0;
  return c;
}

Result<ConnectionSettings> ConnectionService::set_settings(const Scope& s, const std::string& tenant,
                                                          const std::string* strictness, const bool* greylisting) {
  if (tenant.empty()) return Status::error("a tenant is required");
  if (auto st = may_change(s, tenant); !st) return st;
  std::string level;
  if (strictness && *strictness != "default") {
    auto l = reputation::parse_strictness(*strictness);
    if (!l) return Status::error("strictness must be off, low, normal, strict or default");
    level = reputation::to_string(*l);
  }
  if (strictness)
    if (auto st = st_.reputation().set_strictness(tenant, level); !st) return st;
  if (greylisting)
    if (auto st = st_.reputation().set_greylisting(tenant, *greylisting); !st) return st;
  return settings(s, tenant);
}

}  // namespace mm::api
