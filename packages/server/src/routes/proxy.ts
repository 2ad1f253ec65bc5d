import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Router, type RequestHandler } from 'express';
import type { ActivitySink } from '../activity/log.ts';
import { isKeywayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ProxyService } from '../proxy/forward.ts';
import { HOP_BY_HOP, parseProxyRequest } from '../proxy/request.ts';

/** A request body up to this size is read whole, so it can be sent again (401 refresh, retries). */
export const REPLAY_LIMIT_BYTES = 1024 * 1024;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/**
 * `ALL /proxy/<endpoint>` (Nango's proxy, behind the secret key): the provider's status, headers
 * and body come back as they are, streamed both ways. Logged: method, path (no query: it may hold
 * a key), status, duration; never a credential.
 */
export function proxyRoutes(deps: { proxy: ProxyService; guard: RequestHandler; log: Logger; activity: ActivitySink; metrics: Metrics }): Router {
  const r = Router();
  r.use('/proxy', deps.guard, async (req, res) => {
    const started = performance.now();
    const path = req.url.split('?')[0]!;
    const abort = new AbortController();
    let target: { config_key?: string; connection_id?: string } = {};
    let attempts = 0;
    let failure: { code: string; message: string } | undefined;
    let answered = false;
    // Logged once the exchange ends, completed or not (a caller that went away is logged too).
    res.on('close', () => {
      const aborted = !res.writableFinished;
      if (aborted) abort.abort(new Error('the caller went away'));
      const seconds = (performance.now() - started) / 1000;
      const duration_ms = Math.round(seconds * 1000);
      deps.log.info('proxy', { method: req.method, path, status: res.statusCode, duration_ms, ...target, ...(aborted && { aborted }) });
      // The config key is a label only once the provider answered (the integration exists): a caller's typo must not make a series.
      const config_key = answered ? target.config_key ?? '' : '';
      deps.metrics.proxyRequests.inc({ config_key, method: req.method, status: aborted ? 'aborted' : String(res.statusCode) });
      deps.metrics.proxyDuration.observe({ config_key }, seconds);
      // Only a call that named its connection is an activity of that connection.
      if (target.config_key === undefined || target.connection_id === undefined) return;
      const ok = !aborted && res.statusCode < 400;
      deps.activity.record({
        type: 'proxy',
        action: aborted ? 'aborted' : 'request',
        outcome: ok ? 'success' : 'failure',
        provider_config_key: target.config_key,
        connection_id: target.connection_id,
        message: aborted ? `Proxied request aborted: the caller went away` : `Proxied request`,
        http: { method: req.method, path, status: res.statusCode, duration_ms, retries: Math.max(0, attempts - 1), attempts },
        ...(failure && { error: failure }),
      });
    });
    const options = parseProxyRequest(req.headers);
    target = { config_key: options.providerConfigKey, connection_id: options.connectionId };

    const body = await requestBody(req);
    const length = req.headers['content-length'];
    const headers = body instanceof Readable && length !== undefined ? { ...options.headers, 'content-length': length } : options.headers;
    const result = await deps.proxy.forward({ method: req.method, endpoint: req.url, options: { ...options, headers }, body, signal: abort.signal }).catch((e: unknown) => {
      if (isKeywayError(e)) failure = { code: e.code, message: e.message };
      if (abort.signal.aborted) return undefined; // nobody is left to answer
      throw e;
    });
    if (!result) return;
    attempts = result.attempts;
    answered = true;

    const encoding = String(result.headers['content-encoding'] ?? '').trim().toLowerCase();
    const decode = options.decompress ? DECODERS[encoding] : undefined;
    const dropped = new Set([...HOP_BY_HOP, ...String(result.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim())]);
    dropped.delete('content-length');
    if (decode) dropped.add('content-encoding').add('content-length');
    res.status(result.status);
    for (const [name, value] of Object.entries(result.headers)) if (value !== undefined && !dropped.has(name)) res.setHeader(name, value);
    try {
      await (decode ? pipeline(result.body, decode(), res) : pipeline(result.body, res));
    } catch (e) {
      deps.log.warn('proxy stream ended early', { method: req.method, path, error: String((e as Error).message) });
      res.destroy();
    }
  });
  return r;
}

/**
 * The body to send on: none, the whole body when it is small (so it can be sent again), or a
 * stream of what was read and the rest, sent once.
 */
function requestBody(req: IncomingMessage): Promise<Buffer | Readable | undefined> {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', reject);
      req.pause();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= REPLAY_LIMIT_BYTES) return;
      stop();
      resolve(Readable.from((async function* () {
        yield* chunks;
        for await (const c of req) yield c as Buffer;
      })(), { objectMode: false }));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}
