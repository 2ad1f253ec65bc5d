/**
 * When to try a proxied request again. A 429 or 5xx answer says how long to wait in the headers
 * the template names (Nango's `proxy.retry`: `after` = seconds or an HTTP date, `at` = a reset
 * time in epoch seconds); `Retry-After` is always read, as the standard header. Without a usable
 * header: exponential back-off with jitter, so many callers refused together do not return together.
 */
import type { ProxyRetry } from '../templates/schema.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** First back-off step and its ceiling. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10_000;
/** An `at` value below this is a number of seconds to wait, not a time (some providers send either). */
const EPOCH_FLOOR_S = 1_000_000_000;

/** Whether this status is worth another attempt (429, any 5xx, or what the caller's `Retry-On` lists). */
export function isRetryableStatus(status: number, retryOn: readonly number[]): boolean {
  return status === 429 || status >= 500 || retryOn.includes(status);
}

/** The wait before attempt `attempt + 1` (attempt counts from 0), in milliseconds. */
export function retryDelayMs(headers: Headers, rules: ProxyRetry | undefined, attempt: number, now: number, random: () => number): number {
  const named = namedDelayMs(headers, rules, now);
  if (named !== undefined) return Math.max(0, named);
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2)); // "equal jitter"
}

function namedDelayMs(headers: Headers, rules: ProxyRetry | undefined, now: number): number | undefined {
  for (const name of new Set([...(rules?.after ?? []), 'retry-after'])) {
    const value = header(headers, name);
    if (value === undefined) continue;
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    if (Number.isFinite(date)) return date - now;
  }
  for (const name of rules?.at ?? []) {
    const value = header(headers, name);
    if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) continue;
    const n = Number(value);
    return n >= EPOCH_FLOOR_S ? n * 1000 - now : n * 1000;
  }
  return undefined;
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}
