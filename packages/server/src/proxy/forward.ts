/**
 * The provider proxy: one call to the provider's API with the connection's fresh credentials.
 * - A 401 means the token was refused (revoked, rotated elsewhere): one forced refresh, shared by
 *   every call refused with that token, then one more attempt.
 * - A 429 or 5xx (or a `Retry-On` status) is tried again up to `Retries` times, after the wait the
 *   provider names or a jittered back-off, within a total time budget; past the budget the
 *   provider's answer is returned as it is.
 * Only a body that was read whole can be sent twice: a large upload is streamed once, without retries.
 */
import type { Readable } from 'node:stream';
import type { ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import type { OutboundStream, OutboundStreamResponse } from '../http/outbound.ts';
import { presentedCertificate } from '../integrations/mutual-tls.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { ProxyRequestOptions } from './request.ts';
import { isRetryableStatus, retryDelayMs } from './retry.ts';
import { proxyTarget } from './target.ts';

export interface ProxyTiming {
  /** Until the provider's status line and headers arrive. */
  readonly headersTimeoutMs: number;
  /** Of silence within the provider's body (a download may take long while it flows). */
  readonly bodyTimeoutMs: number;
  /** All attempts and waits of one call together. */
  readonly retryBudgetMs: number;
}

export const DEFAULT_PROXY_TIMING: ProxyTiming = { headersTimeoutMs: 60_000, bodyTimeoutMs: 60_000, retryBudgetMs: 60_000 };

export interface ProxyDeps {
  readonly connections: ConnectionService;
  readonly integrations: IntegrationService;
  readonly outbound: OutboundStream;
  readonly timing?: Partial<ProxyTiming>;
  /** Injected in tests: the waits between attempts, and their jitter. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

export interface ProxyCall {
  readonly method: string;
  /** The path after `/proxy` with the query string, as received. */
  readonly endpoint: string;
  readonly options: ProxyRequestOptions;
  readonly body: Buffer | Readable | undefined;
  /** Aborted when the caller goes away. */
  readonly signal: AbortSignal;
}

export interface ProxyResult extends OutboundStreamResponse {
  readonly attempts: number;
}

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class ProxyService {
  readonly #timing: ProxyTiming;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;

  constructor(private readonly deps: ProxyDeps) {
    this.#timing = { ...DEFAULT_PROXY_TIMING, ...deps.timing };
    this.#sleep = deps.sleep ?? abortableSleep;
    this.#random = deps.random ?? Math.random;
  }

  async forward(call: ProxyCall): Promise<ProxyResult> {
    const { providerConfigKey: key, connectionId: id, retries, retryOn } = call.options;
    const { integration, template } = await this.deps.integrations.withTemplate(key, 'OAUTH2', 'OAUTH2_CC', 'API_KEY', 'BASIC', 'TWO_STEP');
    const clientCertificate = presentedCertificate(integration, template);
    let connection = await this.deps.connections.getFresh(key, id);
    const replayable = call.body === undefined || Buffer.isBuffer(call.body);
    const started = Date.now();
    let refreshed = false;
    let retried = 0;
    for (let attempts = 1; ; attempts++) {
      const target = proxyTarget(template, integration, connection, call.endpoint, call.options.baseUrlOverride);
      const canRetry = replayable && retried < retries;
      let res: OutboundStreamResponse;
      try {
        res = await this.deps.outbound(target.url, {
          method: call.method,
          headers: { ...target.defaultHeaders, ...call.options.headers, ...target.headers },
          ...(call.body !== undefined && { body: call.body }),
          signal: call.signal,
          headersTimeoutMs: this.#timing.headersTimeoutMs,
          bodyTimeoutMs: this.#timing.bodyTimeoutMs,
          ...(clientCertificate && { clientCertificate }),
        });
      } catch (e) {
        if (e instanceof KeywayError || call.signal.aborted) throw e;
        const error = transportError(e);
        const delay = retryDelayMs({}, undefined, retried, Date.now(), this.#random);
        if (!canRetry || Date.now() - started + delay > this.#timing.retryBudgetMs) throw error;
        retried++;
        await this.#sleep(delay, call.signal);
        continue;
      }

      const credentials = connection.credentials;
      // Without a refresh token there is nothing to renew: the provider's 401 is the answer.
      const renewable = credentials.type === 'OAUTH2_CC' || credentials.type === 'TWO_STEP' || (credentials.type === 'OAUTH2' && credentials.refresh_token !== undefined);
      if (res.status === 401 && !refreshed && replayable && renewable) {
        discard(res.body);
        refreshed = true;
        connection = await this.deps.connections.renewRejected(key, id, credentials.access_token);
        continue;
      }
      if (canRetry && isRetryableStatus(res.status, retryOn)) {
        const delay = retryDelayMs(res.headers, template.proxy?.retry, retried, Date.now(), this.#random);
        if (Date.now() - started + delay <= this.#timing.retryBudgetMs) {
          discard(res.body);
          retried++;
          await this.#sleep(delay, call.signal);
          continue;
        }
      }
      return { ...res, attempts };
    }
  }
}

/** Drops an answer we will not pass on; a small one is read to its end so the connection can be reused. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  const dump = (body as { dump?: () => Promise<void> }).dump;
  if (dump) dump.call(body).catch(() => undefined);
  else body.destroy();
}

function transportError(e: unknown): KeywayError {
  const code = (e as { code?: unknown })?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new KeywayError('provider_timeout', 'The provider did not answer in time');
  return new KeywayError('provider_unreachable', 'The provider could not be reached');
}
