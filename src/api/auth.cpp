#include "api/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "api/totp.h"

#include <algorithm>

namespace mm::api {
namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

AuthError fail(int status, std::string code, std::string msg) { return {status, std::move(code), std::move(msg)}; }

}  // namespace

std::string random_token() {
  if (sodium_init() < 0) return {};
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  return hex(b, sizeof b);
}

std::string hash_token(const std::string& token) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return hex(out, sizeof out);
}

std::string csrf_for(const std::string& session_token) { return hash_token("mailmoat-csrf:" + session_token).substr(0, 40); }

bool equal_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::map<std::string, std::string> parse_cookies(const std::string& header) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < header.size()) {
    size_t j = header.find(';', i);
    if (j == std::string::npos) j = header.size();
    std::string part = trim(header.substr(i, j - i));
    i = j + 1;
    size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out.emplace(trim(part.substr(0, eq)), trim(part.substr(eq + 1)));  // first one wins
  }
  return out;
}

bool LoginLimiter::note(Entry& e, int limit, int64_t now) {
  while (!e.fails.empty() && e.fails.front() <= now - o_.window_s) e.fails.pop_front();
  e.fails.push_back(now);
  if (static_cast<int>(e.fails.size()) >= limit && e.locked_until <= now) {
    e.locked_until = now + o_.lockout_s;
    e.fails.clear();
    return true;
  }
  return false;
}

int64_t LoginLimiter::blocked_for(const std::string& user, const std::string& ip, int64_t now) {
  std::lock_guard lk(mu_);
  int64_t wait = 0;
  if (auto it = users_.find(user); it != users_.end()) wait = std::max(wait, it->second.locked_until - now);
  if (auto it = ips_.find(ip); it != ips_.end()) wait = std::max(wait, it->second.locked_until - now);
  return std::max<int64_t>(wait, 0);
}

bool LoginLimiter::failure(const std::string& user, const std::string& ip, int64_t now) {
  std::lock_guard lk(mu_);
  if (users_.size() > 100000) users_.clear();  // bounded memory under a spray of names
  if (ips_.size() > 100000) ips_.clear();
  bool a = note(users_[user], o_.user_failures, now);
  bool b = note(ips_[ip], o_.ip_failures, now);
  return a || b;
}

void LoginLimiter::success(const std::string& user) {
  std::lock_guard lk(mu_);
  users_.erase(user);
}

Credentials::Credentials(store::Store& st, tenancy::TenancyService& t, AuthOptions o)
    : st_(st), tenancy_(t), o_(o), limiter_(o.limits) {}

// Counts a failed login or code; a lockout it starts is a security event of the user's tenant.
void Credentials::count_failure(const std::string& user, const std::string& ip, int64_t now, const char* what) {
  if (!limiter_.failure(user, ip, now)) return;
  store::SecurityEvent ev;
  ev.ts = now;
  ev.kind = "login_lockout";
  if (auto u = st_.tenancy().find_user(user)) ev.tenant = u->tenant;
  ev.detail = std::string(what) + " for '" + user + "' from " + ip + "; locked for " + std::to_string(o_.limits.lockout_s) + " s";
  (void)st_.tenancy().add_security_event(ev);
}

bool Credentials::login(const std::string& name_in, const std::string& password, const std::string& ip, int64_t now,
                        Login* out, AuthError* err, const std::string& totp_code) {
  std::string name = name_in;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (auto wait = limiter_.blocked_for(name, ip, now); wait > 0) {
    *err = fail(429, "rate_limited", "too many failed logins; try again in " + std::to_string(wait) + " s");
    return false;
  }
  auto scope = tenancy_.authenticate(name, password);
  if (!scope) {
    count_failure(name, ip, now, "failed logins");
    *err = fail(401, "unauthorized", "invalid user name or password");
    return false;
  }
  if (auto* api = st_.api()) {
    if (auto t = api->totp(name); t && t->enabled) {
      if (totp_code.empty()) {
        *err = fail(401, "totp_required", "this user needs a TOTP code (totp_code)");
        return false;
      }
      if (!totp_check(name, t->secret, totp_code, ip, now, err)) return false;
    }
  }
  limiter_.success(name);
  Login l;
  l.token = random_token();
  if (l.token.empty()) {
    *err = fail(500, "internal", "no randomness");
    return false;
  }
  l.csrf = csrf_for(l.token);
  l.expires_at = now + o_.session_ttl_s;
  l.scope = *scope;
  if (auto st = st_.tenancy().add_session(name, hash_token(l.token), l.expires_at); !st) {
    *err = fail(500, "internal", st.message());
    return false;
  }
  *out = std::move(l);
  return true;
}

namespace {
constexpr const char* kSealed = "sb1:";  // hex(nonce || secretbox ciphertext)
}  // namespace

std::string Credentials::seal(const std::string& secret) const {
  if (o_.secrets_key.size() != crypto_secretbox_KEYBYTES) return secret;
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + secret.size(), '\0');
  auto* b = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(b, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(secret.data()),
                        secret.size(), b, reinterpret_cast<const unsigned char*>(o_.secrets_key.data()));
  return kSealed + hex(b, box.size());
}

