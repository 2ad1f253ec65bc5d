import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { KeywayError } from '../errors.ts';
import { requireCsrf, type DashboardSessions } from '../dashboard/session.ts';
import { queryOf } from './request.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Backend routes: `Authorization: Bearer <secret key>`, compared in constant time, or the
 * dashboard's session cookie, with its CSRF token in a header on anything that changes state.
 */
export function requireSecretKey(secretKey: string, publicKey: string, dashboard: DashboardSessions) {
  // The keys' digests are made once; each request hashes only what it was given (constant time).
  const secretDigest = digest(secretKey);
  const publicDigest = digest(publicKey);
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    if (!header) {
      const session = await dashboard.fromRequest(req);
      if (session) {
        if (changesState(req)) requireCsrf(req, session);
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

/**
 * Whether a request may change state: any method but GET and HEAD, and a read that forces a token
 * refresh (`force_refresh`, which calls the provider and rewrites the connection).
 */
function changesState(req: Request): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return true;
  const force = queryOf(req).get('force_refresh');
  return force !== null && force !== '' && force !== 'false';
}
