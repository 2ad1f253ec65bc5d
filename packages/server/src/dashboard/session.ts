import { createHmac, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { KeywayError } from '../errors.ts';
import { readCookie } from '../http/cookies.ts';
import { safeEqual, sha256 } from '../primitives.ts';
import type { Store } from '../store/types.ts';

export const DASHBOARD_COOKIE = 'keyway_dashboard';
export const DASHBOARD_SESSION_TTL_S = 30 * 60;
export const CSRF_HEADER = 'x-keyway-csrf';

export interface DashboardSession {
  readonly csrf: string;
  readonly expiresAt: string;
  /** The session's id: what sign-out revokes. */
  readonly sid: string;
}

/**
 * Dashboard sign-in: the secret key is exchanged once for a short-lived session, a JWT (jose, HS256)
 * in an HttpOnly, SameSite=Strict cookie, so the key never stays in the browser. The JWT carries a
 * CSRF token the page echoes in a header on every change, and a random session id whose hash the
 * store keeps: every request checks it is still there, so signing out (which deletes it) ends the
 * session at once on every instance. The signing key is derived from the secret key, so rotating
 * the secret key signs everyone out too.
 */
export class DashboardSessions {
  readonly #key: Uint8Array;

  constructor(
    private readonly secretKey: string,
    private readonly store: Store,
  ) {
    this.#key = createHmac('sha256', secretKey).update('keyway dashboard session v1').digest();
  }

  async signIn(given: unknown): Promise<{ cookie: string; csrf: string; expiresAt: string }> {
    if (typeof given !== 'string' || !safeEqual(given, this.secretKey)) throw new KeywayError('unknown_account', 'The secret key is not valid');
    const csrf = randomBytes(24).toString('base64url');
    const sid = randomBytes(24).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + DASHBOARD_SESSION_TTL_S;
    await this.store.putDashboardSession({ id_hash: sha256(sid), created_at: new Date().toISOString(), expires_at: exp * 1000 });
    const cookie = await new SignJWT({ csrf, sid }).setProtectedHeader({ alg: 'HS256' }).setSubject('dashboard').setIssuedAt().setExpirationTime(exp).sign(this.#key);
    return { cookie, csrf, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The request's live session, or undefined when the cookie is absent, forged, expired or signed out. */
  async fromRequest(req: Request): Promise<DashboardSession | undefined> {
    const cookie = readCookie(req.headers.cookie, DASHBOARD_COOKIE);
    if (!cookie) return undefined;
    let session: DashboardSession;
    try {
      const { payload } = await jwtVerify(cookie, this.#key, { algorithms: ['HS256'], subject: 'dashboard' });
      if (typeof payload.csrf !== 'string' || typeof payload.sid !== 'string' || !payload.exp) return undefined;
      session = { csrf: payload.csrf, sid: payload.sid, expiresAt: new Date(payload.exp * 1000).toISOString() };
    } catch {
      return undefined;
    }
    return (await this.store.getDashboardSession(sha256(session.sid))) ? session : undefined;
  }

  /** Revokes the session server-side: its cookie stops working everywhere, even if a copy was kept. */
  async signOut(session: DashboardSession): Promise<void> {
    await this.store.deleteDashboardSession(sha256(session.sid));
  }
}

/** The one CSRF check of cookie-authenticated requests: the session's token in the X-Keyway-CSRF header. */
export function requireCsrf(req: Request, session: DashboardSession): void {
  const token = req.headers[CSRF_HEADER];
  if (typeof token !== 'string' || !safeEqual(token, session.csrf)) throw new KeywayError('csrf_failed', 'The dashboard request lacks its CSRF token; reload the page');
}
