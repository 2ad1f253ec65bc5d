import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { createOutboundFetch, type HostResolver } from '../src/http/outbound.ts';
import { requestTwoStepToken } from '../src/oauth/two-step.ts';
import type { TwoStepTemplate } from '../src/templates/schema.ts';
import { validateTemplate } from '../src/templates/validate.ts';
import { lintTemplate } from '../src/templates/lint.ts';
import { atRest } from './support/json-db.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * TWO_STEP connections (Nango's auth mode): credentials the end user types, posted to the
 * template's token URL; the token kept, and obtained again the same way before it expires, when
 * the provider refuses it through the proxy, and single-flight for concurrent readers.
 */

/** The provider: a token endpoint and an API that accepts only the last token it issued. */
let provider: Server;
let url = '';
let issued = 0;
let lastToken = '';
/** What the token endpoint does next: answer, refuse the API's tokens, fail, or never answer. */
let mode: 'ok' | 'html' | 'unavailable' | 'hang' | 'not-found' = 'ok';
/** When set, the token endpoint answers this body instead (expiry formats). */
let answer: Record<string, unknown> | null = null;
/** The expiry the next token gets (the `expires` field of the answer). */
let nextExpiry = () => new Date(Date.now() + 3_600_000).toISOString();
const tokenRequests: { headers: IncomingMessage['headers']; body: any }[] = [];
const apiCalls: string[] = [];

function onRequest(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.url === '/auth' && req.method === 'POST') {
    const body = raw ? JSON.parse(raw) : {};
    tokenRequests.push({ headers: req.headers, body });
    if (mode === 'hang') return;
    if (answer) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    if (mode === 'unavailable') return void res.writeHead(503).end('{"error":"busy"}');
    if (mode === 'not-found') return void res.writeHead(404).end('{}');
    if (body.password !== 'right-password') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_login"}');
    lastToken = `t-${++issued}`;
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { token: lastToken, expires: nextExpiry() }, account: { id: 'acc-7' } }));
  }
  if (req.url?.startsWith('/api/')) {
    apiCalls.push(String(req.headers.authorization));
    if (req.headers.authorization !== `Bearer ${lastToken}`) return void res.writeHead(401).end('{"error":"expired"}');
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, site: req.headers['x-site'] }));
  }
  res.writeHead(404).end();
}

const template = (tokenUrl: string, extra: Record<string, unknown> = {}) => ({
  display_name: 'Two-step API',
  categories: ['hr'],
  docs: 'https://example.com/docs',
  auth_mode: 'TWO_STEP',
  credentials: { username: { title: 'Email' }, password: { title: 'Password', secret: true } },
  connection_config: { site: { title: 'Site', pattern: '[a-z]{2,10}' } },
  token_url: tokenUrl,
  body_format: 'json',
  token_headers: { 'x-client': 'keyway', authorization: 'Basic ${base64(${credentials.username}:${credentials.password})}' },
  token_params: { username: '${credentials.username}', password: '${credentials.password}', site: { contentUrl: '${connectionConfig.site}' } },
  token_response: { token: 'data.token', token_expiration: 'data.expires' },
  token_expires_in_ms: 3_600_000,
  token_response_metadata: ['account.id'],
  ...extra,
});

let kw: TestKeyway;
let client: KeywayNode;

beforeAll(async () => {
  provider = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => onRequest(req, res, raw));
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;
  kw = await startKeyway({
    templates: { 'two-step-api': template(`${url}/auth`, { proxy: { base_url: `${url}/api`, headers: { 'x-site': '${connectionConfig.site}' } } }) },
    config: { ...ALLOW_PUBLIC_KEY, providerTimeoutMs: 500 },
  });
  client = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY });
  await client.createIntegration({ unique_key: 'hr', provider: 'two-step-api' });
});
afterAll(async () => {
  await kw?.close();
  provider?.closeAllConnections();
  await new Promise((r) => provider?.close(r));
});
beforeEach(() => {
  mode = 'ok';
  answer = null;
  nextExpiry = () => new Date(Date.now() + 3_600_000).toISOString();
});

