/**
 * The activity log's vocabulary: what happened to a connection (connect flow, refresh, webhook,
 * proxied call, API-key verification), as an operator reads it. An entry never holds a token, a
 * secret or a query string: only names, codes, statuses and timings.
 */
export const ACTIVITY_TYPES = ['connect', 'refresh', 'webhook', 'proxy', 'verification'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];
export const ACTIVITY_OUTCOMES = ['success', 'failure', 'info'] as const;
export type ActivityOutcome = (typeof ACTIVITY_OUTCOMES)[number];

/** An outbound HTTP exchange, as the log shows it: the path never carries its query values. */
export interface ActivityHttp {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly duration_ms: number;
  readonly retries?: number;
  readonly attempts?: number;
}

export interface ActivityError {
  /** Our code (`token_err`, `refresh_failed`, …). */
  readonly code: string;
  readonly message: string;
  /** The provider's own error code (`invalid_grant`, `access_denied`, …), when it gave one. */
  readonly provider_error?: string;
}

/** What a caller records; the log adds `id` and `at`. */
export interface NewActivity {
  readonly type: ActivityType;
  /** What happened within the type: `started`, `succeeded`, `failed`, `refreshed`, `backoff`, `exhausted`, `delivered`, … */
  readonly action: string;
  readonly outcome: ActivityOutcome;
  readonly provider_config_key?: string | null;
  readonly connection_id?: string | null;
  readonly message: string;
  readonly error?: ActivityError;
  readonly http?: ActivityHttp;
}

export interface ActivityEntry extends Required<Pick<NewActivity, 'type' | 'action' | 'outcome' | 'message'>> {
  /** Time-ordered (sorts as text by time, then by a random tail): the paging cursor is built on it. */
  readonly id: string;
  /** ISO 8601. */
  readonly at: string;
  readonly provider_config_key: string | null;
  readonly connection_id: string | null;
  /** The id of the HTTP request that caused it (`X-Request-Id`, and on its log lines); none for background work. */
  readonly request_id?: string;
  readonly error?: ActivityError;
  readonly http?: ActivityHttp;
}

export interface ActivityQuery {
  readonly provider_config_key?: string;
  readonly connection_id?: string;
  readonly type?: ActivityType;
  readonly outcome?: ActivityOutcome;
  /** Inclusive bounds on `at` (ms since the epoch). */
  readonly from?: number;
  readonly to?: number;
  /** Only entries with an id below this one (the next, older page)... */
  readonly before?: string;
  /** ...or only entries with an id above it (following new entries). */
  readonly after?: string;
  readonly limit: number;
}

/**
 * Where entries live: a JSON-lines side file, or a PostgreSQL table. `query` answers newest first;
 * with `after`, the `limit` oldest entries above it (so a follower misses none), still newest first.
 */
export interface ActivityStore {
  append(entries: readonly ActivityEntry[]): Promise<void>;
  query(q: ActivityQuery): Promise<ActivityEntry[]>;
  /** Deletes entries older than `before` (ms) and all but the newest `maxEntries`; returns how many went. */
  trim(before: number, maxEntries: number): Promise<number>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Keeps entries in order within one store: time first, then a random tail against equal times. */
export function activityId(atMs: number, tail: string): string {
  return `${atMs.toString().padStart(14, '0')}-${tail}`;
}

export function matches(e: ActivityEntry, q: ActivityQuery): boolean {
  if (q.provider_config_key !== undefined && e.provider_config_key !== q.provider_config_key) return false;
  if (q.connection_id !== undefined && e.connection_id !== q.connection_id) return false;
  if (q.type !== undefined && e.type !== q.type) return false;
  if (q.outcome !== undefined && e.outcome !== q.outcome) return false;
  if (q.before !== undefined && !(e.id < q.before)) return false;
  if (q.after !== undefined && !(e.id > q.after)) return false;
  const at = Date.parse(e.at);
  if (q.from !== undefined && at < q.from) return false;
  if (q.to !== undefined && at > q.to) return false;
  return true;
}
