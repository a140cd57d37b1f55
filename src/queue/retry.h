// When to try a deferred message again.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace mm::queue {

struct RetryPolicy {
  int64_t min_backoff_s = 300;
  int64_t max_backoff_s = 3600;
  int64_t max_lifetime_s = 10 * 86400;
  int64_t first_retry_s = 60;  // first retry sooner, like Postfix's queue_run_delay
};

// Time of the next attempt after `attempts` failed tries (1 = first failure): now +
// first_retry_s, then min_backoff_s doubling per attempt capped at max_backoff_s, times a
// jitter factor in [0.9, 1.1] derived from `id` alone (so delays never shrink as attempts
// grow). Never later than arrival_s + max_lifetime_s; std::nullopt once now_s has reached
// that point (give up: bounce with a DSN).
std::optional<int64_t> next_attempt(const RetryPolicy& policy, const std::string& id,
                                    uint32_t attempts, int64_t arrival_s, int64_t now_s);

}  // namespace mm::queue
