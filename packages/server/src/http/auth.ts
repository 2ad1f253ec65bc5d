import type { NextFunction, Request, Response } from 'express';
import { KeywayError } from '../errors.ts';
import { safeEqual } from '../flows/state.ts';

/** Backend routes: `Authorization: Bearer <secret key>`, compared in constant time. */
export function requireSecretKey(secretKey: string, publicKey: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    if (!header) throw new KeywayError('missing_auth_header', 'Authorization: Bearer <secret key> is required');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new KeywayError('malformed_auth_header', 'The Authorization header must be "Bearer <secret key>"');
    const given = match[1]!;
    if (safeEqual(given, secretKey)) return next();
    if (safeEqual(given, publicKey)) throw new KeywayError('unknown_account', 'The public key cannot be used on backend routes; use the secret key');
    throw new KeywayError('unknown_account', 'The secret key is not valid');
  };
}
