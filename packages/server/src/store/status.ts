import type { Connection, RefreshCursor } from './types.ts';

/** Failures on this many distinct days since the last success: the connection needs a reconnect. */
export const EXHAUSTED_AFTER_DAYS = 4;
/** "expiring": the token is gone or goes within this window (it is renewed on the next read). */
export const EXPIRING_WITHIN_MS = 15 * 60_000;

export type ConnectionStatus = 'ok' | 'expiring' | 'refresh_failed' | 'exhausted';

/** A connection's health at a glance, for lists and filters (the dashboard, the CLI). */
export function connectionStatus(c: Connection, now = Date.now()): ConnectionStatus {
  const failure = c.last_refresh_failure;
  if (failure) return failure.days.length >= EXHAUSTED_AFTER_DAYS ? 'exhausted' : 'refresh_failed';
  const expiresAt = 'expires_at' in c.credentials ? c.credentials.expires_at : undefined;
  return expiresAt !== undefined && Date.parse(expiresAt) - now < EXPIRING_WITHIN_MS ? 'expiring' : 'ok';
}

/** Whether the connection id or the end user's id, email or name contains the text (any case). */
export function matchesSearch(c: Connection, text: string): boolean {
  const needle = text.toLowerCase();
  const u = c.end_user;
  return [c.connection_id, u?.id, u?.email, u?.display_name].some((s) => s?.toLowerCase().includes(needle));
}

/** When the connection's credentials were obtained (the flow or the last refresh); older records: their last update. */
export function obtainedAt(c: Connection): string {
  return ('obtained_at' in c.credentials && c.credentials.obtained_at) || c.updated_at;
}

/**
 * Whether background refresh should renew the connection now: an OAuth 2.0 refresh token (the kind
 * that dies unused) obtained before `obtainedBefore`, not backing off after a refused refresh, not
 * exhausted. Client-credentials tokens are minted on demand; API keys and passwords do not expire.
 */
export function refreshStale(c: Connection, obtainedBefore: number, now = Date.now()): boolean {
  const creds = c.credentials;
  if (creds.type !== 'OAUTH2' || !creds.refresh_token) return false;
  const f = c.last_refresh_failure;
  if (f && (f.days.length >= EXHAUSTED_AFTER_DAYS || Date.parse(f.backoff_until) > now)) return false;
  return Date.parse(obtainedAt(c)) < obtainedBefore;
}

/** A connection's position in background refresh's order. */
export const refreshCursor = (c: Connection): RefreshCursor => ({ staleSince: obtainedAt(c), providerConfigKey: c.provider_config_key, connectionId: c.connection_id });

/** Background refresh's order: oldest credentials first, then by config key and connection id. */
export function compareRefreshOrder(a: RefreshCursor, b: RefreshCursor): number {
  return Date.parse(a.staleSince) - Date.parse(b.staleSince) || cmp(a.providerConfigKey, b.providerConfigKey) || cmp(a.connectionId, b.connectionId);
}

/** Code-unit order (as PostgreSQL's "C" collation): the same in both stores whatever the locale. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order of lists, the same in every store: oldest first (by instant, whatever the ISO 8601
 * spelling), then by id in the ICU root collation (PostgreSQL's "und-x-icu", as in its ORDER BY).
 */
const rootCollation = new Intl.Collator('und');
export function compareConnections(a: Connection, b: Connection): number {
  return (
    Date.parse(a.created_at) - Date.parse(b.created_at) ||
    rootCollation.compare(a.connection_id, b.connection_id) ||
    rootCollation.compare(a.provider_config_key, b.provider_config_key)
  );
}
export function compareIntegrations(a: { created_at: string; unique_key: string }, b: { created_at: string; unique_key: string }): number {
  return Date.parse(a.created_at) - Date.parse(b.created_at) || rootCollation.compare(a.unique_key, b.unique_key);
}
