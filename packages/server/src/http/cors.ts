import type { NextFunction, Request, Response } from 'express';
import { KeywayError } from '../errors.ts';

/**
 * CORS for the few browser-facing JSON routes (the SDK's outcome poll, API-key connections):
 * exact allowed origins only, no credentials. A request from any other page is refused outright,
 * even one that needs no preflight. Requests without an Origin (servers, curl) pass.
 */
export function corsForAllowedOrigins(allowedOrigins: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    if (!allowedOrigins.includes(origin)) throw new KeywayError('origin_not_allowed', `The origin ${origin} is not in KEYWAY_ALLOWED_ORIGINS`);
    res.set('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS') {
      res.set({ 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '600' }).status(204).end();
      return;
    }
    next();
  };
}
