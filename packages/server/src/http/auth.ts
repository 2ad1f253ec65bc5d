import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { KeywayError } from '../errors.ts';
import { CSRF_HEADER, DASHBOARD_COOKIE, readCookie, type DashboardSessions } from '../dashboard/session.ts';
import { safeEqual } from '../primitives.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Backend routes: `Authorization: Bearer <secret key>`, compared in constant time, or the
 * dashboard's session cookie, with its CSRF token in a header on anything but a read.
 */
export function requireSecretKey(secretKey: string, publicKey: string, dashboard: DashboardSessions) {
  // The keys' digests are made once; each request hashes only what it was given (constant time).
  const secretDigest = digest(secretKey);
  const publicDigest = digest(publicKey);
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    if (!header) {
      const session = await dashboard.verify(readCookie(req.headers.cookie, DASHBOARD_COOKIE));
      if (session) {
        const safe = req.method === 'GET' || req.method === 'HEAD';
        const token = req.headers[CSRF_HEADER];
        if (!safe && (typeof token !== 'string' || !safeEqual(token, session.csrf))) throw new KeywayError('csrf_failed', 'The dashboard request lacks its CSRF token; reload the page');
        return next();
      }
      throw new KeywayError('missing_auth_header', 'Authorization: Bearer <secret key> is required');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new KeywayError('malformed_auth_header', 'The Authorization header must be "Bearer <secret key>"');
    const given = digest(match[1]!);
    if (timingSafeEqual(given, secretDigest)) return next();
    if (timingSafeEqual(given, publicDigest)) throw new KeywayError('unknown_account', 'The public key cannot be used on backend routes; use the secret key');
    throw new KeywayError('unknown_account', 'The secret key is not valid');
  };
}
