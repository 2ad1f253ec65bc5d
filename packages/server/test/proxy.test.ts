import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { Nango as NangoNode } from '@nangohq/node';
import { PUBLIC_KEY, SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/** The proxy against APIs on 127.0.0.1: credentials per auth mode, refresh on 401, retries, streaming, host policy. */
type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An API server whose answer each test chooses; it records what it got (bodies of up to 1 MB). */
async function startApi() {
  const seen: Seen[] = [];
  let handler: Handler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: body.toString() });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    on: (h: Handler) => (handler = h),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
type Api = Awaited<ReturnType<typeof startApi>>;

let api: Api;
let other: Api;
let kw: TestKeyway;
let sleeps: number[] = [];
const logs: string[] = [];
/** The token endpoint: each refresh mints a new token; the API accepts only the latest. */
let refreshes = 0;
let current = 'at-0';

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

beforeAll(async () => {
  api = await startApi();
  other = await startApi();
  const base = { categories: ['other'], docs: 'https://example.com/docs' };
  const proxy = { base_url: `${api.url}/v1` };
  kw = await startKeyway({
    logs,
    templates: {
      'px-oauth': {
        ...base, display_name: 'OAuth API', auth_mode: 'OAUTH2', authorization_url: `${api.url}/auth`, token_url: `${api.url}/token`, token_request_auth_method: 'body',
        connection_config: { account: { title: 'Account', pattern: '^[0-9]+$', optional: true }, region: { title: 'Region', enum: ['eu', 'us'], default_value: 'eu', optional: true } },
        proxy: { ...proxy, headers: { 'x-api-version': '2026-01', 'x-account-id': '${connectionConfig.account}', 'x-client-id': '${integration.clientId}', 'x-region': '${connectionConfig.region}' }, retry: { at: ['x-ratelimit-reset'] } },
      },
      'px-origin': {
        ...base, display_name: 'Origin from the token response', auth_mode: 'OAUTH2', authorization_url: `${api.url}/auth`, token_url: `${api.url}/token`, token_request_auth_method: 'body',
        token_response_metadata: ['instance_url'], proxy: { base_url: '${connectionConfig.instance_url}/services/data/v62.0' },
      },
      'px-key-header': { ...base, display_name: 'Header key', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } }, proxy: { ...proxy, headers: { 'x-api-key': '${apiKey}' } } },
      'px-key-query': { ...base, display_name: 'Query key', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } }, proxy: { ...proxy, query: { api_key: '${credentials.apiKey}' } } },
      'px-key-verify': {
        ...base, display_name: 'Verified key', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } },
        verification: { url: `${api.url}/v1/me`, headers: { Authorization: 'Token ${credentials.apiKey}' } }, proxy,
      },
      'px-key-none': { ...base, display_name: 'Key without placement', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } }, proxy },
      'px-basic': { ...base, display_name: 'Basic API', auth_mode: 'BASIC', credentials: { username: { title: 'User' }, password: { title: 'Password' } }, proxy },
      'px-no-proxy': { ...base, display_name: 'No proxy', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } } },
    },
    overrides: { proxySleep: async (ms) => void sleeps.push(ms), proxyTiming: { retryBudgetMs: 60_000 } },
  });
  const admin = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY });
  for (const [key, provider] of [['oauth', 'px-oauth'], ['hk', 'px-key-header'], ['qk', 'px-key-query'], ['vk', 'px-key-verify'], ['nk', 'px-key-none'], ['basic', 'px-basic'], ['np', 'px-no-proxy']] as const) {
    await admin.createIntegration({ unique_key: key, provider, ...(key === 'oauth' && { credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'csecret' } }) } as never);
  }
  const upsert = (providerConfigKey: string, provider: string, credentials: unknown) =>
    kw.keyway.connections.upsert({ providerConfigKey, connectionId: 'u1', provider, credentials: credentials as never, connectionConfig: {}, endUser: null });
  await upsert('oauth', 'px-oauth', { type: 'OAUTH2', access_token: 'at-0', refresh_token: 'rt', expires_at: new Date(Date.now() + 3_600_000).toISOString(), obtained_at: new Date().toISOString(), raw: {} });
  for (const key of ['hk', 'qk', 'vk', 'nk', 'np']) await upsert(key, `px-key-${key}`, { type: 'API_KEY', apiKey: 'sk_live_123', fields: {} });
  await upsert('basic', 'px-basic', { type: 'BASIC', username: 'ann', password: 'p@ss:word', fields: {} });
  await admin.createIntegration({ unique_key: 'origin', provider: 'px-origin', credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'csecret' } } as never);
  const token = { type: 'OAUTH2', access_token: 'at-origin', expires_at: new Date(Date.now() + 3_600_000).toISOString(), obtained_at: new Date().toISOString(), raw: {} } as never;
  for (const [id, instance_url] of [['u1', api.url], ['path', `${api.url}/other`], ['query', `${api.url}?x=1`], ['text', 'not a url']]) {
    await kw.keyway.connections.upsert({ providerConfigKey: 'origin', connectionId: id!, provider: 'px-origin', credentials: token, connectionConfig: { instance_url: instance_url! }, endUser: null });
  }
});
afterAll(async () => {
  await kw?.close();
  await api?.close();
  await other?.close();
});
beforeEach(() => {
  api.seen.length = 0;
  other.seen.length = 0;
  sleeps = [];
  /** The default API: the latest token (or any non-OAuth credential) gets 200 and an echo. */
  api.on((req, body, res) => {
    if (req.url === '/token') {
      refreshes++;
      current = `at-${refreshes}`;
      // A slow refresh, so that concurrent 401s overlap it.
      setTimeout(() => json(res, 200, { access_token: current, refresh_token: 'rt', expires_in: 3600, token_type: 'bearer' }), 50);
      return;
    }
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Bearer ') && auth !== `Bearer ${current}`) return json(res, 401, { message: 'token expired' });
    json(res, 200, { path: req.url, method: req.method, body: body.toString() });
  });
});

