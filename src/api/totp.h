// TOTP second factor (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1 of the 30-second time step, dynamic
// truncation, 6 digits; a code is accepted for the current step and one step either side (clock
// drift), and the caller records the accepted step so that no step is accepted twice. Secrets are
// 20 random bytes, exchanged as base32 (RFC 4648, no padding) in an otpauth:// URI.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace mm::api {

constexpr int64_t kTotpPeriod = 30;

// HOTP value of `counter` with `digits` digits (zero-padded), or "" when the key is empty.
std::string hotp(const std::string& key, uint64_t counter, int digits = 6);
// The time step of unix time t.
inline int64_t totp_step(int64_t t) { return t / kTotpPeriod; }

std::string base32_encode(const std::string& bytes);
// Case-insensitive, spaces and '=' padding ignored; nullopt on any other character.
std::optional<std::string> base32_decode(const std::string& text);

// A new random secret as base32 (32 characters).
std::string new_totp_secret();
// otpauth://totp/mailmoat:USER?secret=...&issuer=mailmoat
std::string otpauth_uri(const std::string& user, const std::string& secret_b32);

// The step (now-1, now or now+1) whose 6-digit code equals `code`, compared in constant time per
// candidate; nullopt when none does or the code is not 6 digits.
std::optional<int64_t> totp_match(const std::string& secret_b32, const std::string& code, int64_t now);

}  // namespace mm::api
