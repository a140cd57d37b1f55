// Configuration and tracking store: tenants, their protected domains, delivery routes, known
// recipients and message-tracking events. Other modules see only this abstract interface; all SQL
// lives inside src/store (SQLite today, PostgreSQL later behind the same interface).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/api_store.h"
#include "store/reputation_store.h"
#include "store/tenancy_store.h"
#include "util/status.h"

namespace mm::store {

enum class TlsMode { None, Opportunistic, Required };
// "none", "opportunistic", "required".
std::string_view to_string(TlsMode);
// Inverse of to_string (exact, lower-case); nullopt for anything else.
std::optional<TlsMode> parse_tls_mode(std::string_view);

struct Tenant {
  int64_t id = 0;
  std::string name;  // unique, [a-z0-9-], 1..63
  std::string display_name;
  std::string status = "active";  // active | suspended
  int64_t created_at = 0;         // unix seconds
};

struct RouteHost {
  std::string host;  // lower-case hostname, or IP literal (IPv6 without brackets)
  uint16_t port = 25;
  int preference = 10;  // lower is tried first (MX semantics), 0..65535
};

struct Domain {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string tenant;  // tenant name, filled on reads
  std::string name;    // lower-case, no trailing dot
  bool recipient_validation = false;
  TlsMode tls = TlsMode::Opportunistic;
  std::vector<RouteHost> routes;  // ordered by preference (ties: order given to set_routes)
  int64_t created_at = 0;         // unix seconds
};

struct TrackingEvent {
  std::string queue_id;
  int64_t ts_us = 0;      // 0 = stamped with now_us() when stored
  std::string event;      // received|queued|attempt|delivered|deferred|bounced|held|released|deleted|refused
  std::string recipient;  // stored lower-cased
  std::string detail;
  std::string tenant;
};

struct TrackingQuery {
  std::string queue_id;   // "" = any
  std::string recipient;  // "" = any (case-insensitive)
  std::string tenant;     // "" = any
  int64_t since_us = 0;   // events with ts_us >= since_us
  size_t limit = 100;     // newest `limit` matches; 0 = 100
};

class Store {
 public:
  virtual ~Store() = default;

  // --- tenants ---
  // Creates an active tenant. Error if the name is invalid or already exists.
  virtual Result<Tenant> create_tenant(const std::string& name, const std::string& display_name) = 0;
  // The tenant, or an error if it does not exist.
  virtual Result<Tenant> get_tenant(const std::string& name) = 0;
  // All tenants ordered by name (empty on database error).
  virtual std::vector<Tenant> list_tenants() = 0;
  // status is "active" or "suspended"; error for an unknown tenant or status.
  virtual Status set_tenant_status(const std::string& name, const std::string& status) = 0;
  // Deletes the tenant; refused while it still has domains.
  virtual Status delete_tenant(const std::string& name) = 0;

  // --- domains and routes ---
  // Adds a protected domain (normalised: lower-case, no trailing dot; RFC 1035 labels, IDN only
  // as punycode A-labels). Error for an unknown tenant or a domain that already exists anywhere.
  virtual Result<Domain> add_domain(const std::string& tenant, const std::string& domain) = 0;
  // The domain with its routes, or an error if it is not a protected domain.
  virtual Result<Domain> get_domain(const std::string& domain) = 0;
  // Domains of `tenant` ("" = all tenants) ordered by name, with routes.
  virtual std::vector<Domain> list_domains(const std::string& tenant) = 0;
  // Removes the domain together with its routes and known recipients.
  virtual Status remove_domain(const std::string& domain) = 0;
  // Replaces the domain's route and TLS mode. At least one host; each host a hostname or IP
  // literal, port 1..65535, preference 0..65535, no duplicate host:port.
  virtual Status set_routes(const std::string& domain, const std::vector<RouteHost>& hosts, TlsMode tls) = 0;
  // Turns recipient validation for the domain on or off.
  virtual Status set_recipient_validation(const std::string& domain, bool on) = 0;

  // --- known recipients (for recipient validation) ---
  // Adds local@domain (stored lower-cased); the domain must be protected; error on duplicates.
  virtual Status add_recipient(const std::string& address) = 0;
  // Removes a known recipient; error if it is not known.
  virtual Status remove_recipient(const std::string& address) = 0;
  // Known recipients of the domain, sorted; empty for an unknown domain.
  virtual std::vector<std::string> list_recipients(const std::string& domain) = 0;

  // Counter bumped in the same transaction as every change to tenants/domains/routes/recipients,
  // by any process using the same database. Reload snapshots when it moves. -1 on database error.
  virtual int64_t config_generation() = 0;

  // --- message tracking ---
  // Stores all events in one transaction (all or nothing).
  virtual Status add_events(const std::vector<TrackingEvent>& events) = 0;
  // Matching events, at most q.limit of the newest, returned oldest first (newest last).
  virtual std::vector<TrackingEvent> query_events(const TrackingQuery& q) = 0;
  // Deletes events with ts_us < older_than_us.
  virtual Status prune_events(int64_t older_than_us) = 0;

  // Named binary blobs (e.g. a trained classifier model), each replaced whole.
  virtual Status put_blob(const std::string& name, std::string_view data) = 0;
  // The blob, or an error naming it when absent.
  virtual Result<std::string> get_blob(const std::string& name) = 0;

  // --- link block lists and protected names (the phishing checks; migration 4) ---
  // Blocks a host/domain (ASCII, IDN as punycode) or IPv4 address in links, for `tenant` or, with
  // tenant "", for every tenant (the operator's list). Error on an invalid entry or a duplicate.
  virtual Status add_url_block(const std::string& tenant, const std::string& entry) = 0;
  virtual Status remove_url_block(const std::string& tenant, const std::string& entry) = 0;
  // The entries of `tenant` ("" = the operator's list), sorted; error for an unknown tenant.
  virtual Result<std::vector<std::string>> list_url_blocks(const std::string& tenant) = 0;
  // Names (executives, 2..255 bytes of UTF-8) whose use as a display name on mail from outside
  // the tenant is flagged as impersonation. Error on an unknown tenant or a duplicate.
  virtual Status add_protected_name(const std::string& tenant, const std::string& name) = 0;
  virtual Status remove_protected_name(const std::string& tenant, const std::string& name) = 0;
  virtual Result<std::vector<std::string>> list_protected_names(const std::string& tenant) = 0;

  // Tenant contracts, accounts, users, policies, sender lists, quarantine index and message
  // summaries (store/tenancy_store.h), on the same database.
  virtual TenancyStore& tenancy() = 0;
  // Sessions, API tokens and the API audit log (store/api_store.h); null when not supported.
  virtual ApiStore* api() { return nullptr; }
  // Connection-control allow lists and tenant strictness (store/reputation_store.h).
  virtual ReputationStore& reputation() = 0;
};

// Opens (creating file and parent directories) a SQLite store: WAL mode, busy_timeout 5000 ms,
// foreign keys on, synchronous=NORMAL; runs pending migrations in one transaction. Refuses a
// database whose schema is newer than this build knows.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path);

}  // namespace mm::store