const proxy = (path: string, headers: Record<string, string>, init: RequestInit = {}) =>
  fetch(`${kw.url}/proxy${path}`, { ...init, headers: { authorization: `Bearer ${SECRET_KEY}`, ...headers } });
const as = (key: string) => ({ 'Connection-Id': 'u1', 'Provider-Config-Key': key });

describe('credentials, as the template says', () => {
  it('OAuth 2: a Bearer token and the template headers; never Keyway\'s Authorization, cookies or hop-by-hop headers; Nango-Proxy- headers passed on', async () => {
    const res = await proxy('/users/42?expand=a%20b&x=1', { ...as('oauth'), cookie: 'session=s', 'Nango-Proxy-X-Trace': 't-1', 'Nango-Proxy-Connection': 'close', 'Nango-Proxy-Content-Length': '99' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ path: '/v1/users/42?expand=a%20b&x=1', method: 'GET' });
    const { headers } = api.seen.at(-1)!;
    expect(headers.authorization).toBe(`Bearer ${current}`);
    expect(headers['x-api-version']).toBe('2026-01');
    expect(headers['x-client-id']).toBe('cid');
    // An input added to the template after the connection was made: its default stands in.
    expect(headers['x-region']).toBe('eu');
    expect(headers['x-trace']).toBe('t-1');
    expect(headers.cookie).toBeUndefined();
    expect(headers['connection-id']).toBeUndefined();
    expect(headers['provider-config-key']).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain(SECRET_KEY);
    // A header from an input the connection does not have is not sent empty.
    expect(headers).not.toHaveProperty('x-account-id');
  });

  it('a base URL that starts with an origin the token response gave (Salesforce\'s instance_url) goes there, and only to a bare origin', async () => {
    api.on((req, _body, res) => json(res, 200, { path: req.url }));
    const res = await fetch(`${kw.url}/proxy/sobjects?limit=1`, { headers: { authorization: `Bearer ${SECRET_KEY}`, 'provider-config-key': 'origin', 'connection-id': 'u1' } });
    expect(res.status).toBe(200);
    expect(api.seen.at(-1)).toMatchObject({ url: '/services/data/v62.0/sobjects?limit=1', headers: { authorization: 'Bearer at-origin' } });
    for (const id of ['path', 'query', 'text']) {
      const refused = await fetch(`${kw.url}/proxy/sobjects`, { headers: { authorization: `Bearer ${SECRET_KEY}`, 'provider-config-key': 'origin', 'connection-id': id } });
      expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code], id).toEqual([400, 'invalid_connection_config']);
    }
    expect(api.seen).toHaveLength(1);
  });

  it('a caller\'s Nango-Proxy- header replaces a template default (an API version), never the credential', async () => {
    const res = await proxy('/users', { ...as('oauth'), 'Nango-Proxy-X-Api-Version': '2027-04', 'Nango-Proxy-Authorization': 'Bearer not-the-token' });
    expect(res.status).toBe(200);
    const { headers } = api.seen.at(-1)!;
    expect([headers['x-api-version'], headers.authorization]).toEqual(['2027-04', `Bearer ${current}`]);
  });

  it.each([
    ['an API key in a header (proxy.headers)', 'hk', (s: Seen) => [s.headers['x-api-key'], s.headers.authorization, s.url], ['sk_live_123', undefined, '/v1/items']],
    ['an API key in the query (proxy.query)', 'qk', (s: Seen) => [s.headers.authorization, s.url], [undefined, '/v1/items?api_key=sk_live_123']],
    ['an API key where the verification request puts it', 'vk', (s: Seen) => [s.headers.authorization], ['Token sk_live_123']],
    ['HTTP Basic', 'basic', (s: Seen) => [s.headers.authorization], [`Basic ${Buffer.from('ann:p@ss:word').toString('base64')}`]],
  ])('%s', async (_name, key, pick, expected) => {
    const res = await proxy('/items', as(key));
    expect(res.status).toBe(200);
    expect(pick(api.seen.at(-1)!)).toEqual(expected);
  });

  it('refuses a template that does not say where the key goes, or has no proxy.base_url, before any request', async () => {
    for (const key of ['nk', 'np']) {
      const res = await proxy('/items', as(key));
      expect([res.status, ((await res.json()) as any).error.code]).toEqual([400, 'proxy_not_configured']);
    }
    expect(api.seen).toHaveLength(0);
  });

  it('requires the secret key, and a known connection', async () => {
    expect((await fetch(`${kw.url}/proxy/items`, { headers: as('oauth') })).status).toBe(401);
    expect((await proxy('/items', { ...as('oauth'), authorization: `Bearer ${PUBLIC_KEY}` })).status).toBe(401);
    const unknown = await proxy('/items', { ...as('oauth'), 'Connection-Id': 'nobody' });
    expect([unknown.status, ((await unknown.json()) as any).error.code]).toEqual([404, 'unknown_connection']);
    const missing = await proxy('/items', { 'Provider-Config-Key': 'oauth' });
    expect(((await missing.json()) as any).error.code).toBe('missing_connection_id');
    expect(api.seen).toHaveLength(0);
  });
});

