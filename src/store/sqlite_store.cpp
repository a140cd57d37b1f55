// SQLite backend of Store. Queries use only portable SQL with `?` placeholders (plus RETURNING,
// which PostgreSQL shares); the SQLite specifics are confined to open_sqlite's PRAGMAs and
// BEGIN IMMEDIATE in sql::Db::transaction.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "store/migrations.h"
#include "store/sqlite_db.h"
#include "store/sqlite_tenancy.h"
#include "store/sqlite_api.h"
#include "store/sqlite_reputation.h"
#include "store/store.h"
#include "store/validate.h"
#include "util/clock.h"

namespace mm::store {
namespace {

constexpr const char* kDomainColumns =
    "SELECT d.id, d.tenant_id, t.name, d.name, d.recipient_validation, d.tls, d.created_at "
    "FROM domains d JOIN tenants t ON t.id = d.tenant_id ";

std::string plural(int64_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<sql::Db> db) : db_(std::move(db)), tenancy_(make_sqlite_tenancy(*db_, mu_)), reputation_(make_sqlite_reputation(*db_, mu_)) {}

  TenancyStore& tenancy() override { return *tenancy_; }
  ApiStore* api() override { return api_.get(); }
  ReputationStore& reputation() override { return *reputation_; }

  Result<Tenant> create_tenant(const std::string& name, const std::string& display_name) override {
    if (auto st = check_tenant_name(name); !st) return st;
    if (display_name.size() > 255)
      return Status::error("display name of tenant '" + name + "' is longer than 255 bytes");
    Tenant t;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(true, [&]() -> Status {
      if (find_tenant(name)) return Status::error("tenant '" + name + "' already exists");
      t.name = name;
      t.display_name = display_name;
      t.created_at = now_s();
      auto s =
          db_->prepare("INSERT INTO tenants (name, display_name, status, created_at) VALUES (?, ?, ?, ?) RETURNING id");
      s.bind(t.name, t.display_name, t.status, t.created_at);
      if (s.next()) t.id = s.i64(0);
      return bump();
    });
    if (!st) return st;
    return t;
  }

  Result<Tenant> get_tenant(const std::string& name) override {
    std::optional<Tenant> t;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(false, [&]() -> Status {
      t = find_tenant(name);
      return Status::ok();
    });
    if (!st) return st;
    if (!t) return Status::error("tenant '" + name + "' does not exist");
    return *t;
  }

  std::vector<Tenant> list_tenants() override {
    std::vector<Tenant> out;
    std::lock_guard lock(mu_);
    (void)db_->transaction(false, [&]() -> Status {
      out.clear();
      auto s = db_->prepare("SELECT id, name, display_name, status, created_at FROM tenants ORDER BY name");
      while (s.next()) out.push_back(tenant_row(s));
      return Status::ok();
    });
    return out;
  }

