import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { PostgresActivityStore } from '../store/activity-postgres.ts';
import { JsonLinesActivityStore } from './json-lines-store.ts';
import { ActivityLog, type ActivityLogOptions } from './log.ts';

const DAY_MS = 86_400_000;

/** The activity log beside the configured store: a table in PostgreSQL, else a JSON-lines side file. */
export async function openActivityLog(
  config: Pick<Config, 'databaseUrl' | 'dbPath' | 'logRetentionDays' | 'logMaxEntries'>,
  log: Logger,
  overrides: Partial<Omit<ActivityLogOptions, 'retentionMs' | 'maxEntries' | 'log'>> = {},
): Promise<ActivityLog> {
  const store = config.databaseUrl
    ? new PostgresActivityStore(config.databaseUrl)
    : await JsonLinesActivityStore.open(JsonLinesActivityStore.pathFor(config.dbPath), { maxEntries: config.logMaxEntries });
  return new ActivityLog(store, { retentionMs: config.logRetentionDays * DAY_MS, maxEntries: config.logMaxEntries, log, ...overrides });
}
