import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Router } from 'express';
import { KeywayError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * `GET /metrics` on the API's port: Prometheus' text format for a scraper holding the secret key
 * or KEYWAY_METRICS_TOKEN (a token that can read metrics and nothing else). No dashboard cookie:
 * a scraper is not a browser.
 */
export function metricsRoutes(deps: { metrics: Metrics; secretKey: string; metricsToken: string | null }): Router {
  const accepted = [deps.secretKey, ...(deps.metricsToken ? [deps.metricsToken] : [])].map(digest);
  const r = Router();
  r.get('/metrics', async (req, res) => {
    const header = req.headers.authorization;
    if (!header) throw new KeywayError('missing_auth_header', 'Authorization: Bearer <secret key or KEYWAY_METRICS_TOKEN> is required');
    const match = BEARER.exec(header);
    if (!match) throw new KeywayError('malformed_auth_header', 'The Authorization header must be "Bearer <token>"');
    const given = digest(match[1]!);
    // Every candidate is compared, so the time taken does not tell which one matched.
    let ok = false;
    for (const candidate of accepted) ok = timingSafeEqual(given, candidate) || ok;
    if (!ok) throw new KeywayError('unknown_account', 'The token is not valid for /metrics');
    res.type(deps.metrics.contentType).send(await deps.metrics.render());
  });
  return r;
}

/**
 * KEYWAY_METRICS_PORT: `GET /metrics` without a token on a port of its own, bound to loopback only
 * (a local Prometheus agent or sidecar scrapes it; nothing else is served there).
 */
export function listenMetrics(metrics: Metrics, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