  Status set_tenant_status(const std::string& name, const std::string& status) override {
    if (auto st = check_tenant_status(status); !st) return st;
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("UPDATE tenants SET status = ? WHERE name = ?").bind(status, name).run();
      if (db_->changes() == 0) return Status::error("tenant '" + name + "' does not exist");
      return bump();
    });
  }

  Status delete_tenant(const std::string& name) override {
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      auto t = find_tenant(name);
      if (!t) return Status::error("tenant '" + name + "' does not exist");
      int64_t n = 0;
      {
        auto s = db_->prepare("SELECT COUNT(*) FROM domains WHERE tenant_id = ?");
        s.bind(t->id);
        if (s.next()) n = s.i64(0);
      }
      if (n > 0) return Status::error("tenant '" + name + "' still has " + plural(n, "domain") + "; remove them first");
      db_->prepare("DELETE FROM tenants WHERE id = ?").bind(t->id).run();
      return bump();
    });
  }

  Result<Domain> add_domain(const std::string& tenant, const std::string& domain) override {
    auto name = normalize_domain(domain);
    if (!name) return name.status();
    Domain d;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(true, [&]() -> Status {
      auto t = find_tenant(tenant);
      if (!t) return Status::error("tenant '" + tenant + "' does not exist");
      if (auto existing = find_domain(*name)) {
        if (existing->tenant_id == t->id)
          return Status::error("domain '" + *name + "' already exists for tenant '" + tenant + "'");
        return Status::error("domain '" + *name + "' belongs to tenant '" + existing->tenant + "'");
      }
      d.tenant_id = t->id;
      d.tenant = t->name;
      d.name = *name;
      d.created_at = now_s();
      auto s = db_->prepare(
          "INSERT INTO domains (tenant_id, name, recipient_validation, tls, created_at) "
          "VALUES (?, ?, ?, ?, ?) RETURNING id");
      s.bind(d.tenant_id, d.name, d.recipient_validation, to_string(d.tls), d.created_at);
      if (s.next()) d.id = s.i64(0);
      return bump();
    });
    if (!st) return st;
    return d;
  }

  Result<Domain> get_domain(const std::string& domain) override {
    auto name = normalize_domain(domain);
    if (!name) return name.status();
    std::optional<Domain> d;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(false, [&]() -> Status {
      d = find_domain(*name);
      if (d) d->routes = load_routes(d->id);
      return Status::ok();
    });
    if (!st) return st;
    if (!d) return not_protected(*name);
    return *d;
  }

  std::vector<Domain> list_domains(const std::string& tenant) override {
    std::vector<Domain> out;
    std::lock_guard lock(mu_);
    (void)db_->transaction(false, [&]() -> Status {
      out.clear();
      {
        auto s = tenant.empty() ? db_->prepare(std::string(kDomainColumns) + "ORDER BY d.name")
                                : db_->prepare(std::string(kDomainColumns) + "WHERE t.name = ? ORDER BY d.name");
        if (!tenant.empty()) s.bind(tenant);
        while (s.next()) out.push_back(domain_row(s));
      }
      for (auto& d : out) d.routes = load_routes(d.id);
      return Status::ok();
    });
    return out;
  }

  Status remove_domain(const std::string& domain) override {
    auto name = normalize_domain(domain);
    if (!name) return name.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("DELETE FROM domains WHERE name = ?").bind(*name).run();
      if (db_->changes() == 0) return not_protected(*name);
      return bump();
    });
  }

  Status set_routes(const std::string& domain, const std::vector<RouteHost>& hosts, TlsMode tls) override {
    auto name = normalize_domain(domain);
    if (!name) return name.status();
    if (hosts.empty()) return Status::error("route for domain '" + *name + "' needs at least one host");
    std::vector<RouteHost> clean;
    std::set<std::pair<std::string, uint16_t>> seen;
    for (const auto& h : hosts) {
      auto host = normalize_route_host(h.host);
      if (!host) return host.status();
      if (h.port == 0) return Status::error("route host '" + *host + "' has port 0 (use 1..65535)");
      if (h.preference < 0 || h.preference > 65535)
        return Status::error("route host '" + *host + "' has preference " + std::to_string(h.preference) +
                             " (use 0..65535)");
      if (!seen.emplace(*host, h.port).second)
        return Status::error("route host '" + *host + ":" + std::to_string(h.port) + "' is listed twice");
      clean.push_back({*host, h.port, h.preference});
    }
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      auto d = find_domain(*name);
      if (!d) return not_protected(*name);
      db_->prepare("DELETE FROM routes WHERE domain_id = ?").bind(d->id).run();
      for (size_t i = 0; i < clean.size(); ++i)
        db_->prepare("INSERT INTO routes (domain_id, position, host, port, preference) VALUES (?, ?, ?, ?, ?)")
            .bind(d->id, i, clean[i].host, clean[i].port, clean[i].preference)
            .run();
      db_->prepare("UPDATE domains SET tls = ? WHERE id = ?").bind(to_string(tls), d->id).run();
      return bump();
    });
  }

  Status set_recipient_validation(const std::string& domain, bool on) override {
    auto name = normalize_domain(domain);
    if (!name) return name.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("UPDATE domains SET recipient_validation = ? WHERE name = ?").bind(on, *name).run();
      if (db_->changes() == 0) return not_protected(*name);
      return bump();
    });
  }

  Status add_recipient(const std::string& address) override {
    auto addr = normalize_address(address);
    if (!addr) return addr.status();
    std::string domain = addr->substr(addr->rfind('@') + 1);
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      auto d = find_domain(domain);
      if (!d) return Status::error("cannot add recipient '" + *addr + "': " + not_protected(domain).message());
      {
        auto s = db_->prepare("SELECT id FROM recipients WHERE address = ?");
        s.bind(*addr);
        if (s.next()) return Status::error("recipient '" + *addr + "' already exists");
      }
      db_->prepare("INSERT INTO recipients (domain_id, address, created_at) VALUES (?, ?, ?)")
          .bind(d->id, *addr, now_s())
          .run();
      return bump();
    });
  }

  Status remove_recipient(const std::string& address) override {
    auto addr = normalize_address(address);
    if (!addr) return addr.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("DELETE FROM recipients WHERE address = ?").bind(*addr).run();
      if (db_->changes() == 0) return Status::error("recipient '" + *addr + "' does not exist");
      return bump();
    });
  }

  std::vector<std::string> list_recipients(const std::string& domain) override {
    std::vector<std::string> out;
    auto name = normalize_domain(domain);
    if (!name) return out;
    std::lock_guard lock(mu_);
    (void)db_->transaction(false, [&]() -> Status {
      out.clear();
      auto s = db_->prepare(
          "SELECT r.address FROM recipients r JOIN domains d ON d.id = r.domain_id WHERE d.name = ? "
          "ORDER BY r.address");
      s.bind(*name);
      while (s.next()) out.push_back(s.text(0));
      return Status::ok();
    });
    return out;
  }

  int64_t config_generation() override {
    int64_t gen = -1;
    std::lock_guard lock(mu_);
    (void)db_->transaction(false, [&]() -> Status {
      auto s = db_->prepare("SELECT generation FROM config_generation WHERE id = 1");
      if (s.next()) gen = s.i64(0);
      return Status::ok();
    });
    return gen;
  }

  Status add_events(const std::vector<TrackingEvent>& events) override {
    if (events.empty()) return Status::ok();
    int64_t now = now_us();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      for (const auto& e : events)
        db_->prepare(
               "INSERT INTO tracking_events (queue_id, ts_us, event, recipient, detail, tenant) "
               "VALUES (?, ?, ?, ?, ?, ?)")
            .bind(e.queue_id, e.ts_us != 0 ? e.ts_us : now, e.event, lower(e.recipient), e.detail, e.tenant)
            .run();
      return Status::ok();
    });
  }

  std::vector<TrackingEvent> query_events(const TrackingQuery& q) override {
    std::string where = "ts_us >= ?";
    if (!q.queue_id.empty()) where += " AND queue_id = ?";
    if (!q.recipient.empty()) where += " AND recipient = ?";
    if (!q.tenant.empty()) where += " AND tenant = ?";
    // Newest `limit` rows, then flipped so the newest comes last.
    std::string sql = "SELECT queue_id, ts_us, event, recipient, detail, tenant FROM tracking_events WHERE " + where +
                      " ORDER BY ts_us DESC, id DESC LIMIT ?";
    size_t limit = q.limit == 0 ? 100 : q.limit;
    std::vector<TrackingEvent> out;
    std::lock_guard lock(mu_);
    (void)db_->transaction(false, [&]() -> Status {
      out.clear();
      auto s = db_->prepare(sql);
      s.bind(q.since_us);
      if (!q.queue_id.empty()) s.bind(q.queue_id);
      if (!q.recipient.empty()) s.bind(lower(q.recipient));
      if (!q.tenant.empty()) s.bind(q.tenant);
      s.bind(static_cast<int64_t>(std::min<size_t>(limit, static_cast<size_t>(INT64_MAX))));
      while (s.next()) out.push_back({s.text(0), s.i64(1), s.text(2), s.text(3), s.text(4), s.text(5)});
      return Status::ok();
    });
    std::reverse(out.begin(), out.end());
    return out;
  }

  Status prune_events(int64_t older_than_us) override {
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("DELETE FROM tracking_events WHERE ts_us < ?").bind(older_than_us).run();
      return Status::ok();
    });
  }

  Status put_blob(const std::string& name, std::string_view data) override {
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      db_->prepare("DELETE FROM blobs WHERE name = ?").bind(name).run();
      db_->prepare("INSERT INTO blobs (name, data, updated_at) VALUES (?, ?, ?)")
          .bind(name, sql::Blob{data}, now_s())
          .run();
      return Status::ok();
    });
  }

  Result<std::string> get_blob(const std::string& name) override {
    std::optional<std::string> out;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(false, [&]() -> Status {
      auto q = db_->prepare("SELECT data FROM blobs WHERE name = ?");
      q.bind(name);
      if (q.next()) out = q.blob(0);
      return Status::ok();
    });
    if (!st) return st;
    if (!out) return Status::error("no stored blob named '" + name + "'");
    return std::move(*out);
  }

  Status add_url_block(const std::string& tenant, const std::string& entry) override {
    auto e = normalize_url_entry(entry);
    if (!e) return e.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      std::optional<int64_t> tid;
      if (!tenant.empty()) {
        auto t = find_tenant(tenant);
        if (!t) return Status::error("tenant '" + tenant + "' does not exist");
        tid = t->id;
      }
      if (has_url_block(tid, *e)) return Status::error("'" + *e + "' is already on " + list_name(tenant));
      auto ins = db_->prepare("INSERT INTO url_blocks (tenant_id, entry, created_at) VALUES (?, ?, ?)");
      if (tid) ins.bind(*tid, *e, now_s());
      else ins.bind(nullptr, *e, now_s());
      ins.run();
      return bump();
    });
  }

  Status remove_url_block(const std::string& tenant, const std::string& entry) override {
    auto e = normalize_url_entry(entry);
    if (!e) return e.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      if (tenant.empty()) {
        db_->prepare("DELETE FROM url_blocks WHERE tenant_id IS NULL AND entry = ?").bind(*e).run();
      } else {
        auto t = find_tenant(tenant);
        if (!t) return Status::error("tenant '" + tenant + "' does not exist");
        db_->prepare("DELETE FROM url_blocks WHERE tenant_id = ? AND entry = ?").bind(t->id, *e).run();
      }
      if (db_->changes() == 0) return Status::error("'" + *e + "' is not on " + list_name(tenant));
      return bump();
    });
  }

  Result<std::vector<std::string>> list_url_blocks(const std::string& tenant) override {
    std::vector<std::string> out;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(false, [&]() -> Status {
      out.clear();
      if (tenant.empty()) {
        auto q = db_->prepare("SELECT entry FROM url_blocks WHERE tenant_id IS NULL ORDER BY entry");
        while (q.next()) out.push_back(q.text(0));
        return Status::ok();
      }
      auto t = find_tenant(tenant);
      if (!t) return Status::error("tenant '" + tenant + "' does not exist");
      auto q = db_->prepare("SELECT entry FROM url_blocks WHERE tenant_id = ? ORDER BY entry");
      q.bind(t->id);
      while (q.next()) out.push_back(q.text(0));
      return Status::ok();
    });
    if (!st) return st;
    return out;
  }

  Status add_protected_name(const std::string& tenant, const std::string& name) override {
    auto n = clean_person_name(name);
    if (!n) return n.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      auto t = find_tenant(tenant);
      if (!t) return Status::error("tenant '" + tenant + "' does not exist");
      {
        auto q = db_->prepare("SELECT id FROM protected_names WHERE tenant_id = ? AND name = ?");
        q.bind(t->id, *n);
        if (q.next()) return Status::error("'" + *n + "' is already protected for tenant '" + tenant + "'");
      }
      db_->prepare("INSERT INTO protected_names (tenant_id, name, created_at) VALUES (?, ?, ?)")
          .bind(t->id, *n, now_s())
          .run();
      return bump();
    });
  }

  Status remove_protected_name(const std::string& tenant, const std::string& name) override {
    auto n = clean_person_name(name);
    if (!n) return n.status();
    std::lock_guard lock(mu_);
    return db_->transaction(true, [&]() -> Status {
      auto t = find_tenant(tenant);
      if (!t) return Status::error("tenant '" + tenant + "' does not exist");
      db_->prepare("DELETE FROM protected_names WHERE tenant_id = ? AND name = ?").bind(t->id, *n).run();
      if (db_->changes() == 0) return Status::error("'" + *n + "' is not protected for tenant '" + tenant + "'");
      return bump();
    });
  }

  Result<std::vector<std::string>> list_protected_names(const std::string& tenant) override {
    std::vector<std::string> out;
    std::lock_guard lock(mu_);
    auto st = db_->transaction(false, [&]() -> Status {
      out.clear();
      auto t = find_tenant(tenant);
      if (!t) return Status::error("tenant '" + tenant + "' does not exist");
      auto q = db_->prepare("SELECT name FROM protected_names WHERE tenant_id = ? ORDER BY name");
      q.bind(t->id);
      while (q.next()) out.push_back(q.text(0));
      return Status::ok();
    });
    if (!st) return st;
    return out;
  }

 private:
  static std::string list_name(const std::string& tenant) {
    return tenant.empty() ? "the operator's link block list" : "tenant '" + tenant + "''s link block list";
  }
  bool has_url_block(std::optional<int64_t> tid, const std::string& e) {
    auto q = tid ? db_->prepare("SELECT id FROM url_blocks WHERE tenant_id = ? AND entry = ?")
                 : db_->prepare("SELECT id FROM url_blocks WHERE tenant_id IS NULL AND entry = ?");
    if (tid) q.bind(*tid, e);
    else q.bind(e);
    return q.next();
  }
  static std::string lower(std::string s) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  }
  static Status not_protected(const std::string& name) {
    return Status::error("domain '" + name + "' is not a protected domain");
  }
  static Tenant tenant_row(const sql::Stmt& s) { return {s.i64(0), s.text(1), s.text(2), s.text(3), s.i64(4)}; }
  static Domain domain_row(const sql::Stmt& s) {
    Domain d;
    d.id = s.i64(0);
    d.tenant_id = s.i64(1);
    d.tenant = s.text(2);
    d.name = s.text(3);
    d.recipient_validation = s.i64(4) != 0;
    d.tls = parse_tls_mode(s.text(5)).value_or(TlsMode::Opportunistic);
    d.created_at = s.i64(6);
    return d;
  }

  // Helpers below run inside a transaction with mu_ held.
  Status bump() {
    db_->prepare("UPDATE config_generation SET generation = generation + 1 WHERE id = 1").run();
    return Status::ok();
  }
  std::optional<Tenant> find_tenant(const std::string& name) {
    auto s = db_->prepare("SELECT id, name, display_name, status, created_at FROM tenants WHERE name = ?");
    s.bind(name);
    if (!s.next()) return std::nullopt;
    return tenant_row(s);
  }
  std::optional<Domain> find_domain(const std::string& name) {
    auto s = db_->prepare(std::string(kDomainColumns) + "WHERE d.name = ?");
    s.bind(name);
    if (!s.next()) return std::nullopt;
    return domain_row(s);
  }
  std::vector<RouteHost> load_routes(int64_t domain_id) {
    std::vector<RouteHost> out;
    auto s =
        db_->prepare("SELECT host, port, preference FROM routes WHERE domain_id = ? ORDER BY preference, position");
    s.bind(domain_id);
    while (s.next()) out.push_back({s.text(0), static_cast<uint16_t>(s.i64(1)), static_cast<int>(s.i64(2))});
    return out;
  }

  std::mutex mu_;
  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<TenancyStore> tenancy_;
  std::unique_ptr<ApiStore> api_ = make_sqlite_api(*db_, mu_);
  std::unique_ptr<ReputationStore> reputation_;
};

