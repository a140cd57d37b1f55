#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/store.h"
#include "temp_dir.h"

namespace mm::store {
namespace {

using test_util::TempDir;

// Config writes plus a tracking batch; returns the number of failed calls.
int churn(Store& s, const std::string& prefix, int rounds) {
  int failures = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string t = prefix + "-" + std::to_string(i);
    if (!s.create_tenant(t, "T")) ++failures;
    if (!s.add_domain(t, t + ".example")) ++failures;
    if (!s.add_recipient("user@" + t + ".example")) ++failures;
    std::vector<TrackingEvent> evs;
    for (int j = 0; j < 10; ++j) evs.push_back({t + "-q" + std::to_string(j), 0, "received", "", "", t});
    if (!s.add_events(evs)) ++failures;
    if (s.config_generation() < 0) ++failures;
    if (!s.get_domain(t + ".example")) ++failures;
  }
  return failures;
}

TEST(StoreConcurrency, TwoStoresOnOneFileFromTwoThreads) {
  TempDir tmp;
  std::string path = tmp.file("mailmoat.db");
  auto first = open_sqlite(path);
  ASSERT_TRUE(first) << first.error();
  constexpr int kRounds = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 2; ++n)
    threads.emplace_back([&, n] {
      auto s = open_sqlite(path);  // its own connection, like a second process
      if (!s) {
        ++failures;
        return;
      }
      failures += churn(**s, "w" + std::to_string(n), kRounds);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto& s = **first;
  EXPECT_EQ(s.list_tenants().size(), 2u * kRounds);
  EXPECT_EQ(s.list_domains("").size(), 2u * kRounds);
  EXPECT_EQ(s.config_generation(), 2 * 3 * kRounds);
  TrackingQuery q;
  q.limit = 100000;
  EXPECT_EQ(s.query_events(q).size(), 2u * 10 * kRounds);
}

TEST(StoreConcurrency, OneStoreSharedByThreads) {
  TempDir tmp;
  auto opened = open_sqlite(tmp.file("mailmoat.db"));
  ASSERT_TRUE(opened) << opened.error();
  Store& s = **opened;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) threads.emplace_back([&, n] { failures += churn(s, "s" + std::to_string(n), 15); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(s.list_tenants().size(), 60u);
  EXPECT_EQ(s.config_generation(), 3 * 60);
}

TEST(StoreConcurrency, SimultaneousOpensMigrateOnce) {
  TempDir tmp;
  std::string path = tmp.file("fresh/mailmoat.db");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n)
    threads.emplace_back([&, n] {
      auto s = open_sqlite(path);
      if (!s || !(*s)->create_tenant("t" + std::to_string(n), "T")) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto s = open_sqlite(path);
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ((*s)->list_tenants().size(), 4u);
  EXPECT_EQ((*s)->config_generation(), 4);
}

}  // namespace
}  // namespace mm::store
