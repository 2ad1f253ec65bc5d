import type { Connection } from './types.ts';

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