const connect = (id: string, body: unknown, path = '/auth/two-step/hr') =>
  fetch(`${kw.url}${path}?connection_id=${id}&public_key=${PUBLIC_KEY}&params[site]=acme`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
const connection = (id: string) => kw.api(`/connections/${id}?provider_config_key=hr`);
const GOOD = { username: 'ana@example.com', password: 'right-password' };

describe('TWO_STEP connect', () => {
  it('posts the typed credentials as the template says and stores the token, encrypted, with its expiry', async () => {
    const expires = new Date(Date.now() + 3_600_000);
    nextExpiry = () => expires.toISOString();
    const res = await connect('c1', GOOD);
    expect(res).toMatchObject({ status: 200, body: { providerConfigKey: 'hr', connectionId: 'c1' } });
    const sent = tokenRequests.at(-1)!;
    expect(sent.body).toEqual({ username: GOOD.username, password: GOOD.password, site: { contentUrl: 'acme' } });
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers['x-client']).toBe('keyway');
    expect(sent.headers.authorization).toBe(`Basic ${Buffer.from(`${GOOD.username}:${GOOD.password}`).toString('base64')}`);

    const { status, body } = await connection('c1');
    expect(status).toBe(200);
    // Nango's TwoStepCredentials: the typed fields, the token, its expiry, the answer.
    expect(body.credentials).toMatchObject({ type: 'TWO_STEP', token: lastToken, expires_at: expires.toISOString(), username: GOOD.username, password: GOOD.password });
    expect(body.connection_config).toMatchObject({ site: 'acme', 'account.id': 'acc-7' });
    const db = await atRest(kw.config.dbPath);
    for (const secret of [GOOD.password, lastToken]) expect(db).not.toContain(secret);
  });

  it('answers at /api-auth/two-step too, and takes the type marker of Nango\'s browser SDK', async () => {
    expect((await connect('c1b', GOOD, '/api-auth/two-step/hr')).status).toBe(200);
    expect((await connect('c1c', { type: 'TWO_STEP', ...GOOD })).status).toBe(200);
    expect(tokenRequests.at(-1)!.body.username).toBe(GOOD.username);
    const { body } = await connection('c1c');
    expect(body.credentials.type).toBe('TWO_STEP');
    expect(Object.keys(body.credentials).sort()).toEqual(['expires_at', 'password', 'raw', 'token', 'type', 'username']);
  });

  it.each([
    ['refuses the credentials (401)', 'ok', { ...GOOD, password: 'wrong' }, 400, 'invalid_credentials'],
    ['answers HTML', 'html', GOOD, 502, 'token_err'],
    ['is unavailable (503)', 'unavailable', GOOD, 502, 'token_err'],
    ['has no such endpoint (404)', 'not-found', GOOD, 502, 'token_err'],
    ['never answers', 'hang', GOOD, 504, 'provider_timeout'],
  ] as const)('stores nothing when the provider %s', async (_n, m, body, status, code) => {
    mode = m;
    const before = await atRest(kw.config.dbPath);
    const res = await connect('c2', body);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(await atRest(kw.config.dbPath)).toBe(before);
  });

  it.each([
    ['a missing field', { username: 'a@b.c' }],
    ['an undeclared field', { ...GOOD, extra: 'x' }],
    ['a control character', { ...GOOD, username: 'a\r\nX-Injected: 1' }],
  ])('refuses %s before any request', async (_n, body) => {
    const before = tokenRequests.length;
    const res = await connect('c3', body);
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_credentials']);
    expect(tokenRequests.length).toBe(before);
  });

  it('lets the public key create but never replace a connection', async () => {
    expect((await connect('c4', GOOD)).status).toBe(200);
    const again = await connect('c4', GOOD);
    expect([again.status, again.body.error.code]).toEqual([409, 'connection_exists']);
  });
});

