// Wall-clock helpers shared by every module (times are UTC microseconds or seconds since the epoch).
#pragma once
#include <cstdint>
#include <string>

namespace mm {
int64_t now_us();
int64_t now_s();
// RFC 5322 date-time in UTC, e.g. "Wed, 25 Nov 2026 19:21:28 +0000".
std::string rfc5322_date(int64_t unix_s);
// ISO 8601 UTC with milliseconds, e.g. "2026-11-25T19:21:28.123Z" (logs, JSON).
std::string iso8601_us(int64_t unix_us);
}  // namespace mm
