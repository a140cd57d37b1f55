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
};

}  // namespace

std::span<const Migration> sqlite_migrations() { return kMigrations; }

}  // namespace mm::store
