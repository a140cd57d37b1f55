// Authentication for the management API: console logins (name + password through the tenancy
// service's Argon2id check) with rate limiting and lockout per user and per client address,
// sessions in a cookie (random token; only its SHA-256 is stored, with an expiry), a CSRF token
// derived from the session token that cookie-authenticated writes must echo in X-CSRF-Token, and
// API tokens (shown once, stored hashed, read or write, optionally narrowed to one tenant,
// expiring) sent as "Authorization: Bearer". A token never grants more than its user has: the
// user's current scope is looked up on every request (disabled users and password resets, which
// revoke everything, take effect at once).
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"
#include "util/status.h"
#include "tenancy/scope.h"
#include "tenancy/tenancy.h"

namespace mm::api {

// 32 random bytes as 64 hex characters.
std::string random_token();
// SHA-256 of the token, hex.
std::string hash_token(const std::string& token);
// The CSRF token that belongs to a session token.
std::string csrf_for(const std::string& session_token);
// Compares in time independent of where the first difference is.
bool equal_secret(const std::string& a, const std::string& b);
// "a=1; b=2" -> {a:1, b:2}
std::map<std::string, std::string> parse_cookies(const std::string& header);

struct LimitOptions {
  int user_failures = 5;    // failed logins per user within window_s before a lockout
  int ip_failures = 20;     // failed logins per client address within window_s before a lockout
  int window_s = 900;
  int lockout_s = 900;
};

// Counts failed logins per user and per client address; thread-safe.
class LoginLimiter {
 public:
  explicit LoginLimiter(LimitOptions o = {}) : o_(o) {}
  // 0 when a login may be tried now, else the seconds until it may.
  int64_t blocked_for(const std::string& user, const std::string& ip, int64_t now);
  // Records a failure; true when it started a lockout (of the user or the address).
  bool failure(const std::string& user, const std::string& ip, int64_t now);
  // A successful login clears the user's failures (the address keeps its count).
  void success(const std::string& user);

 private:
  struct Entry {
    std::deque<int64_t> fails;
    int64_t locked_until = 0;
  };
  bool note(Entry& e, int limit, int64_t now);
  LimitOptions o_;
  std::mutex mu_;
  std::map<std::string, Entry> users_, ips_;
};

// An authentication or authorisation failure with its HTTP status.
struct AuthError {
  int status = 401;
  std::string code = "unauthorized";
  std::string message;
};

struct Caller {
  tenancy::Scope scope;
  std::string user;
  bool cookie = false;       // session cookie: writes need the CSRF header
  bool write = true;         // read-only tokens: false
  std::string session_hash;  // cookie sessions
  std::string csrf;          // cookie sessions: the X-CSRF-Token writes must send
  int64_t token_id = 0;      // bearer tokens
};

struct Login {
  std::string token, csrf;
  int64_t expires_at = 0;
  tenancy::Scope scope;
};

struct AuthOptions {
  int session_ttl_s = 8 * 3600;
  int64_t token_max_ttl_s = 365LL * 86400;
  LimitOptions limits;
  // 32 bytes that seal TOTP secrets in the store (XSalsa20-Poly1305, libsodium secretbox), so that
  // a copy of the database alone (a backup, a dump) does not hold the second factors. Empty:
  // secrets are stored as they are. `mailmoat serve` reads it from [server] var_dir/secrets.key.
  std::string secrets_key;
};

// Reads the 32-byte key file, creating it (mode 0600, random) when absent; an error for a file of
// another size or one that cannot be read or written.
Result<std::string> load_or_create_secrets_key(const std::string& path);

class Credentials {
 public:
  Credentials(store::Store&, tenancy::TenancyService&, AuthOptions = {});
  // On failure: 429 rate_limited (with the wait in the message) or 401 unauthorized; for a user
  // with TOTP on, 401 totp_required without a code and 401 totp_invalid (a failed login) with a
  // wrong or already used one.
  bool login(const std::string& name, const std::string& password, const std::string& ip, int64_t now, Login* out,
             AuthError* err, const std::string& totp_code = "");
  void logout(const Caller&, int64_t now);
  // From "Authorization: Bearer T" (preferred) or the session cookie.
  bool identify(const std::string& authorization, const std::string& cookie_header, int64_t now, Caller* out,
                AuthError* err);
  // A new token for the caller's own user: tenant "" = the user's own scope; write needs a
  // writing caller; ttl_s 1..max. Returns the secret (shown once) and the stored record.
  bool create_token(const Caller&, const std::string& label, const std::string& tenant, bool write, int64_t ttl_s,
                    int64_t now, std::string* secret, store::Credential* rec, AuthError* err);
  // Operators see and revoke every token; others their own.
  std::vector<store::Credential> tokens(const Caller&);
  bool revoke_token(const Caller&, int64_t id, int64_t now, AuthError* err);

  // TOTP of the caller's own user (console sessions only). begin: a new pending secret (409 when
  // TOTP is on); confirm: turns it on with a first code; disable: turns it off with a current code.
  // Wrong codes count as failed logins (lockout), and an accepted step is never accepted again.
  bool totp_begin(const Caller&, std::string* secret, std::string* uri, AuthError* err);
  bool totp_confirm(const Caller&, const std::string& code, const std::string& ip, int64_t now, AuthError* err);
  bool totp_disable(const Caller&, const std::string& code, const std::string& ip, int64_t now, AuthError* err);
  bool totp_enabled(const std::string& user);

  static constexpr const char* kSessionCookie = "mm_session";

 private:
  bool scope_of(const std::string& user, Caller* out, AuthError* err);
  // Checks a code against the secret (pending or on) and uses its step; a failure is counted.
  bool totp_switch(const Caller&, const std::string& code, const std::string& ip, int64_t now, bool on, AuthError* err);
  // `stored` is the secret as the store holds it (sealed when a key is set).
  bool totp_check(const std::string& user, const std::string& stored, const std::string& code, const std::string& ip,
                  int64_t now, AuthError* err);
  void count_failure(const std::string& user, const std::string& ip, int64_t now, const char* what);
  std::string seal(const std::string& secret) const;
  bool unseal(const std::string& stored, std::string* secret) const;
  store::Store& st_;
  tenancy::TenancyService& tenancy_;
  AuthOptions o_;
  LoginLimiter limiter_;
};

}  // namespace mm::api
