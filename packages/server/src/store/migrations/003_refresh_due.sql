-- Background refresh chooses its work in the database (store/postgres.ts listRefreshDue): which
-- connections hold a refresh token, and since when their credentials are unchanged, in columns
-- beside the sealed credentials, so connections that are not due are never decrypted.
-- Rows written before this migration have NULLs: they are judged by updated_at, and opened to
-- check for a refresh token, until their next write fills the columns.
ALTER TABLE keyway_connections ADD COLUMN obtained_at timestamptz;      -- credentials.obtained_at
ALTER TABLE keyway_connections ADD COLUMN has_refresh_token boolean;    -- OAUTH2 with a refresh token
CREATE INDEX keyway_connections_refresh_due ON keyway_connections ((coalesce(obtained_at, updated_at)), provider_config_key COLLATE "C", connection_id COLLATE "C")
  WHERE auth_type = 'OAUTH2' AND has_refresh_token IS NOT FALSE;
