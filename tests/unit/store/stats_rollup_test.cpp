// Migration 14: the hourly rollup stats_hourly, kept by triggers on message_summaries, equals the
// direct GROUP BY over message_summaries after inserts, updates of verdict/action/time/tenant and
// deletes (retention and single rows), on seeded random data over several tenants and hours; and
// ApiStore::mail_stats (rollup plus a partial last hour) equals a count of the rows in C++.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "store/store.h"
#include "temp_dir.h"

namespace mm::store {
namespace {

constexpr int64_t kNow = 1'700'003'000;  // not on an hour
constexpr int64_t kHourUs = 3600LL * 1000000;

using Row = std::vector<std::string>;  // every column as text

class StatsRollupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = tmp.file("mailmoat.db");
    auto r = open_sqlite(path);
    ASSERT_TRUE(r) << r.error();
    store = std::move(*r);
    for (auto t : {"alpha", "beta", "gamma"}) ASSERT_TRUE(store->create_tenant(t, ""));
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  void TearDown() override { sqlite3_close(db); }

  std::vector<Row> query(const std::string& sql) {
    std::vector<Row> out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    while (sqlite3_step(s) == SQLITE_ROW) {
      Row r;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto* t = sqlite3_column_text(s, i);
        r.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(std::move(r));
    }
    sqlite3_finalize(s);
    return out;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "?");
  }

  // The rollup table against the direct aggregation (floor of the hour, as in migration 14).
  void expect_rollup_exact(const char* when) {
    auto direct = query(
        "SELECT tenant, (ts_us - ((ts_us % 3600000000) + 3600000000) % 3600000000) / 1000000, COUNT(*), "
        "SUM(verdict = 'clean'), SUM(verdict = 'bulk'), SUM(verdict = 'spam'), SUM(verdict = 'phishing'), "
        "SUM(verdict = 'malware'), SUM(verdict = 'unscannable'), SUM(action LIKE 'reject:%'), "
        "SUM(action LIKE '%quarantine:%') FROM message_summaries GROUP BY 1, 2 ORDER BY 1, 2");
    auto rollup = query(
        "SELECT tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined "
        "FROM stats_hourly ORDER BY 1, 2");
    EXPECT_FALSE(direct.empty()) << when;
    EXPECT_EQ(rollup, direct) << when;
  }

  // mail_stats against a count in C++ of the rows now in message_summaries.
  void expect_mail_stats_exact(const char* when) {
    auto rows = query("SELECT tenant, ts_us, verdict, action FROM message_summaries");
    struct Shape {
      std::string tenant;
      int64_t from, to, b;
    };
    const int64_t h0 = kNow - kNow % 3600, d0 = kNow - kNow % 86400;
    const std::vector<Shape> shapes = {
        {"", h0 - 24 * 3600, kNow, 3600},      {"beta", h0 - 24 * 3600, kNow, 3600},
        {"", d0 - 10 * 86400, kNow, 86400},    {"delta", d0 - 10 * 86400, kNow, 86400},
        {"alpha", h0 - 48 * 3600, h0, 3600},   {"", h0 - 5 * 3600, h0 - 3600 + 1234, 3600},
        {"gamma", d0 - 3 * 86400, d0 + 7, 86400},
    };
    for (auto& sh : shapes) {
      StatsQuery q{sh.tenant, sh.from, sh.to, sh.b, 10};
      auto m = store->api()->mail_stats(q);
      const int64_t n = (sh.to - sh.from + sh.b - 1) / sh.b;
      ASSERT_EQ(static_cast<int64_t>(m.series.size()), n) << when;
      std::vector<StatsBucket> want(static_cast<size_t>(n));
      for (auto& r : rows) {
        int64_t ts = std::stoll(r[1]);
        if ((!sh.tenant.empty() && r[0] != sh.tenant) || ts < sh.from * 1000000 || ts >= sh.to * 1000000) continue;
        auto& k = want[static_cast<size_t>((ts / 1000000 - sh.from) / sh.b)];
        const std::string &v = r[2], &a = r[3];
        ++k.total;
        k.clean += v == "clean";
        k.bulk += v == "bulk";
        k.spam += v == "spam";
        k.phishing += v == "phishing";
        k.malware += v == "malware";
        k.unscannable += v == "unscannable";
        k.rejected += a.rfind("reject:", 0) == 0;
        k.quarantined += a.find("quarantine:") != std::string::npos;
      }
      for (int64_t i = 0; i < n; ++i) {
        auto &g = m.series[static_cast<size_t>(i)], &w = want[static_cast<size_t>(i)];
        SCOPED_TRACE(std::string(when) + " tenant '" + sh.tenant + "' bucket " + std::to_string(i));
        EXPECT_EQ(g.t, sh.from + i * sh.b);
        EXPECT_EQ(std::tie(g.total, g.clean, g.bulk, g.spam, g.phishing, g.malware, g.unscannable, g.rejected,
                           g.quarantined),
                  std::tie(w.total, w.clean, w.bulk, w.spam, w.phishing, w.malware, w.unscannable, w.rejected,
                           w.quarantined));
      }
    }
  }

  test_util::TempDir tmp;
  std::string path;
  std::unique_ptr<Store> store;
  sqlite3* db = nullptr;
};

