/**
 * Delivers auth events as Nango-compatible auth webhooks: a signed JSON POST to one URL, retried a
 * few times, in the background. A slow or dead receiver never delays the caller, never keeps the
 * process alive on its own, and cannot grow memory without bound.
 */
import type { ActivitySink } from '../activity/log.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { AuthEvent, AuthEventSink, AuthMode } from './events.ts';
import { newMessageId, signatureHeaders, webhookKey } from './signature.ts';

export interface WebhookSenderOptions {
  /** Where to POST (http or https). */
  readonly url: string;
  /** The signing secret (`whsec_...`, KEYWAY_WEBHOOK_SECRET); receivers verify with the same. Never the API's secret key. */
  readonly secret: string;
  /** Also send Nango's legacy X-Nango-Signature (KEYWAY_WEBHOOK_LEGACY_SIGNATURE). Default false. */
  readonly legacySignature?: boolean;
  /** The clock of `webhook-timestamp` (ms); injected by tests. */
  readonly now?: () => number;
  /** Time-out of each attempt, from the request to the response headers. Default 10 000. */
  readonly timeoutMs?: number;
  /** Waits before the 2nd, 3rd, … attempt; its length is the number of retries. Default [1000, 5000, 25000]. */
  readonly retryDelaysMs?: readonly number[];
  /** Deliveries in flight (attempting or waiting to retry) beyond which new events are dropped. Default 1000. */
  readonly maxInFlight?: number;
  readonly log: Logger;
  /** The activity log: each delivery's end (delivered, refused, abandoned) with its status and attempts. */
  readonly activity?: ActivitySink;
  /** Deliveries counted by outcome (delivered, refused, abandoned, dropped). */
  readonly metrics?: Pick<Metrics, 'webhookDeliveries'>;
  /** Injected for tests; defaults to the global fetch (resolved at call time). */
  readonly fetch?: typeof fetch;
}

/** The `endUser` of Nango's auth webhook (`NangoAuthWebhookBody` of @nangohq/types). */
export interface WebhookEndUser {
  readonly endUserId: string;
  readonly organizationId?: string;
  readonly endUserEmail: string | null;
  readonly tags: Readonly<Record<string, string>>;
}

/** Nango's auth webhook body (`NangoAuthWebhookBody` of @nangohq/types), as Keyway sends it. */
export interface AuthWebhookBody {
  readonly from: 'keyway';
  readonly type: 'auth';
  readonly connectionId: string;
  readonly providerConfigKey: string;
  readonly authMode: AuthMode;
  readonly provider: string;
  readonly environment: 'prod';
  readonly operation: AuthEvent['operation'];
  readonly success: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly endUser: WebhookEndUser | null;
  /** Present exactly when `success` is false. */
  readonly error?: { readonly type: string; readonly description: string };
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = Object.freeze([1000, 5000, 25_000]);
export const DEFAULT_MAX_IN_FLIGHT = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The webhook body of an event, with Nango's field names. */
export function authWebhookBody(event: AuthEvent): AuthWebhookBody {
  const u = event.endUser;
  const tags = event.tags ?? {};
  const endUser: WebhookEndUser | null = u
    ? {
        endUserId: u.id,
        ...(u.organization?.id !== undefined ? { organizationId: u.organization.id } : {}),
        endUserEmail: u.email ?? null,
        tags,
      }
    : null;
  return {
    from: 'keyway',
    type: 'auth',
    connectionId: event.connectionId,
    providerConfigKey: event.providerConfigKey,
    authMode: event.authMode,
    provider: event.provider,
    environment: 'prod',
    operation: event.operation,
    success: event.success,
    tags,
    endUser,
    ...(event.success ? {} : { error: event.error ?? { type: 'unknown_error', description: 'The operation failed' } }),
  };
}

type Outcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly error: string };

const retryable = (o: Outcome): boolean =>
  o.kind === 'timeout' || o.kind === 'network' || (o.kind === 'status' && (o.status === 408 || o.status === 429 || o.status >= 500));

export class WebhookSender implements AuthEventSink {
  readonly #url: string;
  readonly #secret: string;
  readonly #legacySignature: boolean;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #delays: readonly number[];
  readonly #maxInFlight: number;
  readonly #log: Logger;
  readonly #activity: ActivitySink | undefined;
  readonly #metrics: Pick<Metrics, 'webhookDeliveries'> | undefined;
  readonly #fetch: typeof fetch;
  readonly #inFlight = new Set<Promise<void>>();
  /** Retry waits pending; unref'ed, except while someone drains. */
  readonly #timers = new Set<NodeJS.Timeout>();
  #draining = 0;

