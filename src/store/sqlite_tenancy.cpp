// SQLite implementation of TenancyStore. Portable SQL with `?` placeholders only; scores are kept
// as integer thousandths so no floating-point column type is needed.
#include "store/sqlite_tenancy.h"

#include <algorithm>
#include <cmath>

#include "store/validate.h"
#include "util/clock.h"

namespace mm::store {
namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

int64_t milli(double v) { return static_cast<int64_t>(std::llround(v * 1000.0)); }

// LIKE pattern for a case-insensitive substring match ('\' escapes % and _).
std::string like_of(const std::string& s) {
  std::string out = "%";
  for (char c : lower(s)) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

constexpr const char* kTenantInfoCols =
    "SELECT name, status, suspended_outbound, suspend_reason, suspended_at, contact_name, contact_email, "
    "contact_phone, licensed_accounts, term_start, term_end, account_list, quarantine_days, tracking_days, "
    "approve_unauthenticated, user_release FROM tenants ";
constexpr const char* kUserCols =
    "SELECT u.id, u.name, COALESCE(t.name, ''), u.role, u.account, u.disabled, u.created_at, u.password_changed_at "
    "FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id ";
constexpr const char* kQuarantineCols =
    "SELECT id, tenant, queue_id, recipient, sender, subject, message_id, client_ip, verdict, score_milli, reason, "
    "symbols, path, size, received_at, expires_at, status, acted_at, acted_by FROM quarantine ";

class SqliteTenancy final : public TenancyStore {
 public:
  SqliteTenancy(sql::Db& db, std::mutex& mu) : db_(db), mu_(mu) {}

  Result<TenantInfo> tenant_info(const std::string& tenant) override {
    std::optional<TenantInfo> out;
    auto st = read([&] {
      auto s = db_.prepare(std::string(kTenantInfoCols) + "WHERE name = ?");
      s.bind(tenant);
      if (s.next()) out = info_row(s);
    });
    if (!st) return st;
    if (!out) return no_tenant(tenant);
    return *out;
  }

  Status set_tenant_info(const TenantInfo& i) override {
    return write([&]() -> Status {
      db_.prepare(
             "UPDATE tenants SET status = ?, suspended_outbound = ?, suspend_reason = ?, suspended_at = ?, "
             "contact_name = ?, contact_email = ?, contact_phone = ?, licensed_accounts = ?, term_start = ?, "
             "term_end = ?, account_list = ?, quarantine_days = ?, tracking_days = ?, approve_unauthenticated = ?, "
             "user_release = ? WHERE name = ?")
          .bind(i.suspended_inbound ? "suspended" : "active", i.suspended_outbound, i.suspend_reason, i.suspended_at,
                i.contact_name, i.contact_email, i.contact_phone, i.licensed_accounts, i.term_start, i.term_end,
                i.account_list, i.quarantine_days, i.tracking_days, i.approve_unauthenticated, i.user_release,
                i.tenant)
          .run();
      if (db_.changes() == 0) return no_tenant(i.tenant);
      return bump();
    });
  }

  Result<Account> create_account(const std::string& tenant, const std::string& address, const std::string& display,
                                 int64_t max_accounts) override {
    auto addr = normalize_address(address);
    if (!addr) return addr.status();
    Account a;
    auto st = write([&]() -> Status {
      auto tid = tenant_id(tenant);
      if (!tid) return no_tenant(tenant);
      if (auto err = check_address_free(*tid, *addr); !err) return err;
      if (max_accounts > 0) {
        int64_t n = scalar("SELECT COUNT(*) FROM accounts WHERE tenant_id = ?", *tid);
        if (n >= max_accounts)
          return Status::error("cannot add account '" + *addr + "': tenant '" + tenant + "' is licensed for " +
                               std::to_string(max_accounts) + " protected account" + (max_accounts == 1 ? "" : "s") +
                               " and already has " + std::to_string(n));
      }
      a.tenant = tenant;
      a.address = *addr;
      a.display_name = display;
      a.created_at = now();
      auto s = db_.prepare("INSERT INTO accounts (tenant_id, display_name, created_at) VALUES (?, ?, ?) RETURNING id");
      s.bind(*tid, display, a.created_at);
      if (s.next()) a.id = s.i64(0);
      db_.prepare("INSERT INTO account_addresses (account_id, address, is_primary) VALUES (?, ?, ?)")
          .bind(a.id, *addr, true)
          .run();
      return bump();
    });
    if (!st) return st;
    return a;
  }

  Status delete_account(const std::string& tenant, const std::string& address) override {
    auto addr = lower(address);
    return write([&]() -> Status {
      auto acc = account_of(addr, tenant);
      if (!acc) return Status::error("tenant '" + tenant + "' has no account '" + addr + "'");
      db_.prepare("DELETE FROM accounts WHERE id = ?").bind(*acc).run();
      return bump();
    });
  }

  Status add_alias(const std::string& tenant, const std::string& address, const std::string& alias) override {
    auto al = normalize_address(alias);
    if (!al) return al.status();
    auto addr = lower(address);
    return write([&]() -> Status {
      auto acc = account_of(addr, tenant);
      if (!acc) return Status::error("tenant '" + tenant + "' has no account '" + addr + "'");
      auto tid = tenant_id(tenant);
      if (auto err = check_address_free(*tid, *al); !err) return err;
      db_.prepare("INSERT INTO account_addresses (account_id, address, is_primary) VALUES (?, ?, ?)")
          .bind(*acc, *al, false)
          .run();
      return bump();
    });
  }

  Status remove_alias(const std::string& tenant, const std::string& alias) override {
    auto al = lower(alias);
    return write([&]() -> Status {
      db_.prepare(
             "DELETE FROM account_addresses WHERE address = ? AND is_primary = ? AND account_id IN "
             "(SELECT a.id FROM accounts a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = ?)")
          .bind(al, false, tenant)
          .run();
      if (db_.changes() == 0) return Status::error("tenant '" + tenant + "' has no alias '" + al + "'");
      return bump();
    });
  }

  std::optional<Account> find_account(const std::string& address) override {
    std::optional<Account> out;
    (void)read([&] {
      auto s = db_.prepare("SELECT account_id FROM account_addresses WHERE address = ?");
      s.bind(lower(address));
      if (s.next()) out = load_account(s.i64(0));
    });
    return out;
  }

  std::vector<Account> list_accounts(const std::string& tenant) override {
    std::vector<Account> out;
    (void)read([&] {
      out.clear();
      std::vector<int64_t> ids;
      {
        auto s = tenant.empty()
                     ? db_.prepare("SELECT a.id FROM accounts a")
                     : db_.prepare("SELECT a.id FROM accounts a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = ?");
        if (!tenant.empty()) s.bind(tenant);
        while (s.next()) ids.push_back(s.i64(0));
      }
      for (auto id : ids)
        if (auto a = load_account(id)) out.push_back(std::move(*a));
    });
    std::sort(out.begin(), out.end(), [](const Account& a, const Account& b) {
      return std::tie(a.tenant, a.address) < std::tie(b.tenant, b.address);
    });
    return out;
  }

  int64_t count_accounts(const std::string& tenant) override {
    int64_t n = 0;
    (void)read([&] {
      n = scalar("SELECT COUNT(*) FROM accounts a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = ?", tenant);
    });
    return n;
  }

  Result<int64_t> note_seen(const std::string& tenant, const std::vector<std::string>& addresses,
                            int64_t ts) override {
    int64_t n = 0;
    auto st = write([&]() -> Status {
      auto tid = tenant_id(tenant);
      if (!tid) return no_tenant(tenant);
      for (auto& a : addresses) {
        db_.prepare("UPDATE seen_accounts SET last_seen = ? WHERE tenant_id = ? AND address = ?")
            .bind(ts, *tid, lower(a))
            .run();
        if (db_.changes() == 0)
          db_.prepare("INSERT INTO seen_accounts (tenant_id, address, first_seen, last_seen) VALUES (?, ?, ?, ?)")
              .bind(*tid, lower(a), ts, ts)
              .run();
      }
      n = scalar("SELECT COUNT(*) FROM seen_accounts WHERE tenant_id = ?", *tid);
      return Status::ok();
    });
    if (!st) return st;
    return n;
  }

  int64_t count_seen(const std::string& tenant, int64_t since) override {
    int64_t n = 0;
    (void)read([&] {
      n = scalar(
          "SELECT COUNT(*) FROM seen_accounts s JOIN tenants t ON t.id = s.tenant_id WHERE t.name = ? AND "
          "s.last_seen >= ?",
          tenant, since);
    });
    return n;
  }

  Result<User> create_user(const User& in, const std::string& hash) override {
    User u = in;
    u.name = lower(u.name);
    auto st = write([&]() -> Status {
      if (find_user_locked(u.name)) return Status::error("user '" + u.name + "' already exists");
      std::optional<int64_t> tid;
      if (!u.tenant.empty()) {
        tid = tenant_id(u.tenant);
        if (!tid) return no_tenant(u.tenant);
      }
      u.created_at = u.password_changed_at = now();
      auto s = db_.prepare(
          "INSERT INTO users (name, tenant_id, role, account, password_hash, disabled, created_at, "
          "password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
      s.bind(u.name);
      if (tid) s.bind(*tid);
      else s.bind(nullptr);
      s.bind(u.role, u.account, hash, u.disabled, u.created_at, u.password_changed_at);
      if (s.next()) u.id = s.i64(0);
      return Status::ok();
    });
    if (!st) return st;
    return u;
  }

  std::optional<User> find_user(const std::string& name) override {
    std::optional<User> out;
    (void)read([&] { out = find_user_locked(lower(name)); });
    return out;
  }

  std::vector<User> list_users(const std::string& tenant) override {
    std::vector<User> out;
    (void)read([&] {
      out.clear();
      auto s = tenant.empty() ? db_.prepare(std::string(kUserCols) + "ORDER BY u.name")
                              : db_.prepare(std::string(kUserCols) + "WHERE t.name = ? ORDER BY u.name");
      if (!tenant.empty()) s.bind(tenant);
      while (s.next()) out.push_back(user_row(s));
    });
    return out;
  }

  Result<std::string> password_hash(const std::string& name) override {
    std::optional<std::string> out;
    auto st = read([&] {
      auto s = db_.prepare("SELECT password_hash FROM users WHERE name = ?");
      s.bind(lower(name));
      if (s.next()) out = s.text(0);
    });
    if (!st) return st;
    if (!out) return no_user(name);
    return *out;
  }

  Status set_user_disabled(const std::string& name, bool disabled) override {
    return write([&]() -> Status {
      db_.prepare("UPDATE users SET disabled = ? WHERE name = ?").bind(disabled, lower(name)).run();
      if (db_.changes() == 0) return no_user(name);
      if (disabled) revoke_all(lower(name), now());
      return Status::ok();
    });
  }

  Status reset_password(const std::string& name, const std::string& hash, int64_t ts) override {
    return write([&]() -> Status {
      db_.prepare("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?")
          .bind(hash, ts, lower(name))
          .run();
      if (db_.changes() == 0) return no_user(name);
      revoke_all(lower(name), ts);
      return Status::ok();
    });
  }

  Status add_session(const std::string& user, const std::string& token_hash, int64_t expires) override {
    return write([&]() -> Status {
      auto u = find_user_locked(lower(user));
      if (!u) return no_user(user);
      db_.prepare("INSERT INTO user_sessions (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)")
          .bind(u->id, token_hash, now(), expires)
          .run();
      return Status::ok();
    });
  }

  Status add_token(const std::string& user, const std::string& label, const std::string& token_hash) override {
    return write([&]() -> Status {
      auto u = find_user_locked(lower(user));
      if (!u) return no_user(user);
      db_.prepare("INSERT INTO api_tokens (user_id, label, token_hash, created_at) VALUES (?, ?, ?, ?)")
          .bind(u->id, label, token_hash, now())
          .run();
      return Status::ok();
    });
  }

  int64_t count_live_credentials(const std::string& user, int64_t ts) override {
    int64_t n = 0;
    (void)read([&] {
      auto u = find_user_locked(lower(user));
      if (!u) return;
      n = scalar("SELECT COUNT(*) FROM user_sessions WHERE user_id = ? AND revoked_at = 0 AND expires_at > ?", u->id,
                 ts) +
          scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = ? AND revoked_at = 0", u->id);
    });
    return n;
  }

  Status add_security_event(const SecurityEvent& e) override {
    return write([&]() -> Status {
      db_.prepare("INSERT INTO security_events (ts, tenant, kind, detail) VALUES (?, ?, ?, ?)")
          .bind(e.ts ? e.ts : now(), e.tenant, e.kind, e.detail)
          .run();
      return Status::ok();
    });
  }

  std::vector<SecurityEvent> security_events(const std::string& tenant, size_t limit) override {
    std::vector<SecurityEvent> out;
    (void)read([&] {
      out.clear();
      auto s = tenant.empty()
                   ? db_.prepare("SELECT id, ts, tenant, kind, detail FROM security_events ORDER BY id DESC LIMIT ?")
                   : db_.prepare(
                         "SELECT id, ts, tenant, kind, detail FROM security_events WHERE tenant = ? "
                         "ORDER BY id DESC LIMIT ?");
      if (!tenant.empty()) s.bind(tenant);
      s.bind(static_cast<int64_t>(limit ? limit : 100));
      while (s.next()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.text(3), s.text(4)});
    });
    std::reverse(out.begin(), out.end());
    return out;
  }

  Status put_policy(const PolicyRow& p) override {
    return write([&]() -> Status {
      auto tid = tenant_id(p.tenant);
      if (!tid) return no_tenant(p.tenant);
      db_.prepare("DELETE FROM policies WHERE tenant_id = ? AND level = ? AND target = ?")
          .bind(*tid, p.level, lower(p.target))
          .run();
      db_.prepare("INSERT INTO policies (tenant_id, level, target, spec, updated_at) VALUES (?, ?, ?, ?, ?)")
          .bind(*tid, p.level, lower(p.target), p.spec, now())
          .run();
      return bump();
    });
  }

  Status delete_policy(const std::string& tenant, const std::string& level, const std::string& target) override {
    return write([&]() -> Status {
      auto tid = tenant_id(tenant);
      if (!tid) return no_tenant(tenant);
      db_.prepare("DELETE FROM policies WHERE tenant_id = ? AND level = ? AND target = ?")
          .bind(*tid, level, lower(target))
          .run();
      if (db_.changes() == 0)
        return Status::error("tenant '" + tenant + "' has no " + level + " policy" +
                             (target.empty() ? "" : " for '" + target + "'"));
      return bump();
    });
  }

  std::vector<PolicyRow> list_policies(const std::string& tenant) override {
    std::vector<PolicyRow> out;
    (void)read([&] {
      out.clear();
      std::string sql =
          "SELECT t.name, p.level, p.target, p.spec, p.updated_at FROM policies p JOIN tenants t ON t.id = "
          "p.tenant_id ";
      auto s = tenant.empty() ? db_.prepare(sql + "ORDER BY t.name, p.level, p.target")
                              : db_.prepare(sql + "WHERE t.name = ? ORDER BY p.level, p.target");
      if (!tenant.empty()) s.bind(tenant);
      while (s.next()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4)});
    });
    return out;
  }

