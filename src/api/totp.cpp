#include "api/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <cctype>
#include <cstdio>

#include "api/auth.h"

namespace mm::api {
namespace {
constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
}

std::string hotp(const std::string& key, uint64_t counter, int digits) {
  if (key.empty() || digits < 1 || digits > 9) return "";
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &len) || len < 20) return "";
  unsigned off = mac[len - 1] & 0x0f;
  uint32_t bin = (uint32_t(mac[off] & 0x7f) << 24) | (uint32_t(mac[off + 1]) << 16) | (uint32_t(mac[off + 2]) << 8) |
                 uint32_t(mac[off + 3]);
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string s = std::to_string(bin % mod);
  return std::string(static_cast<size_t>(digits) - s.size(), '0') + s;
}

std::string base32_encode(const std::string& bytes) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buf >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buf << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> base32_decode(const std::string& text) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '=') continue;
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a';
    else if (ch >= '2' && ch <= '7') v = ch - '2' + 26;
    else return std::nullopt;
    buf = (buf << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buf >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string new_totp_secret() {
  if (sodium_init() < 0) return "";
  std::string key(20, '\0');
  randombytes_buf(key.data(), key.size());
  return base32_encode(key);
}

std::string otpauth_uri(const std::string& user, const std::string& secret_b32) {
  std::string label;
  for (unsigned char c : user) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '@') label += static_cast<char>(c);
    else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      label += b;
    }
  }
  return "otpauth://totp/mailmoat:" + label + "?secret=" + secret_b32 + "&issuer=mailmoat";
}

std::optional<int64_t> totp_match(const std::string& secret_b32, const std::string& code, int64_t now) {
  if (code.size() != 6) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  auto key = base32_decode(secret_b32);
  if (!key || key->empty()) return std::nullopt;
  std::optional<int64_t> hit;
  int64_t step = totp_step(now);
  for (int64_t s : {step - 1, step, step + 1})  // all three computed: no early exit
    if (s >= 0 && equal_secret(hotp(*key, static_cast<uint64_t>(s)), code) && !hit) hit = s;
  return hit;
}

}  // namespace mm::api
