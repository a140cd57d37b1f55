// Dashboard statistics benchmark (GET /api/v1/stats): ApiStore::mail_stats over three stores with
// the same N message summaries (30 days, 20 tenants, a fifth of them quarantined or rejected) and
// tracking events: one with migration 14's hourly rollup (stats_hourly and its triggers), one with
// migration 12's covering and partial indexes only (the rollup dropped, so mail_stats counts
// message_summaries), one with the index layout before that (summaries_tenant_ts, summaries_ts);
// queries and writes alternate between them in the same run. Writes are what the mail path pays: batches of 5,000 messages (summary plus
// tracking events, timestamps increasing from now) as the tracker writes them.
// Build: ninja -C build stats_bench; run: build/src/api/stats_bench [summaries] [rounds].
// Prints medians.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "store/store.h"

using namespace mm;

namespace {

// From migration 14's layout to migration 12's (src/store/migrations.cpp).
constexpr const char* kMigration12 =
    "DROP TRIGGER stats_hourly_insert; DROP TRIGGER stats_hourly_delete; DROP TRIGGER stats_hourly_update; "
    "DROP TABLE stats_hourly;";
// From migration 12's layout to the one before.
constexpr const char* kMigration11 =
    "DROP INDEX summaries_stats_tenant; DROP INDEX summaries_stats; DROP INDEX tracking_refused; "
    "DROP INDEX tracking_refused_tenant; DROP INDEX summaries_blocked; DROP INDEX summaries_blocked_tenant; "
    "CREATE INDEX summaries_tenant_ts ON message_summaries (tenant, ts_us); "
    "CREATE INDEX summaries_ts ON message_summaries (ts_us);";

constexpr int64_t kNow = 1'700'000'000;

bool exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  char* err = nullptr;
  bool ok = sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK;
  if (!ok) std::fprintf(stderr, "%s\n", err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(db);
  return ok;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The series part alone (the SQL of src/store/sqlite_api.cpp mail_stats): rows read from the
// rollup (migration 14) or from message_summaries (migration 12), milliseconds of one run.
double series_ms(const std::string& path, bool rollup, const std::string& tenant, int64_t from, int64_t to, int64_t b) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return -1;
  const std::string t = tenant.empty() ? "? = ''" : "tenant = ?";
  const std::string sql =
      rollup ? "SELECT (hour - ?) / ?, SUM(total), SUM(clean), SUM(bulk), SUM(spam), SUM(phishing), SUM(malware), "
               "SUM(unscannable), SUM(rejected), SUM(quarantined) FROM stats_hourly WHERE hour >= ? AND hour < ? AND " + t +
               " GROUP BY 1"
             : "SELECT (ts_us / 1000000 - ?) / ?, COUNT(*), SUM(verdict = 'clean'), SUM(verdict = 'bulk'), "
               "SUM(verdict = 'spam'), SUM(verdict = 'phishing'), SUM(verdict = 'malware'), SUM(verdict = 'unscannable'), "
               "SUM(action LIKE 'reject:%'), SUM(action LIKE '%quarantine:%') FROM message_summaries WHERE "
               "ts_us >= ? AND ts_us < ? AND " + t + " GROUP BY 1";
  auto t0 = std::chrono::steady_clock::now();
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  const int64_t end = rollup ? to - to % 3600 : to;  // the store counts a partial last hour directly
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, b);
  sqlite3_bind_int64(s, 3, rollup ? from : from * 1000000);
  sqlite3_bind_int64(s, 4, rollup ? end : end * 1000000);
  sqlite3_bind_text(s, 5, tenant.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(s) == SQLITE_ROW) {
  }
  sqlite3_finalize(s);
  double ms = ms_since(t0);
  sqlite3_close(db);
  return ms;
}

