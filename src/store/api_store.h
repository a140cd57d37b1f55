// Persistence for the management API (issue 7): console sessions looked up and revoked by the
// hash of their cookie token, API tokens with a tenant, read/write access and expiry (only the
// hash of the secret is stored), and the audit log of every change made through the API. Plain
// records only: who may create or use what is decided in src/api.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::store {

struct Credential {
  int64_t id = 0;
  std::string user;    // login name
  std::string label;   // tokens: what the token is for
  std::string tenant;  // tokens: "" = the user's own scope
  bool write = false;  // tokens: may change things (sessions always true)
  int64_t created_at = 0, expires_at = 0, revoked_at = 0;  // unix s; tokens: expires_at 0 = never
};

struct AuditEntry {
  int64_t id = 0;
  int64_t ts = 0;  // unix s
  std::string actor, tenant, client_ip;
  std::string action;  // "PUT /api/v1/tenants/{tenant}/policies/{level}"
  std::string target;  // the ids the request named, e.g. "tenant=acme level=tenant"
  std::string before_json, after_json;  // JSON ("null" when there is nothing)
};

struct AuditQuery {
  std::string tenant;  // "" = any
  std::string actor;   // "" = any
  int64_t since = 0, until = 0;  // 0 = open
  int64_t before_id = 0;         // only entries with a smaller id (paging); 0 = none
  size_t limit = 100;
};

// Mail statistics for the dashboard, from the message summaries (one per scanned message) and
// the tracking events (recipients refused before DATA).
struct StatsQuery {
  std::string tenant;        // "" = every tenant
  int64_t from = 0, to = 0;  // unix s, [from, to); from is aligned to bucket_s by the caller
  int64_t bucket_s = 3600;
  size_t top = 10;           // rows of each top list
};
struct StatsBucket {
  int64_t t = 0;  // the bucket's start, unix s
  int64_t total = 0, clean = 0, bulk = 0, spam = 0, phishing = 0, malware = 0, unscannable = 0;
  int64_t rejected = 0;     // messages refused after DATA (every recipient's policy rejected it)
  int64_t quarantined = 0;  // messages held for at least one recipient
  int64_t refused = 0;      // recipients refused before DATA (connection control, unknown users)
};
struct StatsCount {
  std::string key;
  int64_t count = 0;
};
struct MailStats {
  std::vector<StatsBucket> series;  // one per bucket from..to, zeros included
  std::vector<StatsCount> top_blocked_senders, top_blocked_ips;  // rejected or quarantined messages
};

// A console user's TOTP second factor (RFC 6238). The secret is kept as its base32 text; it is
// pending (enabled false) from enrolment until the first code confirms it.
struct TotpState {
  std::string secret;      // "" = none
  bool enabled = false;
  int64_t last_step = 0;   // the newest time step a code was accepted for (never accepted again)
};

class ApiStore {
 public:
  virtual ~ApiStore() = default;
  // A live (not revoked, not expired) session by token hash.
  virtual std::optional<Credential> find_session(const std::string& token_hash, int64_t now) = 0;
  virtual Status revoke_session(const std::string& token_hash, int64_t now) = 0;
  virtual Result<Credential> add_token(const std::string& user, const std::string& label, const std::string& token_hash,
                                       const std::string& tenant, bool write, int64_t expires_at) = 0;
  // A live token by hash (its user must exist; enabled-ness is checked by the caller).
  virtual std::optional<Credential> find_token(const std::string& token_hash, int64_t now) = 0;
  virtual std::optional<Credential> get_token(int64_t id) = 0;
  virtual std::vector<Credential> list_tokens(const std::string& user) = 0;  // "" = every user's
  // Idempotent: revoking a revoked token succeeds; unknown id is an error.
  virtual Status revoke_token(int64_t id, int64_t now) = 0;
  virtual Status add_audit(const AuditEntry&) = 0;
  virtual std::vector<AuditEntry> audit(const AuditQuery&) = 0;  // newest first
  virtual MailStats mail_stats(const StatsQuery&) = 0;
  // nullopt: no such user.
  virtual std::optional<TotpState> totp(const std::string& user) = 0;
  // Replaces the secret and state (secret "" and false = off); last_step is kept.
  virtual Status set_totp(const std::string& user, const std::string& secret, bool enabled) = 0;
  // Records step as used when it is newer than the last used one; false (nothing changed) when not.
  virtual bool use_totp_step(const std::string& user, int64_t step) = 0;
};

}  // namespace mm::store