  Result<SenderEntry> add_sender(const SenderEntry& in) override {
    SenderEntry e = in;
    e.pattern = lower(e.pattern);
    e.owner = lower(e.owner);
    auto st = write([&]() -> Status {
      auto tid = tenant_id(e.tenant);
      if (!tid) return no_tenant(e.tenant);
      if (scalar("SELECT COUNT(*) FROM sender_lists WHERE tenant_id = ? AND owner = ? AND kind = ? AND pattern = ?",
                 *tid, e.owner, e.kind, e.pattern) > 0)
        return Status::error("'" + e.pattern + "' is already on the " + e.kind + " list" +
                             (e.owner.empty() ? "" : " of " + e.owner));
      e.created_at = now();
      auto s = db_.prepare(
          "INSERT INTO sender_lists (tenant_id, owner, kind, pattern, expires_at, created_at, created_by) "
          "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
      s.bind(*tid, e.owner, e.kind, e.pattern, e.expires_at, e.created_at, e.created_by);
      if (s.next()) e.id = s.i64(0);
      return bump();
    });
    if (!st) return st;
    return e;
  }

  Status delete_sender(const std::string& tenant, int64_t id) override {
    return write([&]() -> Status {
      db_.prepare("DELETE FROM sender_lists WHERE id = ? AND tenant_id IN (SELECT id FROM tenants WHERE name = ?)")
          .bind(id, tenant)
          .run();
      if (db_.changes() == 0)
        return Status::error("tenant '" + tenant + "' has no list entry " + std::to_string(id));
      return bump();
    });
  }

  std::vector<SenderEntry> list_senders(const std::string& tenant) override {
    std::vector<SenderEntry> out;
    (void)read([&] {
      out.clear();
      std::string sql =
          "SELECT s.id, t.name, s.owner, s.kind, s.pattern, s.expires_at, s.created_at, s.created_by "
          "FROM sender_lists s JOIN tenants t ON t.id = s.tenant_id ";
      auto s = tenant.empty() ? db_.prepare(sql + "ORDER BY s.id") : db_.prepare(sql + "WHERE t.name = ? ORDER BY s.id");
      if (!tenant.empty()) s.bind(tenant);
      while (s.next())
        out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5), s.i64(6), s.text(7)});
    });
    return out;
  }

  Status add_quarantine(const std::vector<QuarantineItem>& items) override {
    return write([&]() -> Status {
      for (auto& q : items)
        db_.prepare(
               "INSERT INTO quarantine (id, tenant, queue_id, recipient, sender, subject, message_id, client_ip, "
               "verdict, score_milli, reason, symbols, path, size, received_at, expires_at, status) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(q.id, q.tenant, q.queue_id, lower(q.recipient), q.sender, q.subject, q.message_id, q.client_ip,
                  q.verdict, milli(q.score), q.reason, q.symbols, q.path, q.size, q.received_at, q.expires_at,
                  q.status)
            .run();
      return Status::ok();
    });
  }

  std::optional<QuarantineItem> get_quarantine(const std::string& id) override {
    std::optional<QuarantineItem> out;
    (void)read([&] {
      auto s = db_.prepare(std::string(kQuarantineCols) + "WHERE id = ?");
      s.bind(id);
      if (s.next()) out = quarantine_row(s);
    });
    return out;
  }

  std::vector<QuarantineItem> search_quarantine(const QuarantineQuery& q) override {
    std::string where = "1 = 1";
    if (!q.tenant.empty()) where += " AND tenant = ?";
    if (!q.recipients.empty()) where += " AND recipient IN (" + placeholders(q.recipients.size()) + ")";
    if (!q.sender.empty()) where += " AND LOWER(sender) LIKE ? ESCAPE '\\'";
    if (!q.subject.empty()) where += " AND LOWER(subject) LIKE ? ESCAPE '\\'";
    if (!q.verdict.empty()) where += " AND verdict = ?";
    if (!q.reason.empty()) where += " AND reason = ?";
    if (!q.status.empty()) where += " AND status = ?";
    if (q.since) where += " AND received_at >= ?";
    if (q.until) where += " AND received_at < ?";
    std::vector<QuarantineItem> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare(std::string(kQuarantineCols) + "WHERE " + where + " ORDER BY received_at DESC, id LIMIT ?");
      if (!q.tenant.empty()) s.bind(q.tenant);
      for (auto& r : q.recipients) s.bind(lower(r));
      if (!q.sender.empty()) s.bind(like_of(q.sender));
      if (!q.subject.empty()) s.bind(like_of(q.subject));
      if (!q.verdict.empty()) s.bind(q.verdict);
      if (!q.reason.empty()) s.bind(q.reason);
      if (!q.status.empty()) s.bind(q.status);
      if (q.since) s.bind(q.since);
      if (q.until) s.bind(q.until);
      s.bind(static_cast<int64_t>(q.limit ? q.limit : 100));
      while (s.next()) out.push_back(quarantine_row(s));
    });
    return out;
  }

  Status set_quarantine_status(const std::string& id, const std::string& status, int64_t ts,
                               const std::string& by) override {
    return write([&]() -> Status {
      db_.prepare("UPDATE quarantine SET status = ?, acted_at = ?, acted_by = ? WHERE id = ? AND status = 'held'")
          .bind(status, ts, by, id)
          .run();
      if (db_.changes() == 0) return Status::error("quarantined message " + id + " is not held (any more)");
      return Status::ok();
    });
  }

  std::vector<QuarantineItem> expired_quarantine(int64_t ts) override {
    std::vector<QuarantineItem> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare(std::string(kQuarantineCols) + "WHERE status = 'held' AND expires_at <= ? LIMIT 10000");
      s.bind(ts);
      while (s.next()) out.push_back(quarantine_row(s));
    });
    return out;
  }

  int64_t count_held_with_path(const std::string& path) override {
    int64_t n = 0;
    (void)read([&] { n = scalar("SELECT COUNT(*) FROM quarantine WHERE path = ? AND status = 'held'", path); });
    return n;
  }

  Status add_summaries(const std::vector<MessageSummary>& all) override {
    return write([&]() -> Status {
      for (auto& m : all)
        db_.prepare(
             "INSERT INTO message_summaries (queue_id, tenant, ts_us, sender, recipients, subject, message_id, "
             "client_ip, verdict, score_milli, action, attachment_names, attachment_sha256) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(m.queue_id, m.tenant, m.ts_us, m.sender, lower(m.recipients), m.subject, m.message_id, m.client_ip,
                m.verdict, milli(m.score), m.action, lower(m.attachment_names), lower(m.attachment_sha256))
          .run();
      return Status::ok();
    });
  }

  std::vector<MessageSummary> search_summaries(const SummaryQuery& q) override {
    std::string where = "1 = 1";
    if (!q.tenant.empty()) where += " AND tenant = ?";
    if (!q.recipients.empty())
      where += " AND queue_id IN (SELECT queue_id FROM tracking_events WHERE recipient IN (" +
               placeholders(q.recipients.size()) + "))";
    if (!q.sender.empty()) where += " AND LOWER(sender) LIKE ? ESCAPE '\\'";
    if (!q.subject.empty()) where += " AND LOWER(subject) LIKE ? ESCAPE '\\'";
    if (!q.message_id.empty()) where += " AND message_id = ?";
    if (!q.queue_id.empty()) where += " AND queue_id = ?";
    if (!q.client_ip.empty()) where += " AND client_ip = ?";
    if (!q.verdict.empty()) where += " AND verdict = ?";
    if (q.since_us) where += " AND ts_us >= ?";
    if (q.until_us) where += " AND ts_us < ?";
    if (!q.attachment.empty()) where += " AND attachment_names LIKE ? ESCAPE '\\'";
    // Whole lines only: "\n" + names + "\n" contains "\n" + sha + "\n".
    if (!q.sha256.empty()) where += " AND instr(char(10) || attachment_sha256 || char(10), ?) > 0";
    std::vector<MessageSummary> out;
    (void)read([&] {
      out.clear();
      auto s = db_.prepare(
          "SELECT queue_id, tenant, ts_us, sender, recipients, subject, message_id, client_ip, verdict, score_milli, "
          "action, attachment_names, attachment_sha256 FROM message_summaries WHERE " +
          where + " ORDER BY ts_us DESC, id DESC LIMIT ?");
      if (!q.tenant.empty()) s.bind(q.tenant);
      for (auto& r : q.recipients) s.bind(lower(r));
      if (!q.sender.empty()) s.bind(like_of(q.sender));
      if (!q.subject.empty()) s.bind(like_of(q.subject));
      if (!q.message_id.empty()) s.bind(q.message_id);
      if (!q.queue_id.empty()) s.bind(q.queue_id);
      if (!q.client_ip.empty()) s.bind(q.client_ip);
      if (!q.verdict.empty()) s.bind(q.verdict);
      if (q.since_us) s.bind(q.since_us);
      if (q.until_us) s.bind(q.until_us);
      if (!q.attachment.empty()) s.bind(like_of(q.attachment));
      if (!q.sha256.empty()) s.bind("\n" + lower(q.sha256) + "\n");
      s.bind(static_cast<int64_t>(q.limit ? q.limit : 100));
      while (s.next())
        out.push_back({s.text(0), s.text(1), s.i64(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7),
                       s.text(8), static_cast<double>(s.i64(9)) / 1000.0, s.text(10), s.text(11), s.text(12)});
    });
    return out;
  }

  Status prune_summaries(int64_t now_us, int64_t default_days) override {
    return write([&]() -> Status {
      constexpr int64_t kDay = 86400LL * 1000000LL;
      db_.prepare(
             "DELETE FROM message_summaries WHERE tenant NOT IN (SELECT name FROM tenants) AND ts_us < ?")
          .bind(now_us - default_days * kDay)
          .run();
      std::vector<std::pair<std::string, int64_t>> days;
      {
        auto s = db_.prepare("SELECT name, tracking_days FROM tenants");
        while (s.next()) days.emplace_back(s.text(0), s.i64(1));
      }
      for (auto& [t, d] : days)
        db_.prepare("DELETE FROM message_summaries WHERE tenant = ? AND ts_us < ?").bind(t, now_us - d * kDay).run();
      return Status::ok();
    });
  }

 private:
  static int64_t now() { return now_s(); }
  static Status no_tenant(const std::string& t) { return Status::error("tenant '" + t + "' does not exist"); }
  static Status no_user(const std::string& u) { return Status::error("user '" + u + "' does not exist"); }
  static std::string placeholders(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += i ? ", ?" : "?";
    return s;
  }

  template <class F>
  Status read(F&& fn) { return sql::locked_read(db_, mu_, std::forward<F>(fn)); }
  template <class F>
  Status write(F&& fn) { return sql::locked_write(db_, mu_, std::forward<F>(fn)); }

  // Helpers below run inside a transaction with mu_ held.
  template <class... A>
  int64_t scalar(const std::string& sql, const A&... args) {
    auto s = db_.prepare(sql);
    s.bind(args...);
    return s.next() ? s.i64(0) : 0;
  }
  Status bump() {
    db_.prepare("UPDATE config_generation SET generation = generation + 1 WHERE id = 1").run();
    return Status::ok();
  }
  std::optional<int64_t> tenant_id(const std::string& name) {
    auto s = db_.prepare("SELECT id FROM tenants WHERE name = ?");
    s.bind(name);
    if (!s.next()) return std::nullopt;
    return s.i64(0);
  }
  // The account id of `address` (primary or alias) within the tenant.
  std::optional<int64_t> account_of(const std::string& address, const std::string& tenant) {
    auto s = db_.prepare(
        "SELECT aa.account_id FROM account_addresses aa JOIN accounts a ON a.id = aa.account_id JOIN tenants t ON "
        "t.id = a.tenant_id WHERE aa.address = ? AND t.name = ?");
    s.bind(address, tenant);
    if (!s.next()) return std::nullopt;
    return s.i64(0);
  }
  // An address may be an account or alias once, and only in a domain of its own tenant.
  Status check_address_free(int64_t tid, const std::string& addr) {
    if (scalar("SELECT COUNT(*) FROM account_addresses WHERE address = ?", addr) > 0)
      return Status::error("address '" + addr + "' is already an account or alias");
    std::string domain = addr.substr(addr.rfind('@') + 1);
    auto s = db_.prepare("SELECT tenant_id FROM domains WHERE name = ?");
    s.bind(domain);
    if (!s.next() || s.i64(0) != tid)
      return Status::error("address '" + addr + "' is not in a protected domain of this tenant");
    return Status::ok();
  }
  std::optional<Account> load_account(int64_t id) {
    Account a;
    {
      auto s = db_.prepare(
          "SELECT a.id, t.name, a.display_name, a.created_at FROM accounts a JOIN tenants t ON t.id = a.tenant_id "
          "WHERE a.id = ?");
      s.bind(id);
      if (!s.next()) return std::nullopt;
      a.id = s.i64(0);
      a.tenant = s.text(1);
      a.display_name = s.text(2);
      a.created_at = s.i64(3);
    }
    auto s = db_.prepare("SELECT address, is_primary FROM account_addresses WHERE account_id = ? ORDER BY address");
    s.bind(id);
    while (s.next()) {
      if (s.i64(1)) a.address = s.text(0);
      else a.aliases.push_back(s.text(0));
    }
    return a;
  }
  std::optional<User> find_user_locked(const std::string& name) {
    auto s = db_.prepare(std::string(kUserCols) + "WHERE u.name = ?");
    s.bind(name);
    if (!s.next()) return std::nullopt;
    return user_row(s);
  }
  void revoke_all(const std::string& name, int64_t ts) {
    db_.prepare(
           "UPDATE user_sessions SET revoked_at = ? WHERE revoked_at = 0 AND user_id IN (SELECT id FROM users WHERE "
           "name = ?)")
        .bind(ts, name)
        .run();
    db_.prepare(
           "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at = 0 AND user_id IN (SELECT id FROM users WHERE "
           "name = ?)")
        .bind(ts, name)
        .run();
  }
  static User user_row(const sql::Stmt& s) {
    User u;
    u.id = s.i64(0);
    u.name = s.text(1);
    u.tenant = s.text(2);
    u.role = s.text(3);
    u.account = s.text(4);
    u.disabled = s.i64(5) != 0;
    u.created_at = s.i64(6);
    u.password_changed_at = s.i64(7);
    return u;
  }
  static TenantInfo info_row(const sql::Stmt& s) {
    TenantInfo i;
    i.tenant = s.text(0);
    i.suspended_inbound = s.text(1) != "active";
    i.suspended_outbound = s.i64(2) != 0;
    i.suspend_reason = s.text(3);
    i.suspended_at = s.i64(4);
    i.contact_name = s.text(5);
    i.contact_email = s.text(6);
    i.contact_phone = s.text(7);
    i.licensed_accounts = s.i64(8);
    i.term_start = s.i64(9);
    i.term_end = s.i64(10);
    i.account_list = s.i64(11) != 0;
    i.quarantine_days = s.i64(12);
    i.tracking_days = s.i64(13);
    i.approve_unauthenticated = s.i64(14) != 0;
    i.user_release = s.text(15);
    return i;
  }
  static QuarantineItem quarantine_row(const sql::Stmt& s) {
    QuarantineItem q;
    q.id = s.text(0);
    q.tenant = s.text(1);
    q.queue_id = s.text(2);
    q.recipient = s.text(3);
    q.sender = s.text(4);
    q.subject = s.text(5);
    q.message_id = s.text(6);
    q.client_ip = s.text(7);
    q.verdict = s.text(8);
    q.score = static_cast<double>(s.i64(9)) / 1000.0;
    q.reason = s.text(10);
    q.symbols = s.text(11);
    q.path = s.text(12);
    q.size = s.i64(13);
    q.received_at = s.i64(14);
    q.expires_at = s.i64(15);
    q.status = s.text(16);
    q.acted_at = s.i64(17);
    q.acted_by = s.text(18);
    return q;
  }

  sql::Db& db_;
  std::mutex& mu_;
};

}  // namespace

std::unique_ptr<TenancyStore> make_sqlite_tenancy(sql::Db& db, std::mutex& mu) {
  return std::make_unique<SqliteTenancy>(db, mu);
}

}  // namespace mm::store
