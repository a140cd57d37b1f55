#include "queue/retry.h"

#include <algorithm>

namespace mm::queue {

std::optional<int64_t> next_attempt(const RetryPolicy& p, const std::string& id,
                                    uint32_t attempts, int64_t arrival_s, int64_t now_s) {
  const int64_t end = arrival_s + std::max<int64_t>(p.max_lifetime_s, 0);
  if (now_s >= end) return std::nullopt;

  const int64_t first = std::max<int64_t>(p.first_retry_s, 1);
  const int64_t cap = std::max<int64_t>(p.max_backoff_s, 1);
  int64_t base = first;
  if (attempts >= 2) {
    base = std::max<int64_t>(p.min_backoff_s, 1);
    for (uint32_t i = 2; i < attempts && base < cap; ++i) base *= 2;
    base = std::max(std::min(base, cap), first);  // monotone even if first_retry > min_backoff
  }

  // FNV-1a of the id -> jitter of -1000..+1000 parts in 10000, i.e. +-10%.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : id) h = (h ^ ch) * 1099511628211ull;
  h ^= h >> 29;
  const int64_t jitter = static_cast<int64_t>(h % 2001) - 1000;
  int64_t delay = base + base * jitter / 10000;
  delay = std::max<int64_t>(delay, 1);

  return std::min(now_s + delay, end);
}

}  // namespace mm::queue