bool Credentials::unseal(const std::string& stored, std::string* secret) const {
  if (stored.rfind(kSealed, 0) != 0) {  // stored before a key was set: as it is
    *secret = stored;
    return true;
  }
  if (o_.secrets_key.size() != crypto_secretbox_KEYBYTES) return false;
  std::string hex = stored.substr(4);
  std::string box(hex.size() / 2, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), hex.data(), hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != box.size() || len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return false;
  const auto* b = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()), b + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, b,
                                 reinterpret_cast<const unsigned char*>(o_.secrets_key.data())) != 0)
    return false;
  *secret = std::move(plain);
  return true;
}

Result<std::string> load_or_create_secrets_key(const std::string& path) {
  if (sodium_init() < 0) return Status::error("libsodium failed to initialise");
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::string key(crypto_secretbox_KEYBYTES + 1, '\0');
    size_t n = std::fread(key.data(), 1, key.size(), f);
    std::fclose(f);
    if (n != crypto_secretbox_KEYBYTES)
      return Status::error(path + ": a secrets key is exactly " + std::to_string(crypto_secretbox_KEYBYTES) + " bytes");
    key.resize(n);
    return key;
  }
  if (errno != ENOENT) return Status::error(path + ": " + std::strerror(errno));
  std::string key(crypto_secretbox_KEYBYTES, '\0');
  crypto_secretbox_keygen(reinterpret_cast<unsigned char*>(key.data()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error(path + ": " + std::strerror(errno));
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::error(path + ": cannot write the secrets key");
  }
  return key;
}

bool Credentials::totp_check(const std::string& user, const std::string& stored, const std::string& code,
                             const std::string& ip, int64_t now, AuthError* err) {
  if (auto wait = limiter_.blocked_for(user, ip, now); wait > 0) {
    *err = fail(429, "rate_limited", "too many failed logins; try again in " + std::to_string(wait) + " s");
    return false;
  }
  std::string secret;
  if (!unseal(stored, &secret)) {
    *err = fail(500, "internal",
                "the TOTP secret of '" + user +
                    "' cannot be opened: the server's secrets key is missing or not the one it was sealed with "
                    "(an operator can reset it: mailmoat user totp-reset)");
    return false;
  }
  auto step = totp_match(secret, code, now);
  if (step && st_.api()->use_totp_step(user, *step)) return true;
  count_failure(user, ip, now, "failed TOTP codes");
  *err = fail(401, "totp_invalid", step ? "this TOTP code was already used; wait for the next one" : "wrong TOTP code");
  return false;
}

bool Credentials::totp_enabled(const std::string& user) {
  auto t = st_.api() ? st_.api()->totp(user) : std::nullopt;
  return t && t->enabled;
}

bool Credentials::totp_begin(const Caller& c, std::string* secret, std::string* uri, AuthError* err) {
  if (!c.cookie) {
    *err = fail(403, "forbidden", "permission denied: TOTP is set up from a console session, not with a token");
    return false;
  }
  auto t = st_.api()->totp(c.user);
  if (!t) {
    *err = fail(404, "not_found", "user '" + c.user + "' does not exist");
    return false;
  }
  if (t->enabled) {
    *err = fail(409, "conflict", "TOTP is already on; disable it first");
    return false;
  }
  auto s = new_totp_secret();
  if (s.empty()) {
    *err = fail(500, "internal", "no randomness");
    return false;
  }
  if (auto st = st_.api()->set_totp(c.user, seal(s), false); !st) {
    *err = fail(500, "internal", st.message());
    return false;
  }
  *secret = s;
  *uri = otpauth_uri(c.user, s);
  return true;
}

bool Credentials::totp_confirm(const Caller& c, const std::string& code, const std::string& ip, int64_t now,
                               AuthError* err) {
  return totp_switch(c, code, ip, now, true, err);
}

bool Credentials::totp_disable(const Caller& c, const std::string& code, const std::string& ip, int64_t now,
                               AuthError* err) {
  return totp_switch(c, code, ip, now, false, err);
}

// Confirm (on = true: the pending secret) or disable (on = false: the active one), with a code.
bool Credentials::totp_switch(const Caller& c, const std::string& code, const std::string& ip, int64_t now, bool on,
                              AuthError* err) {
  if (!c.cookie) {
    *err = fail(403, "forbidden", "permission denied: TOTP is changed from a console session, not with a token");
    return false;
  }
  auto t = st_.api()->totp(c.user);
  if (!t || t->secret.empty() || t->enabled == on) {
    *err = fail(409, "conflict", on ? (t && t->enabled ? "TOTP is already on" : "start with POST /api/v1/session/totp")
                                    : "TOTP is not on");
    return false;
  }
  if (!totp_check(c.user, t->secret, code, ip, now, err)) return false;
  if (auto st = st_.api()->set_totp(c.user, on ? t->secret : "", on); !st) {
    *err = fail(500, "internal", st.message());
    return false;
  }
  limiter_.success(c.user);
  return true;
}

