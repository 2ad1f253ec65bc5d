-- The activity log (activity/ and store/activity-postgres.ts): one row per entry, newest first by
-- id (time-ordered text, so compared in the "C" collation). The filters of GET /logs each have an
-- index ending in id, so a page is an index range scan; `at` has one for the retention delete.
CREATE TABLE keyway_activity (
  id                   text COLLATE "C" PRIMARY KEY,
  at                   timestamptz NOT NULL,
  type                 text NOT NULL,
  outcome              text NOT NULL,
  provider_config_key  text,
  connection_id        text,
  entry                jsonb NOT NULL
);
CREATE INDEX keyway_activity_at ON keyway_activity (at);
CREATE INDEX keyway_activity_connection ON keyway_activity (provider_config_key, connection_id, id);
CREATE INDEX keyway_activity_connection_id ON keyway_activity (connection_id, id);
CREATE INDEX keyway_activity_type ON keyway_activity (type, id);
