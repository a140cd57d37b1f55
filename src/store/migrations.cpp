#include "store/migrations.h"

namespace mm::store {
namespace {

// Standard SQL types only; ids are INTEGER PRIMARY KEY (a PostgreSQL backend uses identity
// columns with the same names).
constexpr Migration kMigrations[] = {
    {1, "config schema", R"sql(
CREATE TABLE config_generation (
  id INTEGER PRIMARY KEY,
  generation BIGINT NOT NULL
);
INSERT INTO config_generation (id, generation) VALUES (1, 0);
CREATE TABLE tenants (
  id INTEGER PRIMARY KEY,
  name VARCHAR(63) NOT NULL UNIQUE,
  display_name VARCHAR(255) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at BIGINT NOT NULL
);
CREATE TABLE domains (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name VARCHAR(253) NOT NULL UNIQUE,
  recipient_validation BOOLEAN NOT NULL DEFAULT FALSE,
  tls VARCHAR(16) NOT NULL DEFAULT 'opportunistic' CHECK (tls IN ('none', 'opportunistic', 'required')),
  created_at BIGINT NOT NULL
);
CREATE INDEX domains_tenant ON domains (tenant_id);
CREATE TABLE routes (
  id INTEGER PRIMARY KEY,
  domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  host VARCHAR(255) NOT NULL,
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  preference INTEGER NOT NULL CHECK (preference BETWEEN 0 AND 65535)
);
CREATE INDEX routes_domain ON routes (domain_id);
CREATE TABLE recipients (
  id INTEGER PRIMARY KEY,
  domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
  address VARCHAR(320) NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX recipients_domain ON recipients (domain_id);
)sql"},
    {2, "message tracking", R"sql(
CREATE TABLE tracking_events (
  id INTEGER PRIMARY KEY,
  queue_id VARCHAR(64) NOT NULL,
  ts_us BIGINT NOT NULL,
  event VARCHAR(16) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  detail TEXT NOT NULL,
  tenant VARCHAR(63) NOT NULL
);
CREATE INDEX tracking_queue_id ON tracking_events (queue_id);
CREATE INDEX tracking_recipient ON tracking_events (recipient, ts_us);
CREATE INDEX tracking_tenant_ts ON tracking_events (tenant, ts_us);
CREATE INDEX tracking_ts ON tracking_events (ts_us);
)sql"},
    {3, "named blobs (trained models)", R"sql(
CREATE TABLE blobs (
  name VARCHAR(128) PRIMARY KEY,
  data BLOB NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
    {4, "link block lists and protected names", R"sql(
CREATE TABLE url_blocks (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER REFERENCES tenants (id) ON DELETE CASCADE,
  entry VARCHAR(253) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX url_blocks_entry ON url_blocks (COALESCE(tenant_id, 0), entry);
CREATE TABLE protected_names (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (tenant_id, name)
);
)sql"},
    {5, "tenancy: contracts, accounts, users, security events", R"sql(
ALTER TABLE tenants ADD COLUMN suspended_outbound BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN suspend_reason VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN suspended_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN contact_name VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN contact_email VARCHAR(320) NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN contact_phone VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN licensed_accounts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN term_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN term_end BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN account_list BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN quarantine_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE tenants ADD COLUMN tracking_days INTEGER NOT NULL DEFAULT 90;
ALTER TABLE tenants ADD COLUMN approve_unauthenticated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN user_release VARCHAR(255) NOT NULL DEFAULT 'spam,bulk,blocked,dmarc_fail';
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  display_name VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX accounts_tenant ON accounts (tenant_id);
CREATE TABLE account_addresses (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  address VARCHAR(320) NOT NULL UNIQUE,
  is_primary BOOLEAN NOT NULL
);
CREATE INDEX account_addresses_account ON account_addresses (account_id);
CREATE TABLE seen_accounts (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  address VARCHAR(320) NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  UNIQUE (tenant_id, address)
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name VARCHAR(320) NOT NULL UNIQUE,
  tenant_id INTEGER REFERENCES tenants (id) ON DELETE CASCADE,
  role VARCHAR(16) NOT NULL CHECK (role IN ('operator', 'admin', 'auditor', 'user')),
  account VARCHAR(320) NOT NULL DEFAULT '',
  password_hash VARCHAR(255) NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL
);
CREATE TABLE user_sessions (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash VARCHAR(128) NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label VARCHAR(255) NOT NULL,
  token_hash VARCHAR(128) NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE security_events (
  id INTEGER PRIMARY KEY,
  ts BIGINT NOT NULL,
  tenant VARCHAR(63) NOT NULL,
  kind VARCHAR(64) NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX security_events_tenant ON security_events (tenant, ts);
)sql"},
    {6, "policies and sender lists", R"sql(
CREATE TABLE policies (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  level VARCHAR(16) NOT NULL CHECK (level IN ('tenant', 'domain', 'account', 'rules')),
  target VARCHAR(320) NOT NULL,
  spec TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (tenant_id, level, target)
);
CREATE TABLE sender_lists (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  owner VARCHAR(320) NOT NULL,
  kind VARCHAR(8) NOT NULL CHECK (kind IN ('allow', 'block')),
  pattern VARCHAR(320) NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by VARCHAR(320) NOT NULL,
  UNIQUE (tenant_id, owner, kind, pattern)
);
)sql"},
    {7, "quarantine index", R"sql(
CREATE TABLE quarantine (
  id VARCHAR(32) PRIMARY KEY,
  tenant VARCHAR(63) NOT NULL,
  queue_id VARCHAR(64) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  sender VARCHAR(320) NOT NULL,
  subject TEXT NOT NULL,
  message_id TEXT NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  verdict VARCHAR(16) NOT NULL,
  score_milli BIGINT NOT NULL,
  reason VARCHAR(64) NOT NULL,
  symbols TEXT NOT NULL,
  path TEXT NOT NULL,
  size BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  acted_at BIGINT NOT NULL DEFAULT 0,
  acted_by VARCHAR(320) NOT NULL DEFAULT ''
);
CREATE INDEX quarantine_tenant ON quarantine (tenant, status, received_at);
CREATE INDEX quarantine_recipient ON quarantine (recipient, received_at);
CREATE INDEX quarantine_expiry ON quarantine (status, expires_at);
CREATE INDEX quarantine_path ON quarantine (path);
)sql"},
    {8, "message summaries for tracking search", R"sql(
CREATE TABLE message_summaries (
  id INTEGER PRIMARY KEY,
  queue_id VARCHAR(64) NOT NULL,
  tenant VARCHAR(63) NOT NULL,
  ts_us BIGINT NOT NULL,
  sender VARCHAR(320) NOT NULL,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  message_id TEXT NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  verdict VARCHAR(16) NOT NULL,
  score_milli BIGINT NOT NULL,
  action VARCHAR(255) NOT NULL
);
CREATE INDEX summaries_tenant_ts ON message_summaries (tenant, ts_us);
CREATE INDEX summaries_queue_id ON message_summaries (queue_id);
CREATE INDEX summaries_ts ON message_summaries (ts_us);
)sql"},
    {9, "connection control: allow lists and tenant strictness", R"sql(
CREATE TABLE reputation_allow (
  id INTEGER PRIMARY KEY,
  tenant VARCHAR(63) NOT NULL,
  pattern VARCHAR(300) NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reputation_allow_entry ON reputation_allow (tenant, pattern);
CREATE TABLE reputation_tenants (
  tenant VARCHAR(63) PRIMARY KEY,
  level VARCHAR(16) NOT NULL DEFAULT '',
  greylist INTEGER NOT NULL DEFAULT 0
);
)sql"},
    {10, "API tokens with scope and expiry, and the API audit log", R"sql(
ALTER TABLE api_tokens ADD COLUMN tenant VARCHAR(63) NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN access VARCHAR(8) NOT NULL DEFAULT 'read';
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE api_audit (
  id INTEGER PRIMARY KEY,
  ts BIGINT NOT NULL,
  actor VARCHAR(320) NOT NULL,
  tenant VARCHAR(63) NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  action VARCHAR(255) NOT NULL,
  target TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL
);
CREATE INDEX api_audit_tenant_ts ON api_audit (tenant, ts);
CREATE INDEX api_audit_ts ON api_audit (ts);
)sql"},
    {11, "attachment names and SHA-256 in message summaries; attachment policy overrides", R"sql(
ALTER TABLE message_summaries ADD COLUMN attachment_names TEXT NOT NULL DEFAULT '';
ALTER TABLE message_summaries ADD COLUMN attachment_sha256 TEXT NOT NULL DEFAULT '';
-- A tenant's attachment type overrides are a policy row of level 'attachments'.
CREATE TABLE policies_v11 (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  level VARCHAR(16) NOT NULL CHECK (level IN ('tenant', 'domain', 'account', 'rules', 'attachments')),
  target VARCHAR(320) NOT NULL,
  spec TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (tenant_id, level, target)
);
INSERT INTO policies_v11 (id, tenant_id, level, target, spec, updated_at)
  SELECT id, tenant_id, level, target, spec, updated_at FROM policies;
DROP TABLE policies;
ALTER TABLE policies_v11 RENAME TO policies;
)sql"},
    {12, "covering indexes of message summaries for the dashboard's statistics", R"sql(
-- (tenant, ts_us) and (ts_us) searches use these as well as the indexes they replace.
DROP INDEX summaries_tenant_ts;
DROP INDEX summaries_ts;
CREATE INDEX summaries_stats_tenant ON message_summaries (tenant, ts_us, verdict, action);
CREATE INDEX summaries_stats ON message_summaries (ts_us, verdict, action);
-- Rejected or quarantined messages only, for the top blocked senders and addresses (the WHERE
-- must stay the same text as the query's, src/store/sqlite_api.cpp mail_stats).
CREATE INDEX summaries_blocked ON message_summaries (ts_us, sender, client_ip, action)
  WHERE (action LIKE 'reject:%' OR action LIKE '%quarantine:%');
CREATE INDEX summaries_blocked_tenant ON message_summaries (tenant, ts_us, sender, client_ip, action)
  WHERE (action LIKE 'reject:%' OR action LIKE '%quarantine:%');
-- Recipients refused before DATA, per bucket: a small partial index.
CREATE INDEX tracking_refused ON tracking_events (ts_us, tenant) WHERE event = 'refused';
CREATE INDEX tracking_refused_tenant ON tracking_events (tenant, ts_us) WHERE event = 'refused';
)sql"},
    {13, "TOTP second factor of console users", R"sql(
ALTER TABLE users ADD COLUMN totp_secret VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
)sql"},
    {14, "hourly rollup of message summaries for the dashboard's statistics", R"sql(
-- One row per tenant and UTC hour (unix seconds, floor of ts_us), kept exact by the triggers
-- below; the counts use the same expressions as the direct query over message_summaries
-- (src/store/sqlite_api.cpp mail_stats). Rows that fall to zero (retention) are removed.
CREATE TABLE stats_hourly (
  tenant VARCHAR(63) NOT NULL,
  hour BIGINT NOT NULL,
  total BIGINT NOT NULL DEFAULT 0,
  clean BIGINT NOT NULL DEFAULT 0,
  bulk BIGINT NOT NULL DEFAULT 0,
  spam BIGINT NOT NULL DEFAULT 0,
  phishing BIGINT NOT NULL DEFAULT 0,
  malware BIGINT NOT NULL DEFAULT 0,
  unscannable BIGINT NOT NULL DEFAULT 0,
  rejected BIGINT NOT NULL DEFAULT 0,
  quarantined BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, hour)
) WITHOUT ROWID;
CREATE INDEX stats_hourly_hour ON stats_hourly (hour);
INSERT INTO stats_hourly (tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined)
  SELECT m.tenant, (m.ts_us / 3600000000 - (m.ts_us < 0 AND m.ts_us % 3600000000 <> 0)) * 3600, COUNT(*), SUM(m.verdict = 'clean'), SUM(m.verdict = 'bulk'),
         SUM(m.verdict = 'spam'), SUM(m.verdict = 'phishing'), SUM(m.verdict = 'malware'),
         SUM(m.verdict = 'unscannable'), SUM(m.action LIKE 'reject:%'), SUM(m.action LIKE '%quarantine:%')
  FROM message_summaries AS m WHERE true GROUP BY 1, 2;
CREATE TRIGGER stats_hourly_insert AFTER INSERT ON message_summaries BEGIN
  INSERT INTO stats_hourly (tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined)
    VALUES (NEW.tenant, (NEW.ts_us / 3600000000 - (NEW.ts_us < 0 AND NEW.ts_us % 3600000000 <> 0)) * 3600,
            1, (NEW.verdict = 'clean'), (NEW.verdict = 'bulk'), (NEW.verdict = 'spam'), (NEW.verdict = 'phishing'), (NEW.verdict = 'malware'), (NEW.verdict = 'unscannable'), (NEW.action LIKE 'reject:%'), (NEW.action LIKE '%quarantine:%'))
    ON CONFLICT (tenant, hour) DO UPDATE SET
      total = total + excluded.total, clean = clean + excluded.clean, bulk = bulk + excluded.bulk, spam = spam + excluded.spam, phishing = phishing + excluded.phishing, malware = malware + excluded.malware, unscannable = unscannable + excluded.unscannable, rejected = rejected + excluded.rejected, quarantined = quarantined + excluded.quarantined;
END;
CREATE TRIGGER stats_hourly_delete AFTER DELETE ON message_summaries BEGIN
  INSERT INTO stats_hourly (tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined)
    VALUES (OLD.tenant, (OLD.ts_us / 3600000000 - (OLD.ts_us < 0 AND OLD.ts_us % 3600000000 <> 0)) * 3600,
            -1, -(OLD.verdict = 'clean'), -(OLD.verdict = 'bulk'), -(OLD.verdict = 'spam'), -(OLD.verdict = 'phishing'), -(OLD.verdict = 'malware'), -(OLD.verdict = 'unscannable'), -(OLD.action LIKE 'reject:%'), -(OLD.action LIKE '%quarantine:%'))
    ON CONFLICT (tenant, hour) DO UPDATE SET
      total = total + excluded.total, clean = clean + excluded.clean, bulk = bulk + excluded.bulk, spam = spam + excluded.spam, phishing = phishing + excluded.phishing, malware = malware + excluded.malware, unscannable = unscannable + excluded.unscannable, rejected = rejected + excluded.rejected, quarantined = quarantined + excluded.quarantined;
  DELETE FROM stats_hourly WHERE tenant = OLD.tenant AND hour = (OLD.ts_us / 3600000000 - (OLD.ts_us < 0 AND OLD.ts_us % 3600000000 <> 0)) * 3600 AND total = 0;
END;
CREATE TRIGGER stats_hourly_update AFTER UPDATE OF tenant, ts_us, verdict, action ON message_summaries
  WHEN OLD.tenant IS NOT NEW.tenant OR OLD.ts_us IS NOT NEW.ts_us OR OLD.verdict IS NOT NEW.verdict
    OR OLD.action IS NOT NEW.action BEGIN
  INSERT INTO stats_hourly (tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined)
    VALUES (OLD.tenant, (OLD.ts_us / 3600000000 - (OLD.ts_us < 0 AND OLD.ts_us % 3600000000 <> 0)) * 3600,
            -1, -(OLD.verdict = 'clean'), -(OLD.verdict = 'bulk'), -(OLD.verdict = 'spam'), -(OLD.verdict = 'phishing'), -(OLD.verdict = 'malware'), -(OLD.verdict = 'unscannable'), -(OLD.action LIKE 'reject:%'), -(OLD.action LIKE '%quarantine:%'))
    ON CONFLICT (tenant, hour) DO UPDATE SET
      total = total + excluded.total, clean = clean + excluded.clean, bulk = bulk + excluded.bulk, spam = spam + excluded.spam, phishing = phishing + excluded.phishing, malware = malware + excluded.malware, unscannable = unscannable + excluded.unscannable, rejected = rejected + excluded.rejected, quarantined = quarantined + excluded.quarantined;
  INSERT INTO stats_hourly (tenant, hour, total, clean, bulk, spam, phishing, malware, unscannable, rejected, quarantined)
    VALUES (NEW.tenant, (NEW.ts_us / 3600000000 - (NEW.ts_us < 0 AND NEW.ts_us % 3600000000 <> 0)) * 3600,
            1, (NEW.verdict = 'clean'), (NEW.verdict = 'bulk'), (NEW.verdict = 'spam'), (NEW.verdict = 'phishing'), (NEW.verdict = 'malware'), (NEW.verdict = 'unscannable'), (NEW.action LIKE 'reject:%'), (NEW.action LIKE '%quarantine:%'))
    ON CONFLICT (tenant, hour) DO UPDATE SET
      total = total + excluded.total, clean = clean + excluded.clean, bulk = bulk + excluded.bulk, spam = spam + excluded.spam, phishing = phishing + excluded.phishing, malware = malware + excluded.malware, unscannable = unscannable + excluded.unscannable, rejected = rejected + excluded.rejected, quarantined = quarantined + excluded.quarantined;
  DELETE FROM stats_hourly WHERE tenant = OLD.tenant AND hour = (OLD.ts_us / 3600000000 - (OLD.ts_us < 0 AND OLD.ts_us % 3600000000 <> 0)) * 3600 AND total = 0;
END;
)sql"},
};

}  // namespace

std::span<const Migration> sqlite_migrations() { return kMigrations; }

}  // namespace mm::store