void Credentials::logout(const Caller& c, int64_t now) {
  if (!c.session_hash.empty() && st_.api()) (void)st_.api()->revoke_session(c.session_hash, now);
}

bool Credentials::scope_of(const std::string& user, Caller* out, AuthError* err) {
  auto s = tenancy_.scope_for_user(user);
  if (!s) {
    *err = fail(401, "unauthorized", "the user no longer exists or is disabled");
    return false;
  }
  out->scope = *s;
  out->user = user;
  return true;
}

bool Credentials::identify(const std::string& authorization, const std::string& cookie_header, int64_t now,
                           Caller* out, AuthError* err) {
  auto* api = st_.api();
  if (!api) {
    *err = fail(500, "internal", "the store keeps no sessions");
    return false;
  }
  if (!authorization.empty()) {
    const std::string kBearer = "bearer ";
    std::string lowered = authorization.substr(0, kBearer.size());
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lowered != kBearer) {
      *err = fail(401, "unauthorized", "only Bearer tokens are accepted");
      return false;
    }
    std::string token = trim(authorization.substr(kBearer.size()));
    auto cred = token.empty() ? std::nullopt : api->find_token(hash_token(token), now);
    if (!cred) {
      *err = fail(401, "unauthorized", "unknown, revoked or expired token");
      return false;
    }
    Caller c;
    if (!scope_of(cred->user, &c, err)) return false;
    c.write = cred->write;
    c.token_id = cred->id;
    if (!cred->tenant.empty()) {
      // Narrow an operator's token to one tenant (as that tenant's administrator); others' tokens
      // were checked against their own tenant when created.
      if (c.scope.is_operator()) {
        c.scope = tenancy::Scope::admin(cred->tenant, c.user);
      } else if (c.scope.tenant != cred->tenant) {
        *err = fail(401, "unauthorized", "the token's tenant no longer matches its user");
        return false;
      }
    }
    if (!c.write && c.scope.role == tenancy::Role::Admin) c.scope.role = tenancy::Role::Auditor;
    *out = std::move(c);
    return true;
  }
  auto cookies = parse_cookies(cookie_header);
  auto it = cookies.find(kSessionCookie);
  if (it == cookies.end() || it->second.empty()) {
    *err = fail(401, "unauthorized", "log in first (no session)");
    return false;
  }
  auto h = hash_token(it->second);
  auto sess = api->find_session(h, now);
  if (!sess) {
    *err = fail(401, "unauthorized", "the session expired or was ended; log in again");
    return false;
  }
  Caller c;
  if (!scope_of(sess->user, &c, err)) return false;
  c.cookie = true;
  c.session_hash = h;
  c.csrf = csrf_for(it->second);
  *out = std::move(c);
  return true;
}

bool Credentials::create_token(const Caller& c, const std::string& label, const std::string& tenant, bool write,
                               int64_t ttl_s, int64_t now, std::string* secret, store::Credential* rec,
                               AuthError* err) {
  if (label.empty() || label.size() > 255) {
    *err = fail(400, "invalid", "label must be 1..255 characters");
    return false;
  }
  if (ttl_s < 1 || ttl_s > o_.token_max_ttl_s) {
    *err = fail(400, "invalid", "expires_in must be 1.." + std::to_string(o_.token_max_ttl_s) + " seconds");
    return false;
  }
  if (write && !c.write) {
    *err = fail(403, "forbidden", "permission denied: a read-only credential cannot create a write token");
    return false;
  }
  if (!tenant.empty()) {
    if (auto st = c.scope.can_read(tenant); !st) {
      *err = fail(403, "forbidden", st.message());
      return false;
    }
  }
  // A token created by a narrowed token stays as narrow.
  std::string t = tenant.empty() && !c.scope.is_operator() ? c.scope.tenant : tenant;
  if (c.token_id != 0 && c.scope.is_operator() == false && t != c.scope.tenant) t = c.scope.tenant;
  auto s = random_token();
  auto r = st_.api()->add_token(c.user, label, hash_token(s), t, write, now + ttl_s);
  if (!r) {
    *err = fail(400, "invalid", r.error());
    return false;
  }
  *secret = s;
  *rec = *r;
  return true;
}

std::vector<store::Credential> Credentials::tokens(const Caller& c) {
  return st_.api()->list_tokens(c.scope.is_operator() ? "" : c.user);
}

bool Credentials::revoke_token(const Caller& c, int64_t id, int64_t now, AuthError* err) {
  auto t = st_.api()->get_token(id);
  if (!t || (!c.scope.is_operator() && t->user != c.user)) {
    *err = fail(404, "not_found", "token " + std::to_string(id) + " does not exist");
    return false;
  }
  if (auto st = st_.api()->revoke_token(id, now); !st) {
    *err = fail(400, "invalid", st.message());
    return false;
  }
  return true;
}

}  // namespace mm::api
