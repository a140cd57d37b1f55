// SQLite implementation of ApiStore (sessions by hash, scoped API tokens, audit log).
#include "store/sqlite_api.h"

#include <algorithm>

#include "util/clock.h"

namespace mm::store {
namespace {

constexpr const char* kTokenCols =
    "SELECT t.id, u.name, t.label, t.tenant, t.access, t.created_at, t.expires_at, t.revoked_at "
    "FROM api_tokens t JOIN users u ON u.id = t.user_id ";

class SqliteApi final : public ApiStore {
 public:
  SqliteApi(sql::Db& db, std::mutex& mu) : db_(db), mu_(mu) {}

  std::optional<Credential> find_session(const std::string& hash, int64_t now) override {
    std::optional<Credential> out;
    (void)read([&] {
      auto s = db_.prepare(
          "SELECT s.id, u.name, s.created_at, s.expires_at FROM user_sessions s JOIN users u ON u.id = s.user_id "
          "WHERE s.token_hash = ? AND s.revoked_at = 0 AND s.expires_at > ?");
      s.bind(hash, now);
      if (s.next()) {
        Credential c;
        c.id = s.i64(0);
        c.user = s.text(1);
        c.write = true;
        c.created_at = s.i64(2);
        c.expires_at = s.i64(3);
        out = c;
      }
    });
    return out;
  }

  Status revoke_session(const std::string& hash, int64_t now) override {
    return write([&]() -> Status {
      db_.prepare("UPDATE user_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at = 0").bind(now, hash).run();
      return Status::ok();
    });
  }

