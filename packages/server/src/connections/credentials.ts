import { decodeJwt } from 'jose';
import { KeywayError } from '../errors.ts';
import { OAuth2Tokens } from '../oauth/client.ts';
import type { ClientCredentials, OAuth2Credentials, TokenCredentials } from '../store/types.ts';
import { readPath } from './metadata.ts';
import { isRecord } from '../primitives.ts';

/** The tokens of a response whose token fields are nested (Slack user tokens: `authed_user`). */
export function tokensAt(tokens: OAuth2Tokens, path: string | undefined): OAuth2Tokens {
  if (!path) return tokens;
  const nested = readPath(tokens.data, path);
  // Some providers nest the tokens in the first response only (Slack answers a refresh at the top level).
  return isRecord(nested) ? new OAuth2Tokens(nested) : tokens;
}

/**
 * Credentials from a token response. A refresh response without a refresh token keeps the
 * previous one (Nango #298: losing it ends the connection). Without `expires_in`, an `expires_at` in the
 * answer, else a JWT access token's own `exp` says when it expires (monday.com's OAuth 2.1 tokens carry only that), else the template's
 * default lifetime applies, if it has one; otherwise the token never expires.
 */
export function credentialsFrom(
  response: OAuth2Tokens,
  options: { previous?: OAuth2Credentials; defaultExpiresIn?: number; tokenPath?: string } = {},
): OAuth2Credentials {
  const tokens = tokensAt(response, options.tokenPath);
  const refreshToken = tokens.hasRefreshToken() ? tokens.refreshToken() : options.previous?.refresh_token;
  return {
    type: 'OAUTH2',
    access_token: accessToken(tokens),
    ...(refreshToken !== undefined && { refresh_token: refreshToken }),
    ...expiry(tokens, options.defaultExpiresIn),
    raw: response.data as Record<string, unknown>,
  };
}

/** A client-credentials token, with what re-minting it needs. */
export function clientCredentialsFrom(response: OAuth2Tokens, client: { client_id: string; client_secret: string; scopes: readonly string[] }, defaultExpiresIn?: number): ClientCredentials {
  return {
    type: 'OAUTH2_CC',
    access_token: accessToken(response),
    ...expiry(response, defaultExpiresIn),
    client_id: client.client_id,
    client_secret: client.client_secret,
    scopes: client.scopes,
    raw: response.data as Record<string, unknown>,
  };
}

function accessToken(tokens: OAuth2Tokens): string {
  try {
    return tokens.accessToken();
  } catch {
    throw new KeywayError('token_err', 'The token response has no access token where the template says it is');
  }
}

function expiry(tokens: OAuth2Tokens, defaultExpiresIn: number | undefined): { expires_at?: string; obtained_at: string } {
  const now = Date.now();
  const obtained_at = new Date(now).toISOString();
  // Some providers send expires_in as a string; a missing or unusable one is not a lifetime.
  const given = Number((tokens.data as Record<string, unknown>).expires_in);
  if (Number.isFinite(given) && given > 0) return { expires_at: new Date(now + given * 1000).toISOString(), obtained_at };
  // Some answer the time it ends instead (Printful, Greenhouse: `expires_at`, epoch seconds or a date).
  const at = instant((tokens.data as Record<string, unknown>).expires_at);
  if (at !== undefined && at > now) return { expires_at: new Date(at).toISOString(), obtained_at };
  const exp = jwtExpiry((tokens.data as Record<string, unknown>).access_token);
  if (exp !== undefined && exp > now) return { expires_at: new Date(exp).toISOString(), obtained_at };
  return { ...(defaultExpiresIn !== undefined && { expires_at: new Date(now + defaultExpiresIn * 1000).toISOString() }), obtained_at };
}

/** Epoch seconds (or milliseconds, past year 33658 in seconds), as a number or numeric text, or an ISO date. */
function instant(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (Number.isFinite(n) && n > 0) return n < 1e12 ? n * 1000 : n;
  const date = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(date) ? date : undefined;
}

/**
 * The `exp` of an access token that is a JWT, read without verifying it: the token is the provider's to
 * check, we only learn when to stop handing it out. Opaque tokens have none.
 */
function jwtExpiry(token: unknown): number | undefined {
  if (typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** True when the token is gone or goes within `marginMs`. A token without expiry never expires. */
export function expiresWithin(credentials: TokenCredentials, marginMs: number, now = Date.now()): boolean {
  return credentials.expires_at !== undefined && Date.parse(credentials.expires_at) - now < marginMs;
}

/**
 * Whether to refresh before handing the token out: within `marginMs` of expiry, or within a quarter
 * of its lifetime for short-lived tokens (else a 60-second token would be refreshed on every read).
 */
export function refreshDue(credentials: TokenCredentials, marginMs: number, now = Date.now()): boolean {
  if (credentials.expires_at === undefined) return false;
  const lifetimeMs = credentials.obtained_at ? Date.parse(credentials.expires_at) - Date.parse(credentials.obtained_at) : Number(credentials.raw.expires_in) * 1000;
  const margin = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? Math.min(marginMs, lifetimeMs / 4) : marginMs;
  return expiresWithin(credentials, margin, now);
}
