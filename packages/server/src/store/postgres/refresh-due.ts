import { EXHAUSTED_AFTER_DAYS } from '../status.ts';
import type { Credentials } from '../types.ts';

/**
 * Background refresh's query in PostgreSQL (migration 002): the columns it reads beside the sealed
 * credentials, and the statement that picks one batch of due connections by index, in the order of
 * status.ts compareRefreshOrder (keys in code-unit order: COLLATE "C").
 */

/** The plaintext facts about `credentials` that background refresh selects on (no secret among them). */
export function refreshColumns(credentials: Credentials): { obtained_at: string | null; has_refresh_token: boolean } {
  const obtained = 'obtained_at' in credentials && credentials.obtained_at ? Date.parse(credentials.obtained_at) : NaN;
  return {
    obtained_at: Number.isNaN(obtained) ? null : new Date(obtained).toISOString(),
    has_refresh_token: credentials.type === 'OAUTH2' && Boolean(credentials.refresh_token),
  };
}

const STALE_SINCE = 'coalesce(obtained_at, updated_at)';

/**
 * The rows (and each one's `stale_since`, the cursor's first part). `$1` obtained before, `$2` now, `$3..$5` the cursor (stale-since, config key, connection id; nulls
 * for the first batch), `$6` the limit. Rows from before migration 002 (has_refresh_token NULL) are
 * candidates; the caller opens them and keeps those status.ts refreshStale accepts.
 */
export function refreshDueQuery(columns: string): string {
  return `SELECT ${columns}, ${STALE_SINCE} AS stale_since FROM keyway_connections
    WHERE auth_type = 'OAUTH2' AND has_refresh_token IS NOT FALSE
      AND ${STALE_SINCE} < $1
      AND (last_refresh_failure IS NULL OR (jsonb_array_length(last_refresh_failure -> 'days') < ${EXHAUSTED_AFTER_DAYS}
           AND (last_refresh_failure ->> 'backoff_until')::timestamptz <= $2))
      AND ($3::timestamptz IS NULL OR (${STALE_SINCE}, provider_config_key COLLATE "C", connection_id COLLATE "C") > ($3::timestamptz, $4::text COLLATE "C", $5::text COLLATE "C"))
    ORDER BY ${STALE_SINCE}, provider_config_key COLLATE "C", connection_id COLLATE "C"
    LIMIT $6`;
}