// Deterministic messages: the same seed gives both stores the same data.
struct Writer {
  explicit Writer(unsigned seed) : rng(seed) {}
  std::mt19937 rng;
  int next = 0;
  int64_t live_us = kNow * 1000000;
  // Writes k messages in batches of 5,000; live: timestamps increase from now (the mail path),
  // else spread over the last 30 days. Returns the milliseconds, or -1 on a store error.
  double write(store::Store& st, int k, bool live) {
    static const char* verdicts[] = {"clean", "clean", "clean", "bulk", "spam", "spam", "phishing", "malware", "unscannable", "clean"};
    std::vector<store::MessageSummary> batch;
    std::vector<store::TrackingEvent> events;
    double ms = 0;
    for (int j = 0; j < k; ++j) {
      int i = next++;
      store::MessageSummary m;
      m.queue_id = "Q" + std::to_string(i);
      m.tenant = "t" + std::to_string(i % 20);
      m.ts_us = live ? (live_us += 1000) : (kNow - int64_t(rng() % (30 * 86400))) * 1000000;
      m.sender = "s" + std::to_string(rng() % 5000) + "@sender.example";
      m.recipients = "r" + std::to_string(i % 3000) + "@" + m.tenant + ".example";
      m.subject = "subject " + std::to_string(i);
      m.client_ip = "198.51." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 256);
      m.verdict = verdicts[rng() % 10];
      bool blocked = m.verdict != "clean" && m.verdict != "bulk";
      m.action = !blocked ? "deliver:1" : rng() % 2 ? "quarantine:1" : "reject:1";
      events.push_back({m.queue_id, m.ts_us, "received", m.recipients, "", m.tenant});
      events.push_back({m.queue_id, m.ts_us, blocked ? "quarantined" : "delivered", m.recipients, "", m.tenant});
      if (i % 10 == 0) events.push_back({"", m.ts_us, "refused", "x@" + m.tenant + ".example", "550", m.tenant});
      batch.push_back(std::move(m));
      if (batch.size() == 5000 || j == k - 1) {
        auto t0 = std::chrono::steady_clock::now();
        if (!st.tenancy().add_summaries(batch) || !st.add_events(events)) return -1;
        ms += ms_since(t0);
        batch.clear();
        events.clear();
      }
    }
    return ms;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(10000, std::atoi(argv[1])) : 300000;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  const std::string base = "/tmp/mm-stats-bench-" + std::to_string(::getpid());
  constexpr int K = 3;
  const std::string paths[K] = {base + "-14.db", base + "-12.db", base + "-11.db"};
  const char* names[K] = {"migration 14 (rollup)", "migration 12", "before (migration 11)"};
  std::unique_ptr<store::Store> st[K];
  Writer writers[K] = {Writer(7), Writer(7), Writer(7)};
  for (int k = 0; k < K; ++k) {
    auto s = store::open_sqlite(paths[k]);
    if (!s) {
      std::fprintf(stderr, "open: %s\n", s.error().c_str());
      return 1;
    }
    st[k] = std::move(*s);
    if (writers[k].write(*st[k], n, false) < 0) {
      std::fprintf(stderr, "write failed\n");
      return 1;
    }
  }
  if (!exec(paths[1], kMigration12) || !exec(paths[2], kMigration12) || !exec(paths[2], kMigration11)) return 1;

  struct Shape {
    const char* name;
    store::StatsQuery q;
  };
  const std::vector<Shape> shapes = {
      {"operator, 24 h hourly", {"", kNow - kNow % 3600 - 24 * 3600, kNow, 3600, 10}},
      {"one tenant, 24 h hourly", {"t3", kNow - kNow % 3600 - 24 * 3600, kNow, 3600, 10}},
      {"operator, 30 d daily", {"", kNow - kNow % 86400 - 30 * 86400, kNow, 86400, 10}},
      {"one tenant, 30 d daily", {"t3", kNow - kNow % 86400 - 30 * 86400, kNow, 86400, 10}},
  };
  std::printf("%d messages per store, %d rounds, medians\n\n", n, rounds);
  std::printf("| query | messages counted | ms, migration 14 (rollup) | ms, migration 12 | ms, migration 11 | 12 / 14 | 11 / 14 |\n"
              "|---|---|---|---|---|---|---|\n");
  for (auto& sh : shapes) {
    std::vector<double> ms[K];
    int64_t counted[K] = {0, 0, 0};
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < K; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        auto m = st[k]->api()->mail_stats(sh.q);
        ms[k].push_back(ms_since(t0));
        counted[k] = 0;
        for (auto& b : m.series) counted[k] += b.total;
      }
    if (counted[0] != counted[1] || counted[0] != counted[2])
      std::fprintf(stderr, "the layouts disagree: %lld vs %lld vs %lld\n", (long long)counted[0], (long long)counted[1],
                   (long long)counted[2]);
    std::printf("| %s | %lld | %.2f | %.1f | %.1f | %.1fx | %.1fx |\n", sh.name, (long long)counted[0], median(ms[0]),
                median(ms[1]), median(ms[2]), median(ms[1]) / median(ms[0]), median(ms[2]) / median(ms[0]));
  }
  std::printf("\n| series only (SQL of the hourly counts) | ms, rollup | ms, message_summaries (migration 12) | ratio |\n"
              "|---|---|---|---|\n");
  for (auto& sh : shapes) {
    std::vector<double> ms[2];
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < 2; ++k) ms[k].push_back(series_ms(paths[k], k == 0, sh.q.tenant, sh.q.from, sh.q.to, sh.q.bucket_s));
    std::printf("| %s | %.2f | %.1f | %.1fx |\n", sh.name, median(ms[0]), median(ms[1]), median(ms[1]) / median(ms[0]));
  }
  std::vector<double> us[K];
  for (int r = 0; r < rounds; ++r)
    for (int k = 0; k < K; ++k) {
      double ms = writers[k].write(*st[k], 5000, true);
      if (ms < 0) return 1;
      us[k].push_back(1000 * ms / 5000);
    }
  std::printf("\n| writing (summary + tracking events) | %s | %s | %s | 14 / 12 | 14 / 11 |\n|---|---|---|---|---|---|\n",
              names[0], names[1], names[2]);
  std::printf("| us per message, batches of 5,000 | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n", median(us[0]), median(us[1]),
              median(us[2]), median(us[0]) / median(us[1]), median(us[0]) / median(us[2]));
  for (int k = 0; k < K; ++k) {
    st[k].reset();
    for (auto suffix : {"", "-wal", "-shm"}) ::unlink((paths[k] + suffix).c_str());
  }
  return 0;
}