describe('TWO_STEP renewal', () => {
  it('posts the stored credentials again once for 20 concurrent readers of an expired token', async () => {
    nextExpiry = () => new Date(Date.now() - 1000).toISOString(); // the first token is already expired
    expect((await connect('r1', GOOD)).status).toBe(200);
    const expired = lastToken;
    nextExpiry = () => new Date(Date.now() + 3_600_000).toISOString();
    const before = tokenRequests.length;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => connection('r1').then((r) => r.body.credentials.token)));
    expect(tokenRequests.length - before).toBe(1);
    expect(new Set(tokens)).toEqual(new Set([lastToken]));
    expect(lastToken).not.toBe(expired);
    expect(tokenRequests.at(-1)!.body).toEqual({ username: GOOD.username, password: GOOD.password, site: { contentUrl: 'acme' } });
  });

  it('proxy: a 401 from the API gets one new token and one retry, for 20 concurrent calls', async () => {
    expect((await connect('p1', GOOD)).status).toBe(200);
    // Another token is issued behind our back: the stored one is now refused by the API.
    const other = await fetch(`${url}/auth`, { method: 'POST', body: JSON.stringify(GOOD) });
    expect(other.status).toBe(200);
    const before = tokenRequests.length;
    const calls = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${kw.url}/proxy/items`, { headers: { authorization: `Bearer ${SECRET_KEY}`, 'Connection-Id': 'p1', 'Provider-Config-Key': 'hr' } }).then(async (r) => [r.status, await r.json()]),
      ),
    );
    for (const [status, body] of calls) expect([status, body]).toEqual([200, { ok: true, site: 'acme' }]);
    expect(tokenRequests.length - before).toBe(1);
  });

  it('records a refused renewal and backs off instead of posting again', async () => {
    nextExpiry = () => new Date(Date.now() - 1000).toISOString();
    expect((await connect('b1', GOOD)).status).toBe(200);
    mode = 'not-found'; // the provider now refuses the stored credentials for good
    const first = await connection('b1');
    expect([first.status, first.body.error.code]).toEqual([400, 'refresh_failed']);
    const before = tokenRequests.length;
    const second = await connection('b1');
    expect([second.status, second.body.error.code]).toEqual([424, 'refresh_backoff']);
    expect(tokenRequests.length).toBe(before);
  });
});

describe('TWO_STEP import (POST /connections)', () => {
  const post = (body: unknown) => kw.api('/connections', { method: 'POST', body: JSON.stringify(body) });
  /** What Nango's GET /connection answers for a TWO_STEP connection: the typed fields beside the token. */
  const nangoShape = (extra: Record<string, unknown> = {}) => ({ type: 'TWO_STEP', ...GOOD, token: 'from-nango', expires_at: new Date(Date.now() - 60_000).toISOString(), raw: { data: { token: 'from-nango' } }, ...extra });

  it('stores Nango\'s two-step credentials encrypted; an expired imported token is renewed by posting the imported fields', async () => {
    const res = await post({ provider_config_key: 'hr', connection_id: 'imp1', credentials: nangoShape({ refresh_token: 'nango-only' }), connection_config: { site: 'acme' } });
    expect(res.status).toBe(201);
    expect(res.body.credentials).toMatchObject({ type: 'TWO_STEP', token: 'from-nango', username: GOOD.username, password: GOOD.password });
    expect(res.body.credentials).not.toHaveProperty('refresh_token');
    const db = await atRest(kw.config.dbPath);
    for (const secret of [GOOD.password, 'from-nango']) expect(db).not.toContain(secret);

    const before = tokenRequests.length;
    const { status, body } = await connection('imp1');
    expect(status).toBe(200);
    expect(tokenRequests.length - before).toBe(1);
    expect(tokenRequests.at(-1)!.body).toEqual({ username: GOOD.username, password: GOOD.password, site: { contentUrl: 'acme' } });
    expect(body.credentials).toMatchObject({ type: 'TWO_STEP', token: lastToken, username: GOOD.username });
    expect(body.credentials.token).not.toBe('from-nango');
    expect(Date.parse(body.credentials.expires_at)).toBeGreaterThan(Date.now());
  });

  it('keeps a token that has not expired, without a request', async () => {
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    expect((await post({ provider_config_key: 'hr', connection_id: 'imp2', credentials: nangoShape({ expires_at: expires }), connection_config: { site: 'acme' } })).status).toBe(201);
    const before = tokenRequests.length;
    const { body } = await connection('imp2');
    expect(body.credentials).toMatchObject({ token: 'from-nango', expires_at: expires });
    expect(tokenRequests.length).toBe(before);
  });

  it.each([
    ['no token', { token: undefined }, 'invalid_body'],
    ['a token that is not a string', { token: 42 }, 'invalid_body'],
    ['an expiry that is not a date', { expires_at: 'soon' }, 'invalid_body'],
    ['a raw answer that is not an object', { raw: 'text' }, 'invalid_body'],
    ['another auth mode', { type: 'API_KEY' }, 'invalid_body'],
    ['a missing field', { password: undefined }, 'invalid_credentials'],
    ['an undeclared field', { tenant: 'x' }, 'invalid_credentials'],
    ['a control character in a field', { username: 'a\r\nX-Injected: 1' }, 'invalid_credentials'],
  ])('refuses %s with a typed 400, storing nothing and sending nothing', async (_n, change, code) => {
    const before = [await atRest(kw.config.dbPath), tokenRequests.length];
    const res = await post({ provider_config_key: 'hr', connection_id: 'imp3', credentials: nangoShape(change), connection_config: { site: 'acme' } });
    expect([res.status, res.body.error?.code]).toEqual([400, code]);
    expect([await atRest(kw.config.dbPath), tokenRequests.length]).toEqual(before);
  });

  it('checks the template\'s inputs as the connect route does', async () => {
    const res = await post({ provider_config_key: 'hr', connection_id: 'imp4', credentials: nangoShape(), connection_config: { site: 'NOT/valid' } });
    expect([res.status, res.body.error?.code]).toEqual([400, 'invalid_connection_config']);
  });
});

describe('TWO_STEP token_url hosts', () => {
  /** Public-looking names that answer loopback (the guard is what refuses them, not the name). */
  const resolveHost: HostResolver = async (name) => {
    if (name === 'loopback.looks-public.example') return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`${name} is not in the stub`), { code: 'ENOTFOUND' });
  };
  const HOST = { title: 'Host', pattern: '(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9](?::[0-9]{1,5})?|[0-9.]+|localhost', example: 'erp.example.com' };
  let guarded: TestKeyway;
  beforeAll(async () => {
    guarded = await startKeyway({
      templates: { 'two-step-host': template('https://${connectionConfig.host}/auth', { connection_config: { host: HOST, site: { title: 'Site', pattern: '[a-z]{2,10}' } } }) },
      config: { ...ALLOW_PUBLIC_KEY, allowPrivateNetwork: false },
      overrides: { resolveHost },
    });
    await new KeywayNode({ host: guarded.url, secretKey: SECRET_KEY }).createIntegration({ unique_key: 'erp', provider: 'two-step-host' });
  });
  afterAll(async () => guarded?.close());

  it.each([
    ['an IP literal', '127.0.0.1', 400, 'invalid_connection_config'],
    ['localhost', 'localhost', 400, 'invalid_connection_config'],
    ['a name that resolves to loopback', 'loopback.looks-public.example', 400, 'private_address_refused'],
  ])('refuses %s as the token host and stores nothing', async (_n, host, status, code) => {
    const before = await atRest(guarded.config.dbPath);
    const res = await fetch(`${guarded.url}/auth/two-step/erp?connection_id=h1&public_key=${PUBLIC_KEY}&params[site]=acme&params[host]=${host}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(GOOD),
    });
    const body = (await res.json()) as any;
    expect([res.status, body.error.code]).toEqual([status, code]);
    expect(await atRest(guarded.config.dbPath)).toBe(before);
  });
});