describe('the provider\'s answer', () => {
  it('passes status, headers and body through, and the request body and method to the provider', async () => {
    api.on((req, body, res) => res.writeHead(418, { 'content-type': 'text/plain', 'x-provider': 'yes' }).end(`teapot ${req.method} ${body.toString()}`));
    const res = await proxy('/brew', { ...as('hk'), 'content-type': 'application/json' }, { method: 'PATCH', body: '{"a":1}' });
    expect([res.status, res.headers.get('x-provider'), await res.text()]).toEqual([418, 'yes', 'teapot PATCH {"a":1}']);
    expect(api.seen.at(-1)!.headers['content-type']).toBe('application/json');
  });

  it('drops hop-by-hop headers of the answer, and those its Connection header names', async () => {
    api.on((_req, _body, res) => res.writeHead(200, { connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'proxy-authenticate': 'Basic', 'keep-alive': 'timeout=999', 'x-end': 'kept' }).end('ok'));
    const res = await proxy('/hop', as('hk'));
    expect([res.headers.get('x-hop'), res.headers.get('proxy-authenticate'), res.headers.get('x-end')]).toEqual([null, null, 'kept']);
    expect(res.headers.get('keep-alive')).not.toBe('timeout=999'); // Keyway's own connection may send one
    expect(await res.text()).toBe('ok');
  });

  it('streams a compressed body as it is, or decoded with Decompress: true', async () => {
    const gz = gzipSync('hello '.repeat(1000));
    api.on((_req, _body, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end(gz));
    const raw = await proxy('/file', { ...as('hk'), 'accept-encoding': 'identity' });
    expect(raw.headers.get('content-encoding')).toBe('gzip');
    expect(await raw.text()).toBe('hello '.repeat(1000)); // fetch decodes it: the bytes were gzip
    const decoded = await proxy('/file', { ...as('hk'), Decompress: 'true' });
    expect(decoded.headers.get('content-encoding')).toBeNull();
    expect(await decoded.text()).toBe('hello '.repeat(1000));
  });

  it('logs method, path, status and duration, never a credential or the query', async () => {
    await proxy('/logged?api_key=should-not-appear', as('qk'));
    const line = logs.find((l) => l.includes('proxy') && l.includes('/logged'))!;
    expect(line).toMatch(/method="GET" path="\/logged" status=200 duration_ms=\d+/);
    expect(logs.join('\n')).not.toMatch(/sk_live_123|should-not-appear|at-\d/);
  });
});

describe('a refused token', () => {
  it('20 concurrent calls refused with one token cause one refresh, then each is retried once and succeeds', async () => {
    // The API now refuses the stored token, as if it had been revoked.
    current = 'revoked-elsewhere';
    const before = refreshes;
    // All 20 calls reach the API with the old token first; then half are refused, and the other half
    // only once a call with the new token arrives: they reach Keyway after the refresh has ended
    // and must not start another one.
    const early: (() => void)[] = [];
    const late: (() => void)[] = [];
    let renewed = false;
    api.on((req, body, res) => {
      if (req.url === '/token') {
        current = `at-${++refreshes}`;
        return json(res, 200, { access_token: current, refresh_token: 'rt', expires_in: 3600, token_type: 'bearer' });
      }
      if (req.headers.authorization !== `Bearer ${current}`) {
        const refuse = () => json(res, 401, { message: 'token expired' });
        if (renewed) return refuse();
        (Number(req.url!.split('/').pop()) < 10 ? early : late).push(refuse);
        if (early.length + late.length === 20) early.splice(0).forEach((f) => f());
        return;
      }
      if (!renewed) {
        renewed = true;
        late.splice(0).forEach((f) => f());
      }
      json(res, 200, { path: req.url, method: req.method, body: body.toString() });
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => proxy(`/n/${i}`, as('oauth')).then(async (r) => [r.status, ((await r.json()) as any).path])));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => [200, `/v1/n/${i}`]));
    expect(refreshes - before).toBe(1);
    const stored = await kw.keyway.connections.get('oauth', 'u1');
    expect((stored.credentials as { access_token: string }).access_token).toBe(current);
  });

  it('passes a 401 through when there is no refresh token to renew the token with', async () => {
    await kw.keyway.connections.upsert({ providerConfigKey: 'oauth', connectionId: 'no-refresh', provider: 'px-oauth', credentials: { type: 'OAUTH2', access_token: 'old', raw: {} }, connectionConfig: {}, endUser: null });
    const before = refreshes;
    const res = await proxy('/me', { ...as('oauth'), 'Connection-Id': 'no-refresh' });
    expect([res.status, await res.json()]).toEqual([401, { message: 'token expired' }]);
    expect(refreshes).toBe(before);
  });

  it('a second 401 after the refresh is the provider\'s answer (no loop)', async () => {
    const before = refreshes;
    api.on((req, _body, res) => (req.url === '/token' ? json(res, 200, { access_token: `at-x${++refreshes}`, expires_in: 3600 }) : json(res, 401, { message: 'no' })));
    const res = await proxy('/forbidden', as('oauth'));
    expect([res.status, await res.json()]).toEqual([401, { message: 'no' }]);
    expect(refreshes - before).toBe(1);
    expect(api.seen.filter((s) => s.url !== '/token')).toHaveLength(2);
  });
});

