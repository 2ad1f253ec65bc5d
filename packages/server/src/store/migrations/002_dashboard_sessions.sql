-- Dashboard sign-ins, so that signing out revokes a session on every instance.
CREATE TABLE keyway_dashboard_sessions (
  id_hash     text PRIMARY KEY,
  record      jsonb NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX keyway_dashboard_sessions_expires_at ON keyway_dashboard_sessions (expires_at);
