/**
 * Rate limits on flow starts (`/oauth/connect`, `/api-auth`): anyone holding the public key could
 * otherwise create flow records without limit. A token bucket per client address and one per
 * key (the public key, or each connect session); in memory, per server instance.
 */
import { isIP } from 'node:net';
import { KeywayError } from '../errors.ts';

/** A refused request, with how long to wait (sent as `Retry-After`). */
export class RateLimitedError extends KeywayError {
  constructor(what: string, retryAfterSeconds: number) {
    super('rate_limited', `Too many connection flows started ${what}; try again in ${retryAfterSeconds} s`, { retry_after_seconds: String(retryAfterSeconds) }, retryAfterSeconds);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Beyond this many tracked keys, full buckets (idle callers) are dropped. */
const SWEEP_ABOVE = 10_000;

/** `perMinute` requests a minute per key, in bursts of up to `perMinute`; 0 turns it off. */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request for `key`; the seconds to wait when there is none left, else 0. */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    const ratePerMs = this.perMinute / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > SWEEP_ABOVE) this.#sweep(now, ratePerMs);
    return 0;
  }

  #sweep(now: number, ratePerMs: number): void {
    for (const [key, b] of this.#buckets) if (b.tokens + (now - b.at) * ratePerMs >= this.perMinute) this.#buckets.delete(key);
  }
}

export interface FlowRateLimitOptions {
  /** Flow starts a minute per client address; 0 = no limit. */
  readonly perAddress: number;
  /** Flow starts a minute per public key or connect session; 0 = no limit. */
  readonly perKey: number;
  readonly now?: () => number;
}

/** The two limits of flow starts: by address before authorisation, by key after it. */
export class FlowRateLimits {
  readonly #byAddress: RateLimiter;
  readonly #byKey: RateLimiter;

  constructor(options: FlowRateLimitOptions) {
    this.#byAddress = new RateLimiter(options.perAddress, options.now);
    this.#byKey = new RateLimiter(options.perKey, options.now);
  }

  /** Throws RateLimitedError when this client address started too many flows. */
  checkAddress(address: string | undefined): void {
    const wait = this.#byAddress.take(addressKey(address ?? ''));
    if (wait > 0) throw new RateLimitedError('from this address', wait);
  }

  /** Throws RateLimitedError when this key (the public key, or a connect session's token hash) started too many flows. */
  checkKey(key: string): void {
    const wait = this.#byKey.take(key);
    if (wait > 0) throw new RateLimitedError('with this key', wait);
  }
}

/** One bucket per IPv4 address and per IPv6 /64 (one host usually holds a whole /64). */
function addressKey(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return v4;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