describe('retries', () => {
  const sequence = (...answers: [number, Record<string, string>?][]) =>
    api.on((_req, _body, res) => {
      const [status, headers = {}] = answers.shift() ?? [200];
      json(res, status, { status }, headers);
    });

  it('waits what Retry-After says on a 429, then retries', async () => {
    sequence([429, { 'retry-after': '3' }], [200]);
    const res = await proxy('/limited', { ...as('hk'), Retries: '2' });
    expect(res.status).toBe(200);
    expect(sleeps).toEqual([3000]);
    expect(api.seen).toHaveLength(2);
  });

  it('waits until the reset time a template-named header gives (proxy.retry.at)', async () => {
    const reset = Math.floor(Date.now() / 1000) + 30;
    sequence([429, { 'x-ratelimit-reset': String(reset) }], [200]);
    const res = await proxy('/limited', { ...as('oauth'), Retries: '1' });
    expect(res.status).toBe(200);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(25_000);
    expect(sleeps[0]).toBeLessThanOrEqual(30_000);
  });

  it('backs off exponentially with jitter on 5xx, bounded by Retries', async () => {
    sequence([503], [502], [500], [200]);
    const res = await proxy('/flaky', { ...as('hk'), Retries: '2' });
    expect(res.status).toBe(500); // two retries, then the provider's answer
    expect(api.seen).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(125);
    expect(sleeps[0]).toBeLessThanOrEqual(250);
    expect(sleeps[1]).toBeGreaterThanOrEqual(250);
    expect(sleeps[1]).toBeLessThanOrEqual(500);
  });

  it('does not retry without Retries, nor past the time budget, nor a status not asked for', async () => {
    sequence([503]);
    expect((await proxy('/once', as('hk'))).status).toBe(503);
    sequence([429, { 'retry-after': '3600' }]);
    expect((await proxy('/later', { ...as('hk'), Retries: '5' })).status).toBe(429);
    sequence([404]);
    expect((await proxy('/missing', { ...as('hk'), Retries: '5' })).status).toBe(404);
    sequence([404], [200]);
    expect((await proxy('/missing', { ...as('hk'), Retries: '5', 'Retry-On': '404' })).status).toBe(200);
    expect(api.seen).toHaveLength(5);
    expect(sleeps).toHaveLength(1);
  });

  it('refuses a bad Retries header', async () => {
    const res = await proxy('/x', { ...as('hk'), Retries: 'many' });
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([400, 'invalid_proxy_headers']);
  });
});

