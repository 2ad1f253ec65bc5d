import { createHmac, timingSafeEqual } from 'node:crypto';

/** Incoming request headers, as Node (`req.headers`), Express or a plain object gives them. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Headers that carry the hex HMAC-SHA256 of the raw body (lower case). */
export const WEBHOOK_SIGNATURE_HEADERS: readonly string[] = Object.freeze(['x-keyway-hmac-sha256', 'x-nango-hmac-sha256']);

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Whether a webhook request was signed by a Keyway server holding `signingKey`.
 *
 * Keyway (like Nango) sends `X-Keyway-Hmac-Sha256` and `X-Nango-Hmac-Sha256`, both the hex
 * HMAC-SHA256 of the exact raw body bytes. Header names are matched case-insensitively; an array
 * value (a header sent several times) counts as several signatures. At least one signature must be
 * present and every one present must be valid; comparisons are constant-time. Pass the raw body as
 * received (a Buffer, or the string it decodes to in UTF-8), never a re-serialized JSON object.
 */
export function verifyWebhookRequest(signingKey: string, rawBody: string | Buffer, headers: WebhookHeaders): boolean {
  if (typeof signingKey !== 'string' || signingKey === '') return false;
  if (typeof rawBody !== 'string' && !Buffer.isBuffer(rawBody)) return false;
  if (typeof headers !== 'object' || headers === null) return false;

  const signatures: unknown[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!WEBHOOK_SIGNATURE_HEADERS.includes(name.toLowerCase()) || value === undefined) continue;
    if (Array.isArray(value)) signatures.push(...(value as readonly unknown[]));
    else signatures.push(value);
  }
  if (signatures.length === 0) return false;

  const expected = createHmac('sha256', signingKey).update(rawBody).digest();
  let valid = true;
  for (const signature of signatures) {
    if (typeof signature !== 'string') return false;
    const trimmed = signature.trim();
    if (!HEX_SHA256.test(trimmed)) return false;
    const actual = Buffer.from(trimmed, 'hex');
    // Both are 32 bytes here; check every signature (no early exit on a mismatch).
    valid = actual.length === expected.length && timingSafeEqual(actual, expected) && valid;
  }
  return valid;
}