  Result<Credential> add_token(const std::string& user, const std::string& label, const std::string& hash,
                               const std::string& tenant, bool w, int64_t expires_at) override {
    int64_t id = 0;
    auto st = write([&]() -> Status {
      auto s = db_.prepare("SELECT id FROM users WHERE name = ?");
      s.bind(user);
      if (!s.next()) return Status::error("user '" + user + "' does not exist");
      int64_t uid = s.i64(0);
      db_.prepare(
             "INSERT INTO api_tokens (user_id, label, token_hash, created_at, tenant, access, expires_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind(uid, label, hash, now_(), tenant, std::string(w ? "write" : "read"), expires_at)
          .run();
      auto r = db_.prepare("SELECT last_insert_rowid()");
      if (r.next()) id = r.i64(0);
      return Status::ok();
    });
    if (!st) return st;
    auto t = get_token(id);
    if (!t) return Status::error("token vanished");
    return *t;
  }

  std::optional<Credential> find_token(const std::string& hash, int64_t now) override {
    return one(std::string(kTokenCols) +
                   "WHERE t.token_hash = ? AND t.revoked_at = 0 AND (t.expires_at = 0 OR t.expires_at > ?)",
               hash, now);
  }

  std::optional<Credential> get_token(int64_t id) override { return one(std::string(kTokenCols) + "WHERE t.id = ?", id); }

  std::vector<Credential> list_tokens(const std::string& user) override {
    std::vector<Credential> out;
    (void)read([&] {
      auto s = db_.prepare(std::string(kTokenCols) + "WHERE (? = '' OR u.name = ?) ORDER BY t.id");
      s.bind(user, user);
      while (s.next()) out.push_back(token(s));
    });
    return out;
  }

  Status revoke_token(int64_t id, int64_t now) override {
    return write([&]() -> Status {
      auto s = db_.prepare("SELECT revoked_at FROM api_tokens WHERE id = ?");
      s.bind(id);
      if (!s.next()) return Status::error("token " + std::to_string(id) + " does not exist");
      if (s.i64(0) != 0) return Status::ok();
      db_.prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ?").bind(now, id).run();
      return Status::ok();
    });
  }

  Status add_audit(const AuditEntry& e) override {
    return write([&]() -> Status {
      db_.prepare(
             "INSERT INTO api_audit (ts, actor, tenant, client_ip, action, target, before_json, after_json) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(e.ts, e.actor, e.tenant, e.client_ip, e.action, e.target, e.before_json, e.after_json)
          .run();
      return Status::ok();
    });
  }

  std::vector<AuditEntry> audit(const AuditQuery& q) override {
    std::vector<AuditEntry> out;
    (void)read([&] {
      auto s = db_.prepare(
          "SELECT id, ts, actor, tenant, client_ip, action, target, before_json, after_json FROM api_audit "
          "WHERE (? = '' OR tenant = ?) AND (? = '' OR actor = ?) AND (? = 0 OR ts >= ?) AND (? = 0 OR ts < ?) "
          "AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?");
      s.bind(q.tenant, q.tenant, q.actor, q.actor, q.since, q.since, q.until, q.until, q.before_id, q.before_id,
             static_cast<int64_t>(q.limit == 0 ? 100 : q.limit));
      while (s.next()) {
        AuditEntry e;
        e.id = s.i64(0);
        e.ts = s.i64(1);
        e.actor = s.text(2);
        e.tenant = s.text(3);
        e.client_ip = s.text(4);
        e.action = s.text(5);
        e.target = s.text(6);
        e.before_json = s.text(7);
        e.after_json = s.text(8);
        out.push_back(std::move(e));
      }
    });
    return out;
  }

  // The series of whole hours comes from stats_hourly (migration 14, kept exact by triggers on
  // message_summaries); a partial last hour (q.to inside an hour), a range or bucket not aligned
  // to hours, or a database without the table count message_summaries directly (index-only scans
  // of migration 12's summaries_stats*). The partial summaries_blocked* (rejected or quarantined
  // messages only) serve the top lists, the partial tracking_refused* refused recipients.
  MailStats mail_stats(const StatsQuery& q) override {
    MailStats out;
    const int64_t b = q.bucket_s > 0 ? q.bucket_s : 3600;
    if (q.to <= q.from) return out;
    const int64_t n = (q.to - q.from + b - 1) / b;
    for (int64_t i = 0; i < n; ++i) out.series.push_back({q.from + i * b});
    const int64_t from_us = q.from * 1000000, to_us = q.to * 1000000;
    const std::string where = q.tenant.empty() ? "ts_us >= ? AND ts_us < ? AND ? = ''" : "ts_us >= ? AND ts_us < ? AND tenant = ?";
    // The same text as the partial indexes' WHERE (migration 12), so that SQLite uses them.
    const std::string blocked = "(action LIKE 'reject:%' OR action LIKE '%quarantine:%')";
    (void)read([&] {
      // Adds the rows of s (bucket index, total, clean, ..., quarantined) to the series.
      auto add = [&](sql::Stmt& s) {
        while (s.next()) {
          int64_t i = s.i64(0);
          if (i < 0 || i >= n) continue;
          auto& k = out.series[static_cast<size_t>(i)];
          k.total += s.i64(1);
          k.clean += s.i64(2);
          k.bulk += s.i64(3);
          k.spam += s.i64(4);
          k.phishing += s.i64(5);
          k.malware += s.i64(6);
          k.unscannable += s.i64(7);
          k.rejected += s.i64(8);
          k.quarantined += s.i64(9);
        }
      };
      // [q.from, hours_to) from the rollup, [hours_to, q.to) directly.
      int64_t hours_to = q.from;
      bool rollup = false;
      if (q.from % 3600 == 0 && b % 3600 == 0) {
        auto t = db_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stats_hourly'");
        rollup = t.next();
      }
      if (rollup) {
        hours_to = std::max(q.from, q.to - q.to % 3600);
        auto h = db_.prepare(
            "SELECT (hour - ?) / ?, SUM(total), SUM(clean), SUM(bulk), SUM(spam), SUM(phishing), SUM(malware), "
            "SUM(unscannable), SUM(rejected), SUM(quarantined) FROM stats_hourly WHERE hour >= ? AND hour < ? AND " +
            std::string(q.tenant.empty() ? "? = ''" : "tenant = ?") + " GROUP BY 1");
        h.bind(q.from, b, q.from, hours_to, q.tenant);
        add(h);
      }
      if (hours_to < q.to) {
        auto s = db_.prepare(
            "SELECT (ts_us / 1000000 - ?) / ?, COUNT(*), SUM(verdict = 'clean'), SUM(verdict = 'bulk'), "
            "SUM(verdict = 'spam'), SUM(verdict = 'phishing'), SUM(verdict = 'malware'), SUM(verdict = 'unscannable'), "
            "SUM(action LIKE 'reject:%'), SUM(action LIKE '%quarantine:%') FROM message_summaries WHERE " + where +
            " GROUP BY 1");
        s.bind(q.from, b, hours_to * 1000000, to_us, q.tenant);
        add(s);
      }
      auto r = db_.prepare("SELECT (ts_us / 1000000 - ?) / ?, COUNT(*) FROM tracking_events WHERE " + where +
                           " AND event = 'refused' GROUP BY 1");
      r.bind(q.from, b, from_us, to_us, q.tenant);
      while (r.next()) {
        int64_t i = r.i64(0);
        if (i >= 0 && i < n) out.series[static_cast<size_t>(i)].refused = r.i64(1);
      }
      const int64_t top = static_cast<int64_t>(q.top == 0 ? 10 : q.top);
      for (auto [col, dst] : {std::pair{"sender", &out.top_blocked_senders}, {"client_ip", &out.top_blocked_ips}}) {
        auto t = db_.prepare(std::string("SELECT ") + col + ", COUNT(*) FROM message_summaries WHERE " + where +
                             " AND " + blocked + " AND " + col + " <> '' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?");
        t.bind(from_us, to_us, q.tenant, top);
        while (t.next()) dst->push_back({t.text(0), t.i64(1)});
      }
    });
    return out;
  }

  std::optional<TotpState> totp(const std::string& user) override {
    std::optional<TotpState> out;
    (void)read([&] {
      auto s = db_.prepare("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE name = ?");
      s.bind(user);
      if (s.next()) out = TotpState{s.text(0), s.i64(1) != 0, s.i64(2)};
    });
    return out;
  }

  Status set_totp(const std::string& user, const std::string& secret, bool enabled) override {
    return write([&]() -> Status {
      auto s = db_.prepare("SELECT id FROM users WHERE name = ?");
      s.bind(user);
      if (!s.next()) return Status::error("user '" + user + "' does not exist");
      db_.prepare("UPDATE users SET totp_secret = ?, totp_enabled = ? WHERE name = ?").bind(secret, enabled, user).run();
      return Status::ok();
    });
  }

  bool use_totp_step(const std::string& user, int64_t step) override {
    bool used = false;
    (void)write([&]() -> Status {
      auto s = db_.prepare("SELECT totp_last_step FROM users WHERE name = ?");
      s.bind(user);
      if (!s.next() || s.i64(0) >= step) return Status::ok();
      db_.prepare("UPDATE users SET totp_last_step = ? WHERE name = ?").bind(step, user).run();
      used = true;
      return Status::ok();
    });
    return used;
  }

 private:
  static int64_t now_() { return now_s(); }
  static Credential token(sql::Stmt& s) {
    Credential c;
    c.id = s.i64(0);
    c.user = s.text(1);
    c.label = s.text(2);
    c.tenant = s.text(3);
    c.write = s.text(4) == "write";
    c.created_at = s.i64(5);
    c.expires_at = s.i64(6);
    c.revoked_at = s.i64(7);
    return c;
  }
  template <class... A>
  std::optional<Credential> one(const std::string& sql, const A&... args) {
    std::optional<Credential> out;
    (void)read([&] {
      auto s = db_.prepare(sql);
      s.bind(args...);
      if (s.next()) out = token(s);
    });
    return out;
  }
  template <class F>
  Status read(F&& fn) { return sql::locked_read(db_, mu_, std::forward<F>(fn)); }
  template <class F>
  Status write(F&& fn) { return sql::locked_write(db_, mu_, std::forward<F>(fn)); }
  sql::Db& db_;
  std::mutex& mu_;
};

}  // namespace

std::unique_ptr<ApiStore> make_sqlite_api(sql::Db& db, std::mutex& mu) { return std::make_unique<SqliteApi>(db, mu); }

}  // namespace mm::store