describe('Base-Url-Override', () => {
  it('is refused for a host neither the template nor the integration allows, before any request', async () => {
    const res = await proxy('/items', { ...as('hk'), 'Base-Url-Override': other.url });
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([403, 'host_not_allowed']);
    expect(other.seen).toHaveLength(0);
  });

  it('goes to a host the integration allows, and to the template\'s own host', async () => {
    const admin = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY });
    await admin.updateIntegration({ uniqueKey: 'hk' }, { allowed_hosts: [`127.0.0.1:${other.port}`] } as never);
    expect((await proxy('/items', { ...as('hk'), 'Base-Url-Override': `${other.url}/v2` })).status).toBe(200);
    expect(other.seen.at(-1)!.url).toBe('/v2/items');
    expect((await proxy('/items', { ...as('hk'), 'Base-Url-Override': `${api.url}/v3` })).status).toBe(200);
    expect(api.seen.at(-1)!.url).toBe('/v3/items');
    await admin.updateIntegration({ uniqueKey: 'hk' }, { allowed_hosts: [] } as never);
  });
});

describe('the outbound guard', () => {
  it('refuses loopback and private targets unless the operator allows them, before any request', async () => {
    const resolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
    const base = { categories: ['other'], docs: 'https://example.com/docs', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } } };
    const guarded = await startKeyway({
      config: { allowPrivateNetwork: false },
      overrides: { resolveHost },
      templates: {
        'px-loopback': { ...base, display_name: 'Loopback', proxy: { base_url: api.url, headers: { 'x-api-key': '${apiKey}' } } },
        'px-user-host': { ...base, display_name: 'User host', connection_config: { host: { title: 'Host', pattern: '[a-z0-9.-]+' } }, proxy: { base_url: 'https://${connectionConfig.host}/api', headers: { 'x-api-key': '${apiKey}' } } },
      },
    });
    try {
      for (const [key, provider, config] of [['lo', 'px-loopback', {}], ['uh', 'px-user-host', { host: 'api.looks-public.example' }]] as const) {
        await guarded.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: key, provider }) });
        await guarded.keyway.connections.upsert({ providerConfigKey: key, connectionId: 'u1', provider, credentials: { type: 'API_KEY', apiKey: 'k', fields: {} }, connectionConfig: config, endUser: null });
        const res = await fetch(`${guarded.url}/proxy/items`, { headers: { authorization: `Bearer ${SECRET_KEY}`, ...as(key) } });
        expect([res.status, ((await res.json()) as any).error.code]).toEqual([400, 'private_address_refused']);
      }
      expect(api.seen).toHaveLength(0);
    } finally {
      await guarded.close();
    }
  });
});

