import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConnectionService } from '../connections/service.ts';
import type { Logger } from '../log.ts';
import { parseConnectionId } from '../ids.ts';
import { apiConnection } from '../routes/wire.ts';
import { reportError } from './errors.ts';
import { booleanParam, configKeyParam } from './request.ts';

/** The headers every answer of the server carries (app.ts sets the same on Express's). */
const BASE_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Type': 'application/json; charset=utf-8' } as const;
const PATH = /^\/connections\/([^/]+)$/;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /connections/:connectionId` with the secret key: what `getToken` calls on every request of a
 * backend, answered before Express (its router and middleware cost about as much as the work itself).
 * It takes only that exact request with the right key and returns false for anything else (another
 * route, the dashboard's cookie, a missing or wrong key), which Express then answers as before: same
 * validation, same typed errors, same headers.
 */
export function tokenRoute(deps: { secretKey: string; connections: ConnectionService; log: Logger }) {
  const secretDigest = digest(deps.secretKey);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const match = PATH.exec(q === -1 ? url : url.slice(0, q));
    const auth = match && req.headers.authorization ? BEARER.exec(req.headers.authorization) : null;
    if (!match || !auth || !timingSafeEqual(digest(auth[1]!), secretDigest)) return false;
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { ...BASE_HEADERS, 'Content-Length': Buffer.byteLength(text), ...extra }).end(text);
    };
    void (async () => {
      const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      const connection = await deps.connections.getFresh(configKeyParam(query), parseConnectionId(decodeURIComponent(match[1]!)), booleanParam(query, 'force_refresh'));
      send(200, apiConnection(connection, booleanParam(query, 'refresh_token')));
    })().catch((err: unknown) => {
      const error = reportError(err, deps.log, { method: 'GET', path: url.slice(0, q === -1 ? undefined : q) });
      send(error.status, error.toJSON(), error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) });
    });
    return true;
  };
}