// Applies pending migrations in one write transaction (safe when several processes open at once).
Status migrate(sql::Db& db) {
  auto migrations = sqlite_migrations();
  return db.transaction(true, [&]() -> Status {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)");
    int64_t current = 0;
    {
      auto s = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      if (s.next()) current = s.i64(0);
    }
    int64_t latest = migrations.empty() ? 0 : migrations.back().version;
    if (current > latest)
      return Status::error("database schema version " + std::to_string(current) +
                           " is newer than this build supports (" + std::to_string(latest) + ")");
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .bind(m.version, std::string_view(m.name), now_s())
          .run();
    }
    return Status::ok();
  });
}

std::string pragma_text(sql::Db& db, const std::string& pragma) {
  auto s = db.prepare(pragma);
  return s.next() ? s.text(0) : std::string();
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path) {
  if (path.empty()) return Status::error("database path is empty");
  bool memory = path == ":memory:";
  if (!memory) {
    auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status::error("cannot create directory '" + parent.string() + "': " + ec.message());
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return Status::error("cannot open database '" + path + "': " + msg);
  }
  auto db = std::make_unique<sql::Db>(raw);
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  // Switching a new file to WAL can report SQLITE_BUSY without consulting the busy handler
  // while another process does the same, so retry for up to the busy timeout.
  for (int waited_ms = 0;; waited_ms += 10) {
    try {
      std::string mode = pragma_text(*db, "PRAGMA journal_mode=WAL");
      if (!memory && mode != "wal")
        return Status::error("cannot open database '" + path + "': WAL mode unavailable (got '" + mode + "')");
      db->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON");
      if (pragma_text(*db, "PRAGMA foreign_keys") != "1")
        return Status::error("cannot open database '" + path + "': foreign keys unsupported");
      break;
    } catch (const sql::DbError& e) {
      if (!e.busy() || waited_ms >= 5000) return Status::error("cannot open database '" + path + "': " + e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (auto st = migrate(*db); !st) return Status::error("cannot migrate database '" + path + "': " + st.message());
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(db)));
}

}  // namespace mm::store
