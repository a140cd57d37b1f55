// Connection control as the API offers it, with the caller's Scope deciding (the service layer of
// issue 7 for src/reputation): IP reputation lookups in the live server's counters (operators,
// tenant administrators and auditors; the latter two with their tenant's strictness and allow
// list), the worst sources (operators), allow lists (operator-wide: operators; a tenant's: its
// administrators change, its auditors read) and a tenant's strictness and greylisting. Entries are
// validated and normalised as the CLI does (reputation::parse_allow); changes go to the store,
// which bumps the config generation so the gateway reloads them.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reputation/reputation.h"
#include "store/reputation_store.h"
#include "store/store.h"
#include "tenancy/scope.h"

namespace mm::api {

struct IpReport {
  std::string ip, network;
  reputation::Counts ip_counts, network_counts;
  double bad_ip = 0, bad_network = 0, bad_share_ip = 0, bad_share_network = 0;
  std::map<std::string, std::string> actions, reasons;  // "low"/"normal"/"strict" -> action, reason
  std::string tenant;       // whose strictness and allow list apply ("" = the default, no tenant's)
  std::string strictness;   // the level that applies
  std::string action, reason;  // at that level
  std::vector<store::ReputationAllowRow> allowed_by;  // live IP/network entries containing the address
};

struct TopSource {
  std::string source;
  bool network = false;
  reputation::Counts counts;
  double bad = 0;
  std::string action;  // IPs: at the default strictness; networks: ""
};

struct ConnectionSettings {
  std::string tenant, strictness;  // the level that applies
  bool inherited = true;           // no level of its own: the [connection] default
  bool greylisting = false;
};

class ConnectionService {
 public:
  // live: the running server's counters (null: lookups are refused); default_strictness: [connection].
  ConnectionService(store::Store&, reputation::Reputation* live, std::string default_strictness);
  bool live() const { return rep_ != nullptr; }

  Result<IpReport> lookup(const tenancy::Scope&, const std::string& ip, const std::string& tenant, int64_t now);
  Result<std::vector<TopSource>> top(const tenancy::Scope&, size_t n, int64_t now);

  // tenant "" = the operator-wide list.
  Result<std::vector<store::ReputationAllowRow>> allow_list(const tenancy::Scope&, const std::string& tenant);
  // Adds, or replaces the expiry and note of, an entry; *created tells which.
  Result<store::ReputationAllowRow> allow_add(const tenancy::Scope&, const std::string& tenant, const std::string& entry,
                                              int64_t expires_at, const std::string& note, int64_t now, bool* created);
  // The removed entry; nullopt when there was none with that id (nothing to do).
  Result<std::optional<store::ReputationAllowRow>> allow_remove(const tenancy::Scope&, const std::string& tenant, int64_t id);

  Result<ConnectionSettings> settings(const tenancy::Scope&, const std::string& tenant);
  // strictness: off|low|normal|strict, or "default" to inherit; null pointers keep the value.
  Result<ConnectionSettings> set_settings(const tenancy::Scope&, const std::string& tenant, const std::string* strictness,
                                          const bool* greylisting);

 private:
  Status may_read(const tenancy::Scope&, const std::string& tenant);
  Status may_change(const tenancy::Scope&, const std::string& tenant);
  store::Store& st_;
  reputation::Reputation* rep_;
  std::string default_;
};

}  // namespace mm::api
