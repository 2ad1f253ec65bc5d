import { createHmac, timingSafeEqual } from 'node:crypto';

/** Incoming request headers, as Node (`req.headers`), Express or a plain object gives them. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The Standard Webhooks headers every Keyway delivery carries (lower case). */
export const WEBHOOK_SIGNATURE_HEADERS: readonly string[] = Object.freeze(['webhook-id', 'webhook-timestamp', 'webhook-signature']);

/** How far a delivery's `webhook-timestamp` may be from the receiver's clock, by default. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export interface VerifyWebhookOptions {
  /** Seconds a delivery's timestamp may differ from now (either way). Default 300. */
  toleranceSeconds?: number;
  /** The receiver's clock in milliseconds; injected by tests. Default Date.now(). */
  now?: () => number;
}

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
const TIMESTAMP = /^[0-9]{1,12}$/;
const V1 = /^v1,([A-Za-z0-9+/]{43}=)$/;

/**
 * Whether a webhook request was signed by a Keyway server holding `signingSecret` (its
 * KEYWAY_WEBHOOK_SECRET, `whsec_...`), and is recent.
 *
 * Keyway signs as Standard Webhooks do: `webhook-signature` holds `v1,<base64 HMAC-SHA256 of
 * "<webhook-id>.<webhook-timestamp>.<raw body>">`, keyed with the base64-decoded secret. A delivery
 * whose timestamp is more than `toleranceSeconds` (5 minutes) away from now is refused, so a
 * captured delivery cannot be replayed later; keep the `webhook-id`s you have handled for that
 * window to refuse a replay within it. Header names match case-insensitively; comparisons are
 * constant-time. Pass the raw body as received, never a re-serialized JSON object. Never throws.
 */
export function verifyWebhookRequest(signingSecret: string, rawBody: string | Buffer, headers: WebhookHeaders, options: VerifyWebhookOptions = {}): boolean {
  const match = typeof signingSecret === 'string' ? WHSEC.exec(signingSecret) : null;
  if (!match) return false;
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) return false;
  if (typeof headers !== 'object' || headers === null) return false;

  const id = single(headers, 'webhook-id');
  const timestamp = single(headers, 'webhook-timestamp');
  const signatures = single(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) return false;
  if (id.length === 0 || id.length > 256 || id.includes('.') || !TIMESTAMP.test(timestamp)) return false;

  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const now = (options.now ?? Date.now)() / 1000;
  if (!(Math.abs(now - Number(timestamp)) <= tolerance)) return false;

  const expected = createHmac('sha256', Buffer.from(match[1]!, 'base64')).update(`${id}.${timestamp}.`).update(rawBody).digest();
  // Several space-separated signatures are allowed (during a secret's rotation); one valid v1 suffices.
  let valid = false;
  for (const candidate of signatures.split(' ')) {
    const v1 = V1.exec(candidate);
    if (!v1) continue;
    const actual = Buffer.from(v1[1]!, 'base64');
    valid = (actual.length === expected.length && timingSafeEqual(actual, expected)) || valid;
  }
  return valid;
}

/** The one value of a header (any case), or undefined when absent, repeated or not a string. */
function single(headers: WebhookHeaders, name: string): string | undefined {
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    const values = Array.isArray(value) ? (value as readonly unknown[]) : [value];
    for (const v of values) {
      if (typeof v !== 'string' || found !== undefined) return undefined;
      found = v.trim();
    }
  }
  return found;
}