describe('TWO_STEP token lifetimes', () => {
  const NOW = Date.parse('2026-11-30T12:00:00Z');
  const outbound = createOutboundFetch({ allowPrivateNetwork: true });
  afterAll(() => outbound.close());
  const obtain = (tokenResponse: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    requestTwoStepToken({
      template: validateTemplate('lifetimes', { ...template(`${url}/auth`), token_response: tokenResponse, ...extra }) as TwoStepTemplate,
      fields: GOOD,
      config: { site: 'acme' },
      timeoutMs: 1000,
      fetch: outbound,
      now: () => NOW,
    });

  it.each([
    ['a date', { token: 't', exp: '2026-11-30T13:00:00Z' }, { token: 'token', token_expiration: 'exp' }, '2026-11-30T13:00:00.000Z'],
    ['epoch seconds', { token: 't', exp: NOW / 1000 + 60 }, { token: 'token', token_expiration: 'exp' }, '2026-11-30T12:01:00.000Z'],
    ['epoch milliseconds', { token: 't', exp: NOW + 120_000 }, { token: 'token', token_expiration: 'exp' }, '2026-11-30T12:02:00.000Z'],
    ['expires_in seconds', { token: 't', d: { ttl: '300' } }, { token: 'token', expires_in: 'd.ttl' }, '2026-11-30T12:05:00.000Z'],
    ["Nango's expireIn strategy", { token: 't', exp: 600 }, { token: 'token', token_expiration: 'exp', token_expiration_strategy: 'expireIn' }, '2026-11-30T12:10:00.000Z'],
    ['nothing: the default lifetime', { token: 't' }, { token: 'token', token_expiration: 'exp' }, '2026-11-30T13:00:00.000Z'],
  ])('reads %s', async (_n, body, tokenResponse, expiresAt) => {
    answer = body;
    const creds = await obtain(tokenResponse);
    expect([creds.access_token, creds.expires_at, creds.obtained_at]).toEqual(['t', expiresAt, new Date(NOW).toISOString()]);
  });

  it('refuses an answer without a token where the template says (nothing to store)', async () => {
    answer = { access_token: 'elsewhere' };
    await expect(obtain({ token: 'data.token' })).rejects.toMatchObject({ code: 'token_err', transient: false });
  });
});

describe('TWO_STEP template validation', () => {
  const base = template('https://auth.example.com/token');
  const problem = (change: Record<string, unknown>) => {
    try {
      validateTemplate('t', { ...base, ...change });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('accepts a complete template, which the lint passes once it has a proxy', () => {
    expect(problem({})).toBeNull();
    expect(lintTemplate(validateTemplate('t', { ...base, verified: { source: 'https://example.com/docs', date: '2026-11-30' }, proxy: { base_url: 'https://api.example.com' } }))).toEqual([]);
  });

  it.each([
    ['credentials in the token URL', { token_url: 'https://auth.example.com/${credentials.username}' }, 'token_url'],
    ['an undeclared credential in a parameter', { token_params: { user: '${credentials.email}' } }, 'credentials'],
    ['an undeclared input in a header', { token_headers: { 'x-tenant': '${connectionConfig.tenant}' } }, 'connection_config'],
    ['no token path', { token_response: {} }, 'token_response.token'],
    ['a token path that is not a dot-path', { token_response: { token: 'a..b' } }, 'token_response.token'],
    ['two expiries', { token_response: { token: 't', token_expiration: 'e', expires_in: 'x' } }, 'token_response'],
    ['a nested form body', { body_format: 'form' }, 'token_params.site'],
    ['a transport header', { token_headers: { Host: 'evil.example.com' } }, 'token_headers.Host'],
    ['a method other than POST, GET or PUT', { token_request_method: 'DELETE' }, 'token_request_method'],
    ['no credentials', { credentials: {} }, 'credentials'],
    ['an http token URL to a public host', { token_url: 'http://auth.example.com/token' }, 'token_url'],
    ['an OAuth field', { authorization_url: 'https://auth.example.com/authorize' }, 'authorization_url'],
  ])('refuses %s', (_n, change, field) => {
    expect(problem(change)).toContain(`\`${field}\``);
  });

  it('the lint wants a lifetime when the answer gives none', () => {
    const { token_expires_in_ms: _, ...withoutDefault } = base;
    const t = validateTemplate('t', { ...withoutDefault, token_response: { token: 'data.token' }, verified: { source: 'https://example.com/docs', date: '2026-11-30' }, proxy: { base_url: 'https://api.example.com' } });
    expect(lintTemplate(t)).toEqual([expect.stringContaining('token_expires_in_ms')]);
  });
});
