/**
 * Webhook signatures. Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`, keyed with the base64 bytes of a `whsec_...` secret, so a receiver can
 * reject a replayed or delayed delivery. Beside them, Nango's `X-Nango-Hmac-Sha256` (hex HMAC of the
 * body, keyed with the secret string, what @nangohq/node's `webhookSigningKey` checks) and, only
 * when the operator asks for it, Nango's legacy `X-Nango-Signature` (SHA-256 of secret + body).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
/** At least 24 bytes of key (Standard Webhooks allows 24 to 64). */
const MIN_KEY_BYTES = 24;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The HMAC key of a `whsec_` secret, or an Error saying what is wrong with it. */
export function webhookKey(secret: string): Buffer {
  const m = WHSEC.exec(secret);
  const key = m ? Buffer.from(m[1]!, 'base64') : undefined;
  if (!key || key.length < MIN_KEY_BYTES || key.length > 64) {
    throw new Error(`must be whsec_ followed by the base64 of ${MIN_KEY_BYTES} to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))`);
  }
  return key;
}

/** A message id for `webhook-id`: the same across the retries of one delivery. */
export const newMessageId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

export interface SignOptions {
  readonly secret: string;
  /** Also send Nango's legacy X-Nango-Signature (off unless the operator asks). */
  readonly legacySignature?: boolean;
}

/** The signature headers of one attempt at delivering `rawBody`. */
export function signatureHeaders(options: SignOptions, rawBody: string, id: string, timestampSeconds: number): Record<string, string> {
  const key = webhookKey(options.secret);
  const timestamp = String(Math.floor(timestampSeconds));
  const standard = createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(rawBody, 'utf8').digest('base64');
  const hmac = createHmac('sha256', options.secret).update(rawBody, 'utf8').digest('hex');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${standard}`,
    'X-Keyway-Hmac-Sha256': hmac,
    'X-Nango-Hmac-Sha256': hmac,
    ...(options.legacySignature && { 'X-Nango-Signature': createHash('sha256').update(options.secret + rawBody, 'utf8').digest('hex') }),
  };
}