  constructor(options: WebhookSenderOptions) {
    this.#url = checkUrl(options.url);
    if (typeof options.secret !== 'string') throw new TypeError('WebhookSender: secret must be a whsec_ string');
    try {
      webhookKey(options.secret);
    } catch (e) {
      throw new TypeError(`WebhookSender: secret ${(e as Error).message}`);
    }
    this.#secret = options.secret;
    this.#legacySignature = options.legacySignature ?? false;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!isDuration(this.#timeoutMs) || this.#timeoutMs === 0) throw new TypeError('WebhookSender: timeoutMs must be a positive number of milliseconds');
    this.#delays = Object.freeze([...(options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)]);
    if (!this.#delays.every(isDuration)) throw new TypeError('WebhookSender: retryDelaysMs must hold non-negative numbers of milliseconds');
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isSafeInteger(this.#maxInFlight) || this.#maxInFlight < 1) throw new TypeError('WebhookSender: maxInFlight must be a positive integer');
    this.#log = options.log;
    this.#activity = options.activity;
    this.#metrics = options.metrics;
    const injected = options.fetch;
    this.#fetch = injected ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Deliveries attempting or waiting to retry. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  emit(event: AuthEvent): void {
    try {
      if (this.#inFlight.size >= this.#maxInFlight) {
        this.#metrics?.webhookDeliveries.inc({ outcome: 'dropped' });
        this.#log.warn('webhook dropped: too many deliveries in flight', { ...fieldsOf(event), in_flight: this.#inFlight.size });
        return;
      }
      const raw = JSON.stringify(authWebhookBody(event));
      const delivery: Promise<void> = this.#deliver(event, raw, newMessageId())
        .catch(() => {})
        .finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    } catch {
      try {
        this.#log.error('webhook not sent: could not build the delivery', fieldsOf(event));
      } catch {
        // emit() never throws.
      }
    }
  }

  /**
   * Resolves when every delivery in flight (including those emitted meanwhile) has finished or
   * given up. While it waits, retry timers keep the process alive, so `await drain()` at shutdown
   * really waits. Worst case with the defaults: 4 attempts × 10 s + 31 s of waits.
   */
  async drain(): Promise<void> {
    this.#draining++;
    for (const timer of this.#timers) timer.ref();
    try {
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    } finally {
      this.#draining--;
      if (this.#draining === 0) for (const timer of this.#timers) timer.unref();
    }
  }

  /** The headers of one attempt: one message id for all of them, each signed with its own timestamp. */
  headersFor(raw: string, id: string): Record<string, string> {
    const signed = signatureHeaders({ secret: this.#secret, legacySignature: this.#legacySignature }, raw, id, this.#now() / 1000);
    return { 'Content-Type': 'application/json', 'User-Agent': 'keyway', ...signed };
  }

  async #deliver(event: AuthEvent, raw: string, id: string): Promise<void> {
    // Start on a later turn of the event loop: emit() returns before any network work begins.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let attempts = 0;
    const started = performance.now();
    for (;;) {
      const outcome = await this.#attempt(raw, this.headersFor(raw, id));
      attempts++;
      if (outcome.kind === 'delivered') {
        this.#record(event, 'delivered', `Auth webhook (${event.operation}) delivered`, outcome.status, attempts, started);
        this.#metrics?.webhookDeliveries.inc({ outcome: 'delivered' });
        return;
      }
      const delay = this.#delays[attempts - 1];
      if (!retryable(outcome) || delay === undefined) {
        const { status, error } = describe(outcome);
        this.#record(event, retryable(outcome) ? 'abandoned' : 'refused', `Auth webhook (${event.operation}) ${retryable(outcome) ? 'abandoned' : 'refused by the receiver'}`, status, attempts, started, error);
        this.#metrics?.webhookDeliveries.inc({ outcome: retryable(outcome) ? 'abandoned' : 'refused' });
        this.#log.warn(
          retryable(outcome) ? 'webhook delivery abandoned' : 'webhook delivery refused by the receiver',
          { ...fieldsOf(event), ...describe(outcome), attempts },
        );
        return;
      }
      this.#log.debug('webhook attempt failed, will retry', { ...fieldsOf(event), ...describe(outcome), attempt: attempts, delay_ms: delay });
      await this.#sleep(delay);
    }
  }

  /** The delivery's activity entry: the receiver's path only (its query may hold a key), status, attempts. */
  #record(event: AuthEvent, action: string, message: string, status: number, attempts: number, started: number, error?: string): void {
    this.#activity?.record({
      type: 'webhook',
      action,
      outcome: action === 'delivered' ? 'success' : 'failure',
      provider_config_key: event.providerConfigKey,
      connection_id: event.connectionId,
      message,
      http: { method: 'POST', path: new URL(this.#url).pathname, status, duration_ms: Math.round(performance.now() - started), attempts, retries: attempts - 1 },
      ...(action !== 'delivered' && { error: { code: error ?? `http_${status}`, message: error ? `The receiver could not be reached (${error})` : `The receiver answered ${status}` } }),
    });
  }

  async #attempt(raw: string, headers: Record<string, string>): Promise<Outcome> {
    try {
      const response = await this.#fetch(this.#url, {
        method: 'POST',
        headers,
        body: raw,
        // A redirect is an answer (not followed): a signed body goes only to the configured URL.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      // The answer's body is not needed; release the connection without reading it.
      await response.body?.cancel().catch(() => {});
      return response.status >= 200 && response.status < 300 ? { kind: 'delivered', status: response.status } : { kind: 'status', status: response.status };
    } catch (err) {
      const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
      if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'timeout' };
      return { kind: 'network', error: errnoOf(err) };
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      if (this.#draining === 0) timer.unref();
      this.#timers.add(timer);
    });
  }
}

/** Log fields of an event: never the body, never credentials. */
function fieldsOf(event: AuthEvent) {
  return { operation: event.operation, config_key: event.providerConfigKey, connection_id: event.connectionId };
}

function describe(o: Exclude<Outcome, { kind: 'delivered' }>): { status: number; error?: string } {
  switch (o.kind) {
    case 'status':
      return { status: o.status };
    case 'timeout':
      return { status: 0, error: 'timeout' };
    case 'network':
      return { status: 0, error: o.error };
  }
}

/** A system error code (ECONNREFUSED, ENOTFOUND, …) from fetch's cause, or `network_error`. */
function errnoOf(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]{1,40}$/.test(code)) return code;
    const inner = (e as { errors?: unknown }).errors;
    e = Array.isArray(inner) && inner.length > 0 ? inner[0] : (e as { cause?: unknown }).cause;
  }
  return 'network_error';
}

function isDuration(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS;
}

function checkUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(typeof url === 'string' ? url : '');
  } catch {
    throw new TypeError('WebhookSender: url must be an absolute http(s) URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('WebhookSender: url must be an http(s) URL');
  return parsed.href;
}
