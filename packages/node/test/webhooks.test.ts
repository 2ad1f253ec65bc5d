import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Nango, verifyWebhookRequest, WEBHOOK_SIGNATURE_HEADERS } from '../src/index.ts';

const SECRET = 'sk_test_webhooks_0123456789';
const nango = new Nango({ host: 'http://127.0.0.1:3003', secretKey: SECRET });

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
const sign = (raw: string | Buffer, key = SECRET) => createHmac('sha256', key).update(raw).digest('hex');
const good = sign(body);

describe('verifyIncomingWebhookRequest', () => {
  it('accepts a valid X-Keyway-Hmac-Sha256 or X-Nango-Hmac-Sha256, with the body as a string or Buffer', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-nango-hmac-sha256': good })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good, 'x-nango-hmac-sha256': good, 'content-type': 'application/json' })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(Buffer.from(body, 'utf8'), { 'x-keyway-hmac-sha256': good })).toBe(true);
    expect(verifyWebhookRequest(SECRET, body, { 'x-nango-hmac-sha256': good })).toBe(true);
    expect(WEBHOOK_SIGNATURE_HEADERS).toEqual(['x-keyway-hmac-sha256', 'x-nango-hmac-sha256']);
  });

  it('accepts the apiKey alias as the key', () => {
    const viaApiKey = new Nango({ host: 'http://127.0.0.1:3003', apiKey: SECRET });
    expect(viaApiKey.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good })).toBe(true);
  });

  it('rejects a tampered body', () => {
    expect(nango.verifyIncomingWebhookRequest(body.replace('creation', 'override'), { 'x-keyway-hmac-sha256': good })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body + ' ', { 'x-keyway-hmac-sha256': good })).toBe(false);
    // a re-serialized object is not the raw body
    expect(nango.verifyIncomingWebhookRequest(JSON.stringify(JSON.parse(body), null, 2), { 'x-keyway-hmac-sha256': good })).toBe(false);
  });

  it('rejects a signature made with another key', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': sign(body, 'another-key') })).toBe(false);
    expect(new Nango({ host: 'http://127.0.0.1:3003', secretKey: 'another-key' }).verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good })).toBe(false);
  });

  it('rejects a missing signature header (or an undefined value, or only the legacy X-Nango-Signature)', () => {
    expect(nango.verifyIncomingWebhookRequest(body, {})).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'content-type': 'application/json' })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': undefined })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-nango-signature': good })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': [] })).toBe(false);
  });

  it('rejects a signature of the wrong length or not hex, without throwing', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good.slice(0, 63) })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good + '00' })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good.slice(0, 32) })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': '' })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': 'z'.repeat(64) })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': `sha256=${good}` })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': Buffer.from(good, 'hex').toString('base64') })).toBe(false);
  });

  it('handles array header values: every value must be valid', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': [good] })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': [good, good] })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': ['0'.repeat(64), good] })).toBe(false);
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': [good, 'nope'] })).toBe(false);
  });

  it('matches header names case-insensitively and accepts upper-case hex', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'X-Keyway-Hmac-Sha256': good })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'X-NANGO-HMAC-SHA256': good })).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(body, { 'X-Keyway-Hmac-Sha256': good.toUpperCase() })).toBe(true);
  });

  it('rejects when two signature headers disagree (both present, one wrong)', () => {
    expect(nango.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': good, 'X-Nango-Hmac-Sha256': sign(body, 'another-key') })).toBe(false);
  });

  it('never throws on junk input', () => {
    const junk = nango as unknown as { verifyIncomingWebhookRequest(b: unknown, h: unknown): boolean };
    expect(junk.verifyIncomingWebhookRequest(undefined, { 'x-keyway-hmac-sha256': good })).toBe(false);
    expect(junk.verifyIncomingWebhookRequest(body, null)).toBe(false);
    expect(junk.verifyIncomingWebhookRequest(body, { 'x-keyway-hmac-sha256': 42 })).toBe(false);
    expect(verifyWebhookRequest('', body, { 'x-keyway-hmac-sha256': sign(body, '') })).toBe(false);
  });
});
