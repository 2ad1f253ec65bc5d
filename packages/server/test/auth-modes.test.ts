import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { atRest } from './support/json-db.ts';

/** API_KEY, BASIC and OAUTH2_CC connections: validation, verification at the provider, encryption, renewal. */
const APP = 'http://127.0.0.1:5998';
let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let kw: TestKeyway;
let client: KeywayNode;
let verify: { status: number; hang?: boolean } = { status: 200 };
/** Auth webhooks the server sent, parsed. */
const hooks: { connectionId: string; authMode: string; operation: string }[] = [];
let receiver: Server;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      hooks.push(JSON.parse(raw));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  provider = await startFakeProvider();
  provider.onToken((req, body, res) => {
    if (req.url?.startsWith('/verify')) {
      if (!verify.hang) res.writeHead(verify.status).end('{}');
      return;
    }
    if (body.get('grant_type') === 'client_credentials') return json(res, 200, { access_token: `cc-${Date.now()}-${Math.random()}`, token_type: 'bearer', expires_in: 2, org: { id: 'o1' } });
    res.writeHead(400).end();
  });
  const base = { categories: ['other'], docs: 'https://example.com/docs' };
  kw = await startKeyway({
    templates: {
      'key-api': {
        ...base, display_name: 'Key API', auth_mode: 'API_KEY',
        credentials: { apiKey: { title: 'API key', pattern: 'sk_(test|live)_[A-Za-z0-9]{6,}' }, account: { title: 'Account id' } },
        verification: { url: `${provider.url}/verify/\${credentials.account}`, headers: { Authorization: 'Bearer ${credentials.apiKey}' } },
      },
      'basic-api': {
        ...base, display_name: 'Basic API', auth_mode: 'BASIC',
        credentials: { username: { title: 'Email' }, password: { title: 'API token' } },
        verification: { url: `${provider.url}/verify/basic` },
      },
      'cc-api': { ...base, display_name: 'CC API', auth_mode: 'OAUTH2_CC', token_url: `${provider.url}/token`, default_scopes: ['read', 'write'], token_request_auth_method: 'body', token_response_metadata: ['org.id'] },
    },
    config: { ...ALLOW_PUBLIC_KEY, allowedOrigins: [APP], providerTimeoutMs: 500, webhookUrl: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks` },
  });
  client = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY });
  for (const [key, provider] of [['key', 'key-api'], ['basic', 'basic-api'], ['cc', 'cc-api']]) {
    await client.createIntegration({ unique_key: key!, provider: provider! });
  }
});
afterAll(async () => {
  await kw?.close();
  await provider?.close();
  await new Promise((r) => receiver?.close(r));
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${kw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }));
const db = () => atRest(kw.config.dbPath);

describe('API_KEY', () => {
  it('verifies the key at the provider, stores it encrypted, and getToken returns the credentials', async () => {
    verify = { status: 200 };
    const res = await post(`/api-auth/api-key/key?connection_id=u1&public_key=${PUBLIC_KEY}`, { apiKey: 'sk_test_abcdef123', account: 'acct-9' });
    expect(res).toMatchObject({ status: 200, body: { providerConfigKey: 'key', connectionId: 'u1' } });
    const check = provider.requests.at(-1)!;
    expect(check.headers.authorization).toBe('Bearer sk_test_abcdef123');
    expect(await client.getToken('key', 'u1')).toEqual({ type: 'API_KEY', apiKey: 'sk_test_abcdef123', account: 'acct-9' });
    expect(await db()).not.toContain('sk_test_abcdef123');
  });

  const bad: [string, unknown, number, string][] = [
    ['a missing key', { account: 'a' }, 400, 'invalid_credentials'],
    ['a key of the wrong format', { apiKey: 'nope', account: 'a' }, 400, 'invalid_credentials'],
    ['an undeclared field', { apiKey: 'sk_test_abcdef123', account: 'a', extra: 'x' }, 400, 'invalid_credentials'],
    ['a control character', { apiKey: 'sk_test_abcdef123', account: 'a\r\nX-Injected: 1' }, 400, 'invalid_credentials'],
    ['an array body', [1], 400, 'invalid_body'],
  ];
  it.each(bad)('refuses %s, storing nothing', async (_n, body, status, code) => {
    const before = await db();
    const res = await post(`/api-auth/api-key/key?connection_id=u2&public_key=${PUBLIC_KEY}`, body);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(await db()).toBe(before);
  });

  it.each([
    ['refuses the key (401)', { status: 401 }, 400, 'invalid_credentials'],
    ['fails (500)', { status: 500 }, 424, 'verification_failed'],
    ['never answers', { status: 200, hang: true }, 504, 'provider_timeout'],
  ])('stores nothing when the provider %s', async (_n, v, status, code) => {
    verify = v;
    const before = await db();
    const res = await post(`/api-auth/api-key/key?connection_id=u3&public_key=${PUBLIC_KEY}`, { apiKey: 'sk_test_abcdef123', account: 'a' });
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(await db()).toBe(before);
    verify = { status: 200 };
  });

  it('needs the public key, refuses other pages, and answers preflights for allowed ones', async () => {
    expect((await post('/api-auth/api-key/key?connection_id=u4', { apiKey: 'sk_test_abcdef123', account: 'a' })).body.error.code).toBe('missing_public_key');
    const evil = await post(`/api-auth/api-key/key?connection_id=u4&public_key=${PUBLIC_KEY}`, { apiKey: 'sk_test_abcdef123', account: 'a' }, { origin: 'https://evil.example' });
    expect([evil.status, evil.body.error.code, evil.headers.get('access-control-allow-origin')]).toEqual([403, 'origin_not_allowed', null]);
    const pre = await fetch(`${kw.url}/api-auth/api-key/key`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    expect([pre.status, pre.headers.get('access-control-allow-origin'), pre.headers.get('access-control-allow-headers')]).toEqual([204, APP, 'Content-Type']);
    const ok = await post(`/api-auth/api-key/key?connection_id=u4&public_key=${PUBLIC_KEY}`, { apiKey: 'sk_test_abcdef123', account: 'a' }, { origin: APP });
    expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([200, APP]);
  });

  it('refuses the wrong mode on each route', async () => {
    expect((await post(`/api-auth/basic/key?connection_id=u5&public_key=${PUBLIC_KEY}`, { username: 'a', password: 'b' })).body.error.code).toBe('wrong_auth_mode');
    const oauth = await fetch(`${kw.url}/oauth/connect/key?connection_id=u5&public_key=${PUBLIC_KEY}`, { headers: { accept: 'application/json' } });
    expect(((await oauth.json()) as any).error.code).toBe('wrong_auth_mode');
  });
});

describe('BASIC', () => {
  it('sends HTTP Basic to the verification endpoint and stores the pair', async () => {
    const res = await post(`/api-auth/basic/basic?connection_id=b1&public_key=${PUBLIC_KEY}`, { username: 'me@example.com', password: 'tok:en' });
    expect(res.status).toBe(200);
    expect(provider.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('me@example.com:tok:en').toString('base64')}`);
    expect(await client.getToken('basic', 'b1')).toEqual({ type: 'BASIC', username: 'me@example.com', password: 'tok:en' });
    expect(await db()).not.toContain('tok:en');
  });
});