TEST_F(StatsRollupTest, EqualsDirectAggregationThroughInsertsUpdatesAndDeletes) {
  std::mt19937 rng(20261126);
  static const char* verdicts[] = {"clean", "clean", "bulk", "spam", "phishing", "malware", "unscannable", "tempfail"};
  static const char* actions[] = {"deliver:1", "deliver:2", "reject:550 5.7.1", "quarantine:1",
                                  "deliver:1,quarantine:1", "tag:1"};
  static const char* tenants[] = {"alpha", "beta", "gamma", "delta"};  // delta has no tenant row
  int next = 0;
  auto batch = [&](int k) {
    std::vector<MessageSummary> all;
    for (int j = 0; j < k; ++j) {
      MessageSummary m;
      m.queue_id = "Q" + std::to_string(next++);
      m.tenant = tenants[rng() % 4];
      // Mostly within 10 days before now; some exactly on an hour or just before it.
      int64_t ts = (kNow - int64_t(rng() % (10 * 86400))) * 1000000 + int64_t(rng() % 1000000);
      if (rng() % 10 == 0) ts -= ts % kHourUs + (rng() % 2);
      m.ts_us = ts;
      m.sender = "s" + std::to_string(rng() % 50) + "@x.example";
      m.recipients = "r@" + m.tenant + ".example";
      m.client_ip = "192.0.2." + std::to_string(rng() % 20);
      m.verdict = verdicts[rng() % 8];
      m.action = actions[rng() % 6];
      all.push_back(std::move(m));
    }
    ASSERT_TRUE(store->tenancy().add_summaries(all));
  };
  batch(1500);
  expect_rollup_exact("after inserts");
  expect_mail_stats_exact("after inserts");

  // A quarantine release: the action changes (and some verdicts); other columns change nothing.
  exec("UPDATE message_summaries SET action = 'deliver:1,released' WHERE action LIKE '%quarantine:%' AND id % 3 = 0");
  exec("UPDATE message_summaries SET verdict = 'clean' WHERE verdict = 'spam' AND id % 5 = 1");
  exec("UPDATE message_summaries SET subject = 'edited' WHERE id % 7 = 2");
  expect_rollup_exact("after releases");
  // Moved in time and between tenants, one row at a time and many at once.
  exec("UPDATE message_summaries SET ts_us = ts_us + 5400000000 WHERE id % 11 = 3");
  exec("UPDATE message_summaries SET tenant = 'beta', action = 'reject:x' WHERE id % 13 = 4");
  expect_rollup_exact("after moves");
  expect_mail_stats_exact("after updates");

  batch(500);
  // Retention: alpha keeps 2 days, beta 5, gamma 30, delta (no tenant row) the default 3.
  exec("UPDATE tenants SET tracking_days = 2 WHERE name = 'alpha'");
  exec("UPDATE tenants SET tracking_days = 5 WHERE name = 'beta'");
  exec("UPDATE tenants SET tracking_days = 30 WHERE name = 'gamma'");
  auto before = query("SELECT COUNT(*) FROM stats_hourly");
  ASSERT_TRUE(store->tenancy().prune_summaries(kNow * 1000000, 3));
  auto after = query("SELECT COUNT(*) FROM stats_hourly");
  EXPECT_LT(std::stoll(after[0][0]), std::stoll(before[0][0]));  // emptied hours are removed
  EXPECT_EQ(query("SELECT COUNT(*) FROM stats_hourly WHERE total <= 0")[0][0], "0");
  expect_rollup_exact("after retention");
  exec("DELETE FROM message_summaries WHERE id % 17 = 5");
  expect_rollup_exact("after deletes");
  expect_mail_stats_exact("after deletes");

  // Everything gone: nothing left in the rollup.
  exec("DELETE FROM message_summaries");
  EXPECT_EQ(query("SELECT COUNT(*) FROM stats_hourly")[0][0], "0");
}

// The migration's backfill: rows written before the rollup existed are counted.
TEST_F(StatsRollupTest, BackfillCountsExistingRows) {
  // Back to before migration 14; reopening reruns its SQL.
  exec("DROP TRIGGER stats_hourly_insert; DROP TRIGGER stats_hourly_delete; DROP TRIGGER stats_hourly_update; "
       "DROP TABLE stats_hourly; DELETE FROM schema_migrations WHERE version = 14");
  std::vector<MessageSummary> all;
  for (int i = 0; i < 40; ++i) {
    MessageSummary m;
    m.queue_id = "B" + std::to_string(i);
    m.tenant = i % 2 ? "alpha" : "beta";
    m.ts_us = (kNow - i * 1000) * 1000000;
    m.verdict = i % 3 ? "clean" : "spam";
    m.action = i % 3 ? "deliver:1" : "quarantine:1";
    all.push_back(m);
  }
  ASSERT_TRUE(store->tenancy().add_summaries(all));
  expect_mail_stats_exact("without the rollup");  // counted directly
  store.reset();
  auto r = open_sqlite(path);
  ASSERT_TRUE(r) << r.error();
  store = std::move(*r);
  expect_rollup_exact("after backfill");
  expect_mail_stats_exact("after backfill");
}

}  // namespace
}  // namespace mm::store
