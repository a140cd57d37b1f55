// Persistence for connection control (src/reputation): allow-list entries (operator-wide with
// tenant "", or per tenant), each tenant's reputation strictness and whether it greylists.
// Changes bump the config generation so that the gateway reloads them. The reputation counters
// themselves are not here (in process, saved to a file).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::store {

struct ReputationAllowRow {
  int64_t id = 0;
  std::string tenant;   // "" = operator-wide
  std::string pattern;  // normalised by the reputation module
  int64_t expires_at = 0;  // unix s, 0 = never
  int64_t created_at = 0;
  std::string note;
};

class ReputationStore {
 public:
  virtual ~ReputationStore() = default;
  // Adds (or replaces the expiry and note of) an entry; error for an unknown tenant.
  virtual Status add_allow(const ReputationAllowRow&) = 0;
  // Error when no such entry.
  virtual Status remove_allow(const std::string& tenant, const std::string& pattern) = 0;
  // Every entry (all tenants and the operator's) ordered by tenant and pattern.
  virtual std::vector<ReputationAllowRow> allow_entries() = 0;
  // level: off | low | normal | strict (validated by the caller); error for an unknown tenant.
  virtual Status set_strictness(const std::string& tenant, const std::string& level) = 0;
  // tenant -> level, for the tenants that have one set.
  virtual std::map<std::string, std::string> strictness() = 0;
  // Greylisting for a tenant's recipients; error for an unknown tenant.
  virtual Status set_greylisting(const std::string& tenant, bool on) = 0;
  virtual std::set<std::string> greylisting() = 0;  // the tenants that have it on
};

}  // namespace mm::store
