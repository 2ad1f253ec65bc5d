-- Keyway's PostgreSQL schema, version 1. Applied once by store/migrate.ts, inside a transaction.
-- Secrets (client secrets, credentials, PKCE verifiers) are JWE strings sealed by store/codec.ts,
-- bound to the record's identity: the database never holds them in plaintext.
-- Record fields without a column of their own (added to the records after this migration) are
-- kept in `other_fields`, so nothing a newer record carries is dropped on the way.
-- Ordering and search use the ICU root collation ("und-x-icu"), the order and case mapping of
-- JavaScript's localeCompare / toLowerCase that the JSON file adapter uses.

CREATE TABLE keyway_integrations (
  unique_key     text PRIMARY KEY,
  provider       text NOT NULL,
  display_name   text NOT NULL,
  client_id      text NOT NULL,
  client_secret  text NOT NULL,            -- JWE
  scopes         jsonb NOT NULL,
  other_fields   jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);

-- No foreign key to keyway_integrations: like the JSON file, a connection is stored whatever its
-- integration; deleting an integration deletes its connections in the same transaction.
CREATE TABLE keyway_connections (
  provider_config_key   text NOT NULL,
  connection_id         text NOT NULL,
  id                    text NOT NULL,
  provider              text NOT NULL,
  auth_type             text NOT NULL,     -- credentials.type, for filters without decrypting
  credentials           text NOT NULL,     -- JWE of the credentials JSON
  expires_at            timestamptz,       -- credentials.expires_at, for the status filter
  connection_config     jsonb NOT NULL,
  metadata              jsonb NOT NULL,
  end_user              jsonb,
  last_refresh_failure  jsonb,
  other_fields          jsonb NOT NULL DEFAULT '{}',
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (provider_config_key, connection_id)
);
-- Lists: oldest first, ties by connection id; per integration, and across all.
CREATE INDEX keyway_connections_key_order ON keyway_connections (provider_config_key, created_at, connection_id COLLATE "und-x-icu");
CREATE INDEX keyway_connections_order ON keyway_connections (created_at, connection_id COLLATE "und-x-icu", provider_config_key COLLATE "und-x-icu");
CREATE INDEX keyway_connections_connection_id ON keyway_connections (connection_id);
CREATE INDEX keyway_connections_end_user_id ON keyway_connections ((end_user ->> 'id'));
-- status=expiring: tokens that end soon (connections without a refresh failure).
CREATE INDEX keyway_connections_expires_at ON keyway_connections (expires_at) WHERE last_refresh_failure IS NULL;

-- Started connect flows, keyed by the SHA-256 of `state`; `record` holds the flow (verifier sealed).
CREATE TABLE keyway_flows (
  state_hash  text PRIMARY KEY,
  record      jsonb NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX keyway_flows_expires_at ON keyway_flows (expires_at);

-- Flow outcomes for the SDK's long-poll, keyed by the SHA-256 of the flow id. Never hold a token.
CREATE TABLE keyway_outcomes (
  flow_id_hash  text PRIMARY KEY,
  record        jsonb NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX keyway_outcomes_expires_at ON keyway_outcomes (expires_at);

-- Connect sessions, keyed by the SHA-256 of the session token (the token itself is never stored).
CREATE TABLE keyway_sessions (
  token_hash  text PRIMARY KEY,
  record      jsonb NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX keyway_sessions_expires_at ON keyway_sessions (expires_at);
