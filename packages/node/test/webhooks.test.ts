import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_TOLERANCE_SECONDS, Nango, verifyWebhookRequest, WEBHOOK_SIGNATURE_HEADERS } from '../src/index.ts';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const OTHER = `whsec_${Buffer.alloc(32, 4).toString('base64')}`;
const NOW_MS = 1_800_000_000_000;
const now = () => NOW_MS;
const nango = new Nango({ host: 'http://127.0.0.1:3003', secretKey: 'sk_test_api_0123456789', webhookSigningKey: SECRET });

const body = JSON.stringify({
  from: 'keyway',
  type: 'auth',
  connectionId: 'user-1',
  providerConfigKey: 'slack',
  authMode: 'OAUTH2',
  provider: 'slack',
  environment: 'prod',
  operation: 'creation',
  success: true,
  endUser: { endUserId: 'u-1', endUserEmail: 'ada@example.com', tags: {} },
  note: 'é ✓', // non-ASCII: the HMAC is over the UTF-8 bytes
});

/** Standard Webhooks headers, as the server makes them. */
function signed(raw: string | Buffer, options: { secret?: string; id?: string; at?: number } = {}): Record<string, string> {
  const id = options.id ?? 'msg_abc';
  const timestamp = String(Math.floor((options.at ?? NOW_MS) / 1000));
  const key = Buffer.from((options.secret ?? SECRET).slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(raw).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
const good = signed(body);
const verify = (raw: string | Buffer, headers: Record<string, unknown>, options = {}) =>
  nango.verifyIncomingWebhookRequest(raw, headers as Record<string, string>, { now, ...options });

describe('verifyIncomingWebhookRequest', () => {
  it('accepts a valid Standard Webhooks signature, with the body as a string or Buffer', () => {
    expect(verify(body, good)).toBe(true);
    expect(verify(Buffer.from(body, 'utf8'), good)).toBe(true);
    expect(verify(body, { ...good, 'content-type': 'application/json', 'x-nango-hmac-sha256': 'ignored' })).toBe(true);
    expect(verifyWebhookRequest(SECRET, body, good, { now })).toBe(true);
    expect(WEBHOOK_SIGNATURE_HEADERS).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });

  it('refuses a delivery older or newer than the window (5 minutes by default): a captured webhook cannot be replayed later', () => {
    expect(DEFAULT_WEBHOOK_TOLERANCE_SECONDS).toBe(300);
    expect(verify(body, signed(body, { at: NOW_MS - 299_000 }))).toBe(true);
    expect(verify(body, signed(body, { at: NOW_MS - 301_000 }))).toBe(false);
    expect(verify(body, signed(body, { at: NOW_MS + 301_000 }))).toBe(false);
    expect(verify(body, signed(body, { at: NOW_MS - 3_600_000 }), { toleranceSeconds: 3601 })).toBe(true);
    // A replayed delivery with a fresh timestamp but the old signature does not verify.
    expect(verify(body, { ...good, 'webhook-timestamp': String(NOW_MS / 1000 + 10) })).toBe(false);
  });

  it('rejects a tampered body, id or timestamp', () => {
    expect(verify(body.replace('creation', 'override'), good)).toBe(false);
    expect(verify(body + ' ', good)).toBe(false);
    expect(verify(JSON.stringify(JSON.parse(body), null, 2), good)).toBe(false);
    expect(verify(body, { ...good, 'webhook-id': 'msg_other' })).toBe(false);
  });

  it('rejects a signature made with another secret, and a client without webhookSigningKey (the API key never signs webhooks)', () => {
    expect(verify(body, signed(body, { secret: OTHER }))).toBe(false);
    expect(new Nango({ host: 'http://127.0.0.1:3003', webhookSigningKey: OTHER, secretKey: 'sk_x_0123456789' }).verifyIncomingWebhookRequest(body, good, { now })).toBe(false);
    expect(new Nango({ host: 'http://127.0.0.1:3003', secretKey: SECRET }).verifyIncomingWebhookRequest(body, good, { now })).toBe(false);
    expect(verifyWebhookRequest('not-a-whsec', body, good, { now })).toBe(false);
  });

  it('rejects missing or repeated headers, and Nango-only headers', () => {
    for (const name of WEBHOOK_SIGNATURE_HEADERS) {
      const { [name]: _, ...rest } = good;
      expect(verify(body, rest)).toBe(false);
      expect(verify(body, { ...good, [name]: [good[name], good[name]] })).toBe(false);
    }
    const hex = createHmac('sha256', SECRET).update(body).digest('hex');
    expect(verify(body, { 'x-keyway-hmac-sha256': hex, 'x-nango-hmac-sha256': hex })).toBe(false);
  });

  it('accepts one valid v1 signature among several (secret rotation); refuses malformed ones without throwing', () => {
    const old = signed(body, { secret: OTHER })['webhook-signature']!;
    expect(verify(body, { ...good, 'webhook-signature': `${old} ${good['webhook-signature']}` })).toBe(true);
    expect(verify(body, { ...good, 'webhook-signature': good['webhook-signature']!.replace('v1,', 'v2,') })).toBe(false);
    expect(verify(body, { ...good, 'webhook-signature': good['webhook-signature']!.slice(0, -2) })).toBe(false);
    expect(verify(body, { ...good, 'webhook-signature': '' })).toBe(false);
    expect(verify(body, { ...good, 'webhook-timestamp': '1e9' })).toBe(false);
  });

  it('matches header names case-insensitively', () => {
    expect(verify(body, { 'Webhook-Id': good['webhook-id'], 'WEBHOOK-TIMESTAMP': good['webhook-timestamp'], 'Webhook-Signature': good['webhook-signature'] })).toBe(true);
  });

  it('never throws on junk input', () => {
    const junk = nango as unknown as { verifyIncomingWebhookRequest(b: unknown, h: unknown, o?: unknown): boolean };
    expect(junk.verifyIncomingWebhookRequest(undefined, good)).toBe(false);
    expect(junk.verifyIncomingWebhookRequest(body, null)).toBe(false);
    expect(junk.verifyIncomingWebhookRequest(body, { ...good, 'webhook-id': 42 })).toBe(false);
    expect(verifyWebhookRequest('', body, good)).toBe(false);
  });
});
