// SQLite implementation of ReputationStore (shares SqliteStore's connection and lock).
#include "store/sqlite_reputation.h"

#include "util/clock.h"

namespace mm::store {
namespace {

class SqliteReputation final : public ReputationStore {
 public:
  SqliteReputation(sql::Db& db, std::mutex& mu) : db_(db), mu_(mu) {}

  Status add_allow(const ReputationAllowRow& r) override {
    return write([&]() -> Status {
      if (!r.tenant.empty() && !tenant_exists(r.tenant)) return Status::error("no such tenant: " + r.tenant);
      db_.prepare("DELETE FROM reputation_allow WHERE tenant = ? AND pattern = ?").bind(r.tenant, r.pattern).run();
      db_.prepare("INSERT INTO reputation_allow (tenant, pattern, expires_at, created_at, note) VALUES (?, ?, ?, ?, ?)")
          .bind(r.tenant, r.pattern, r.expires_at, r.created_at ? r.created_at : now_s(), r.note)
          .run();
      return bump();
    });
  }

  Status remove_allow(const std::string& tenant, const std::string& pattern) override {
    return write([&]() -> Status {
      auto s = db_.prepare("SELECT COUNT(*) FROM reputation_allow WHERE tenant = ? AND pattern = ?");
      s.bind(tenant, pattern);
      if (!s.next() || s.i64(0) == 0)
        return Status::error("no allow entry " + pattern + (tenant.empty() ? " (operator-wide)" : " for " + tenant));
      db_.prepare("DELETE FROM reputation_allow WHERE tenant = ? AND pattern = ?").bind(tenant, pattern).run();
      return bump();
    });
  }

  std::vector<ReputationAllowRow> allow_entries() override {
    std::vector<ReputationAllowRow> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare(
          "SELECT id, tenant, pattern, expires_at, created_at, note FROM reputation_allow ORDER BY tenant, pattern");
      while (s.next()) out.push_back({s.i64(0), s.text(1), s.text(2), s.i64(3), s.i64(4), s.text(5)});
    });
    return out;
  }

  Status set_strictness(const std::string& tenant, const std::string& level) override {
    return write([&]() -> Status {
      if (!tenant_exists(tenant)) return Status::error("no such tenant: " + tenant);
      ensure_row(tenant);
      db_.prepare("UPDATE reputation_tenants SET level = ? WHERE tenant = ?").bind(level, tenant).run();
      return bump();
    });
  }

  Status set_greylisting(const std::string& tenant, bool on) override {
    return write([&]() -> Status {
      if (!tenant_exists(tenant)) return Status::error("no such tenant: " + tenant);
      ensure_row(tenant);
      db_.prepare("UPDATE reputation_tenants SET greylist = ? WHERE tenant = ?").bind(int64_t{on ? 1 : 0}, tenant).run();
      return bump();
    });
  }

  std::set<std::string> greylisting() override {
    std::set<std::string> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare("SELECT tenant FROM reputation_tenants WHERE greylist <> 0");
      while (s.next()) out.insert(s.text(0));
    });
    return out;
  }

  std::map<std::string, std::string> strictness() override {
    std::map<std::string, std::string> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare("SELECT tenant, level FROM reputation_tenants WHERE level <> ''");
      while (s.next()) out[s.text(0)] = s.text(1);
    });
    return out;
  }

 private:
  template <class F>
  Status read(F&& fn) { return sql::locked_read(db_, mu_, std::forward<F>(fn)); }
  template <class F>
  Status write(F&& fn) { return sql::locked_write(db_, mu_, std::forward<F>(fn)); }
  void ensure_row(const std::string& tenant) {
    auto s = db_.prepare("SELECT COUNT(*) FROM reputation_tenants WHERE tenant = ?");
    s.bind(tenant);
    if (s.next() && s.i64(0) > 0) return;
    db_.prepare("INSERT INTO reputation_tenants (tenant) VALUES (?)").bind(tenant).run();
  }
  bool tenant_exists(const std::string& name) {
    auto s = db_.prepare("SELECT COUNT(*) FROM tenants WHERE name = ?");
    s.bind(name);
    return s.next() && s.i64(0) > 0;
  }
  Status bump() {
    db_.prepare("UPDATE config_generation SET generation = generation + 1 WHERE id = 1").run();
    return Status::ok();
  }

  sql::Db& db_;
  std::mutex& mu_;
};

}  // namespace

std::unique_ptr<ReputationStore> make_sqlite_reputation(sql::Db& db, std::mutex& mu) {
  return std::make_unique<SqliteReputation>(db, mu);
}

}  // namespace mm::store
