#include "queue/retry.h"

#include <gtest/gtest.h>

#include <set>

using namespace mm::queue;

TEST(Retry, FirstRetrySoonThenDoublingCappedWithJitter) {
  RetryPolicy p;
  const int64_t arrival = 1'700'000'000, now = arrival + 10;
  for (std::string id : {"A", "0123456789ABCDEF", "ZZZZZZZZZZZZZZZZ", "Q"}) {
    auto d1 = *next_attempt(p, id, 1, arrival, now) - now;
    EXPECT_GE(d1, 54);
    EXPECT_LE(d1, 66);
    auto d2 = *next_attempt(p, id, 2, arrival, now) - now;
    EXPECT_GE(d2, 270);
    EXPECT_LE(d2, 330);
    auto d3 = *next_attempt(p, id, 3, arrival, now) - now;
    EXPECT_GE(d3, 540);
    EXPECT_LE(d3, 660);
    int64_t prev = 0;
    for (uint32_t a = 1; a < 200; ++a) {
      auto t = next_attempt(p, id, a, arrival, now);
      ASSERT_TRUE(t);
      int64_t d = *t - now;
      EXPECT_GE(d, prev) << "not monotone at attempt " << a;
      EXPECT_LE(d, p.max_backoff_s * 11 / 10) << "cap exceeded at attempt " << a;
      EXPECT_GE(d, 1);
      prev = d;
    }
    EXPECT_GE(prev, p.max_backoff_s * 9 / 10);
  }
}

TEST(Retry, JitterSpreadsMessages) {
  RetryPolicy p;
  std::set<int64_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(*next_attempt(p, "ID" + std::to_string(i), 5, 0, 100));
  EXPECT_GT(seen.size(), 20u);
  // Deterministic.
  EXPECT_EQ(next_attempt(p, "X", 4, 0, 100), next_attempt(p, "X", 4, 0, 100));
}

TEST(Retry, NeverPastLifetimeAndGivesUpAfter) {
  RetryPolicy p;
  const int64_t arrival = 1'000'000, end = arrival + p.max_lifetime_s;
  auto last = next_attempt(p, "ID", 50, arrival, end - 10);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, end) << "last retry is clamped to the lifetime end";
  EXPECT_FALSE(next_attempt(p, "ID", 51, arrival, end));
  EXPECT_FALSE(next_attempt(p, "ID", 1, arrival, end + 1));
  // Walking the whole schedule: strictly increasing times, all within the lifetime.
  int64_t now = arrival;
  uint32_t attempts = 0;
  for (;;) {
    auto t = next_attempt(p, "WALK", ++attempts, arrival, now);
    if (!t) break;
    EXPECT_GT(*t, now);
    EXPECT_LE(*t, end);
    now = *t;
    ASSERT_LT(attempts, 1000u);
  }
  EXPECT_EQ(now, end);
  EXPECT_GT(attempts, 200u);  // ~10 days of hourly retries
}

TEST(Retry, OddPoliciesStaySane) {
  RetryPolicy p{.min_backoff_s = 30, .max_backoff_s = 100000, .max_lifetime_s = 86400 * 365,
                .first_retry_s = 600};
  int64_t prev = 0;
  for (uint32_t a = 1; a < 100; ++a) {
    int64_t d = *next_attempt(p, "Z", a, 0, 1) - 1;
    EXPECT_GE(d, prev);
    prev = d;
  }
}
