import type { OAuth2Tokens } from '../oauth/client.ts';
import type { OAuth2Credentials } from '../store/types.ts';

/**
 * Credentials from a token response. A refresh response without a refresh token keeps the
 * previous one (Nango #298: losing it ends the connection). Without `expires_in`, the template's
 * default lifetime applies, if it has one; otherwise the token never expires.
 */
export function credentialsFrom(tokens: OAuth2Tokens, previous?: OAuth2Credentials, defaultExpiresIn?: number): OAuth2Credentials {
  const raw = tokens.data as Record<string, unknown>;
  const refreshToken = tokens.hasRefreshToken() ? tokens.refreshToken() : previous?.refresh_token;
  const now = Date.now();
  // Some providers send expires_in as a string; a missing or unusable one means "no expiry".
  const given = Number(raw.expires_in);
  const expiresIn = Number.isFinite(given) && given > 0 ? given : defaultExpiresIn;
  return {
    type: 'OAUTH2',
    access_token: tokens.accessToken(),
    ...(refreshToken !== undefined && { refresh_token: refreshToken }),
    ...(expiresIn !== undefined && { expires_at: new Date(now + expiresIn * 1000).toISOString() }),
    obtained_at: new Date(now).toISOString(),
    raw,
  };
}

/** True when the token is gone or goes within `marginMs`. A token without expiry never expires. */
export function expiresWithin(credentials: OAuth2Credentials, marginMs: number, now = Date.now()): boolean {
  return credentials.expires_at !== undefined && Date.parse(credentials.expires_at) - now < marginMs;
}

/**
 * Whether to refresh before handing the token out: within `marginMs` of expiry, or within half its
 * lifetime for tokens shorter-lived than twice the margin (else a 60-second token would be
 * refreshed on every read).
 */
export function refreshDue(credentials: OAuth2Credentials, marginMs: number, now = Date.now()): boolean {
  if (credentials.expires_at === undefined) return false;
  const lifetimeMs = credentials.obtained_at ? Date.parse(credentials.expires_at) - Date.parse(credentials.obtained_at) : Number(credentials.raw.expires_in) * 1000;
  const margin = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? Math.min(marginMs, lifetimeMs / 2) : marginMs;
  return expiresWithin(credentials, margin, now);
}
