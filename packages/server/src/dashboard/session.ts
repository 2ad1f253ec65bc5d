import { createHmac, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { KeywayError } from '../errors.ts';
import { safeEqual } from '../primitives.ts';

export const DASHBOARD_COOKIE = 'keyway_dashboard';
export const DASHBOARD_SESSION_TTL_S = 30 * 60;
export const CSRF_HEADER = 'x-keyway-csrf';

/**
 * Dashboard sign-in: the secret key is exchanged once for a short-lived session, a JWT (jose, HS256)
 * in an HttpOnly, SameSite=Strict cookie, so the key never stays in the browser. The JWT carries a
 * CSRF token the page echoes in a header on every change. Stateless, so any server instance can
 * check it; the signing key is derived from the secret key, so rotating the secret key signs
 * everyone out.
 */
export class DashboardSessions {
  readonly #key: Uint8Array;

  constructor(private readonly secretKey: string) {
    this.#key = createHmac('sha256', secretKey).update('keyway dashboard session v1').digest();
  }

  async signIn(given: unknown): Promise<{ cookie: string; csrf: string; expiresAt: string }> {
    if (typeof given !== 'string' || !safeEqual(given, this.secretKey)) throw new KeywayError('unknown_account', 'The secret key is not valid');
    const csrf = randomBytes(24).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + DASHBOARD_SESSION_TTL_S;
    const cookie = await new SignJWT({ csrf }).setProtectedHeader({ alg: 'HS256' }).setSubject('dashboard').setIssuedAt().setExpirationTime(exp).sign(this.#key);
    return { cookie, csrf, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The session's CSRF token, or undefined when the cookie is absent, forged or expired. */
  async verify(cookie: string | undefined): Promise<{ csrf: string; expiresAt: string } | undefined> {
    if (!cookie) return undefined;
    try {
      const { payload } = await jwtVerify(cookie, this.#key, { algorithms: ['HS256'], subject: 'dashboard' });
      return typeof payload.csrf === 'string' && payload.exp ? { csrf: payload.csrf, expiresAt: new Date(payload.exp * 1000).toISOString() } : undefined;
    } catch {
      return undefined;
    }
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