describe('streaming', () => {
  it('streams a 50 MB download with back-pressure: Keyway holds at most a few MB while the caller does not read', async () => {
    const TOTAL = 50 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 7);
    let produced = 0;
    api.on((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
      void pipeline(Readable.from((function* () {
        while (produced < TOTAL) {
          produced += CHUNK.length;
          yield CHUNK;
        }
      })()), res).catch(() => undefined);
    });
    const rssBefore = process.memoryUsage().rss;
    const res = await proxy('/big', as('hk'));
    expect(res.headers.get('content-length')).toBe(String(TOTAL));
    const reader = res.body!.getReader();
    let received = (await reader.read()).value!.length;
    // The caller stops reading: the provider must soon stop being able to send.
    let last = -1;
    for (let i = 0; i < 100 && produced !== last; i++) {
      last = produced;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(produced).toBe(last); // it stalled
    // Socket buffers on both hops hold some MB; a proxy that buffered would have taken all 50.
    expect(produced - received).toBeLessThan(24 * 1024 * 1024);
    let peakRss = process.memoryUsage().rss;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      if ((received & 0xfffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    expect(received).toBe(TOTAL);
    console.info(`50 MB download: at most ${((last - 65536) / 1048576).toFixed(1)} MB in flight while the caller paused; RSS growth ${((peakRss - rssBefore) / 1048576).toFixed(1)} MB`);
  });

  it('ends the provider request when the caller goes away, and logs it', async () => {
    let upstreamClosed = false;
    api.on((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).write('first chunk');
      res.on('close', () => (upstreamClosed = true)); // never ended by the API itself
    });
    const caller = new AbortController();
    const res = await proxy('/endless', as('hk'), { signal: caller.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first chunk');
    caller.abort();
    for (let i = 0; i < 100 && !upstreamClosed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(upstreamClosed).toBe(true);
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('path="/endless"')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs.find((l) => l.includes('path="/endless"'))).toMatch(/status=200 .*aborted=true/);
  });

  it('streams a large upload on once, with its length: it cannot be sent again, so it is not retried', async () => {
    const SIZE = 8 * 1024 * 1024;
    api.on((req, _body, res) => json(res, 503, { length: req.headers['content-length'] ?? null }));
    const res = await proxy('/upload', { ...as('hk'), Retries: '3', 'content-type': 'application/octet-stream', 'content-length': String(SIZE) }, { method: 'POST', body: Buffer.alloc(SIZE, 1) });
    expect([res.status, await res.json()]).toEqual([503, { length: String(SIZE) }]);
    expect(api.seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a small body, sent whole each time', async () => {
    let n = 0;
    api.on((_req, body, res) => json(res, n++ === 0 ? 503 : 200, { received: body.toString() }));
    const res = await proxy('/small', { ...as('hk'), Retries: '1', 'content-type': 'text/plain' }, { method: 'PUT', body: 'x'.repeat(1000) });
    expect([res.status, await res.json()]).toEqual([200, { received: 'x'.repeat(1000) }]);
    expect(api.seen.map((s) => s.body.length)).toEqual([1000, 1000]);
  });
});

describe('the SDKs', () => {
  it('@nangohq/node put(), patch() and delete() work unchanged', async () => {
    const nango = new NangoNode({ host: kw.url, secretKey: SECRET_KEY });
    const put = await nango.put({ endpoint: '/items/1', providerConfigKey: 'oauth', connectionId: 'u1', data: { name: 'p' } });
    expect([put.status, put.data]).toEqual([200, { path: '/v1/items/1', method: 'PUT', body: '{"name":"p"}' }]);
    const patched = await nango.patch({ endpoint: '/items/1', providerConfigKey: 'oauth', connectionId: 'u1', data: { name: 'q' }, params: { v: '2' } });
    expect(patched.data).toEqual({ path: '/v1/items/1?v=2', method: 'PATCH', body: '{"name":"q"}' });
    const deleted = await nango.delete({ endpoint: '/items/1', providerConfigKey: 'oauth', connectionId: 'u1' });
    expect(deleted.data).toEqual({ path: '/v1/items/1', method: 'DELETE', body: '' });
    expect(api.seen.slice(-3).map((s) => s.headers.authorization)).toEqual(Array(3).fill(`Bearer ${current}`));
  });

  it('@nangohq/node proxy(), get() and post() work unchanged', async () => {
    const nango = new NangoNode({ host: kw.url, secretKey: SECRET_KEY });
    const got = await nango.get({ endpoint: '/users', providerConfigKey: 'oauth', connectionId: 'u1', params: { page: '2' }, headers: { 'X-Trace': 'n' } });
    expect([got.status, got.data]).toEqual([200, { path: '/v1/users?page=2', method: 'GET', body: '' }]);
    expect(api.seen.at(-1)!.headers['x-trace']).toBe('n');
    const posted = await nango.post({ endpoint: 'items', providerConfigKey: 'oauth', connectionId: 'u1', data: { name: 'x' } });
    expect(posted.data).toEqual({ path: '/v1/items', method: 'POST', body: '{"name":"x"}' });
    const deleted = await nango.proxy({ method: 'DELETE', endpoint: '/items/1', providerConfigKey: 'oauth', connectionId: 'u1' });
    expect(deleted.data.method).toBe('DELETE');
    api.on((_req, _body, res) => json(res, 404, { message: 'gone' }));
    await expect(nango.get({ endpoint: '/gone', providerConfigKey: 'oauth', connectionId: 'u1' })).rejects.toMatchObject({ response: { status: 404, data: { message: 'gone' } } });
  });

  it('@keyway/node has the same methods and answer shape', async () => {
    const client = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY, providerConfigKey: 'oauth', connectionId: 'u1' });
    const got = await client.get<{ path: string }>({ endpoint: '/users', params: { page: '2' } });
    expect([got.status, got.data.path, got.headers['content-type']]).toEqual([200, '/v1/users?page=2', 'application/json']);
    for (const m of ['post', 'put', 'patch', 'delete'] as const) {
      const res = await client[m]({ endpoint: `/${m}`, data: { m } });
      expect(res.data).toEqual({ path: `/v1/${m}`, method: m.toUpperCase(), body: JSON.stringify({ m }) });
    }
    api.on((_req, _body, res) => json(res, 429, { message: 'slow down' }, { 'retry-after': '1' }));
    sleeps = [];
    await expect(client.get({ endpoint: '/limited', retries: 1 })).rejects.toMatchObject({ status: 429, response: { status: 429, data: { message: 'slow down' } } });
    expect(sleeps).toEqual([1000]);
    api.on((_req, _body, res) => res.writeHead(200).end(Buffer.alloc(3 * 1024 * 1024, 1)));
    const stream = await client.get<Readable>({ endpoint: '/file', responseType: 'stream' });
    let n = 0;
    for await (const c of stream.data) n += (c as Buffer).length;
    expect(n).toBe(3 * 1024 * 1024);
  });
});