describe('OAUTH2_CC', () => {
  it('mints a token from the backend, keeps token metadata, re-mints near expiry, and never shows the client secret', async () => {
    const res = await kw.api('/auth/oauth2-cc/cc', { method: 'POST', body: JSON.stringify({ connection_id: 'svc', client_id: 'their-id', client_secret: 'their-secret-value' }) });
    expect(res).toMatchObject({ status: 200, body: { providerConfigKey: 'cc', connectionId: 'svc' } });
    const mint = provider.requests.at(-1)!;
    expect(mint.body.get('grant_type')).toBe('client_credentials');
    expect(mint.body.get('scope')).toBe('read write');
    expect(mint.body.get('client_id')).toBe('their-id');
    const first = (await client.getToken('cc', 'svc')) as unknown as { type: string; token: string };
    expect(first).toMatchObject({ type: 'OAUTH2_CC', token: expect.stringMatching(/^cc-/), client_id: 'their-id' });
    expect(JSON.stringify(await client.getConnection('cc', 'svc'))).not.toContain('their-secret-value');
    expect((await client.getConnection('cc', 'svc')).connection_config).toEqual({ 'org.id': 'o1' });
    expect(await db()).not.toContain('their-secret-value');
    await new Promise((r) => setTimeout(r, 1600)); // past three quarters of the 2 s lifetime
    const second = (await client.getToken('cc', 'svc')) as unknown as { token: string };
    expect(second.token).not.toBe(first.token);
  });

  it('refuses a half-given client and the wrong mode', async () => {
    const half = await kw.api('/auth/oauth2-cc/cc', { method: 'POST', body: JSON.stringify({ connection_id: 'x', client_id: 'a' }) });
    expect([half.status, half.body.error.code]).toEqual([400, 'invalid_body']);
    const wrong = await kw.api('/auth/oauth2-cc/key', { method: 'POST', body: JSON.stringify({ connection_id: 'x' }) });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'wrong_auth_mode']);
  });
});

describe('auth webhooks', () => {
  it("carry the connection's real auth mode (API_KEY, BASIC, OAUTH2_CC), not OAUTH2", async () => {
    const modeOf = (id: string) => hooks.find((h) => h.connectionId === id)?.authMode;
    await expect.poll(() => [modeOf('u1'), modeOf('b1'), modeOf('svc')]).toEqual(['API_KEY', 'BASIC', 'OAUTH2_CC']);
  });
});
