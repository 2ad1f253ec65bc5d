import { OAuth2Tokens } from 'arctic';
import { describe, expect, it } from 'vitest';
import { credentialsFrom, refreshDue } from '../src/connections/credentials.ts';

describe('credentialsFrom', () => {
  it('keeps the previous refresh token when a refresh response has none (Nango #298)', () => {
    const previous = credentialsFrom(new OAuth2Tokens({ access_token: 'a1', refresh_token: 'r1', expires_in: 3600 }));
    const next = credentialsFrom(new OAuth2Tokens({ access_token: 'a2', expires_in: 3600 }), { previous });
    expect(next).toMatchObject({ access_token: 'a2', refresh_token: 'r1' });
    expect(credentialsFrom(new OAuth2Tokens({ access_token: 'a3', refresh_token: 'r2' }), { previous }).refresh_token).toBe('r2');
  });

  it('reads expires_in as a number or a numeric string, and treats anything else as no expiry', () => {
    const now = Date.now();
    for (const expires_in of [3600, '3600']) {
      const at = Date.parse(credentialsFrom(new OAuth2Tokens({ access_token: 'a', expires_in })).expires_at!);
      expect(at - now).toBeGreaterThan(3590_000);
      expect(at - now).toBeLessThan(3610_000);
    }
    for (const expires_in of [undefined, 0, -5, 'soon', null]) {
      expect(credentialsFrom(new OAuth2Tokens({ access_token: 'a', expires_in })).expires_at).toBeUndefined();
    }
  });
});

describe('the lifetime of a token without expires_in', () => {
  const jwt = (claims: Record<string, unknown>) =>
    ['{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims)].map((p) => Buffer.from(p).toString('base64url')).join('.') + '.c2ln';
  it('is the exp of a JWT access token (monday.com sends no expires_in), before the template default', () => {
    const exp = Math.floor(Date.now() / 1000) + 7200;
    expect(credentialsFrom(new OAuth2Tokens({ access_token: jwt({ exp, sub: 'u' }) }), { defaultExpiresIn: 60 }).expires_at).toBe(new Date(exp * 1000).toISOString());
    // expires_in still wins when given.
    const withIn = Date.parse(credentialsFrom(new OAuth2Tokens({ access_token: jwt({ exp }), expires_in: 600 })).expires_at!);
    expect(Math.abs(withIn - (Date.now() + 600_000))).toBeLessThan(10_000);
  });
  it('is the answer\'s expires_at (epoch seconds as text or number, milliseconds, or a date: Printful, Greenhouse) when it has no expires_in', () => {
    const end = Math.floor(Date.now() / 1000) + 3000;
    for (const expires_at of [String(end), end, end * 1000, new Date(end * 1000).toISOString()]) {
      expect(credentialsFrom(new OAuth2Tokens({ access_token: 'smk_x', expires_at }), { defaultExpiresIn: 60 }).expires_at, String(expires_at)).toBe(new Date(end * 1000).toISOString());
    }
    // Past, or not a time: the default applies.
    for (const expires_at of [String(end - 7200), 'soon', '']) {
      const at = Date.parse(credentialsFrom(new OAuth2Tokens({ access_token: 'smk_x', expires_at }), { defaultExpiresIn: 60 }).expires_at!);
      expect(Math.abs(at - (Date.now() + 60_000)), expires_at).toBeLessThan(10_000);
    }
  });

  it('falls back to the template default, or none, for an opaque token, a JWT without exp, or one already past it', () => {
    const past = Math.floor(Date.now() / 1000) - 10;
    for (const access_token of ['opaque-token', jwt({ sub: 'u' }), jwt({ exp: past }), jwt({ exp: 'soon' }), 'a.b.c']) {
      expect(credentialsFrom(new OAuth2Tokens({ access_token })).expires_at, access_token).toBeUndefined();
      const at = Date.parse(credentialsFrom(new OAuth2Tokens({ access_token }), { defaultExpiresIn: 60 }).expires_at!);
      expect(Math.abs(at - (Date.now() + 60_000)), access_token).toBeLessThan(10_000);
    }
  });
});

describe('refreshDue', () => {
  const at = (msFromNow: number, lifetimeS?: number) => ({
    type: 'OAUTH2' as const,
    access_token: 'a',
    expires_at: new Date(Date.now() + msFromNow).toISOString(),
    raw: lifetimeS === undefined ? {} : { expires_in: lifetimeS },
  });
  const MARGIN = 5 * 60_000;
  it('is due within the margin of expiry, and past it', () => {
    expect(refreshDue(at(60 * 60_000, 3600), MARGIN)).toBe(false);
    expect(refreshDue(at(4 * 60_000, 3600), MARGIN)).toBe(true);
    expect(refreshDue(at(-1000, 3600), MARGIN)).toBe(true);
  });
  it('uses a quarter of the lifetime for short-lived tokens, so they are not refreshed on every read', () => {
    expect(refreshDue(at(50_000, 60), MARGIN)).toBe(false);
    expect(refreshDue(at(10_000, 60), MARGIN)).toBe(true);
  });
  it('never refreshes a token without expiry', () => {
    expect(refreshDue({ type: 'OAUTH2', access_token: 'a', raw: {} }, MARGIN)).toBe(false);
  });
});
