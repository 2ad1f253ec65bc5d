import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import NangoDefault, {
  KeywayError,
  Nango,
  type Connection,
  type ConnectionSummary,
  type Integration,
  type MetadataChangeResponse,
  type OtherCredentials,
  type Provider,
} from '../src/index.ts';
import { TokenCache } from '../src/token-cache.ts';

const SECRET = 'sk_test_0123456789abcdef';

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Canned {
  status?: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: string;
  contentType?: string;
}

// ─── a real HTTP server that records what it gets and answers what the test says ───

let server: Server;
let baseUrl: string;
let requests: Recorded[] = [];
let reply: Canned = {};

function queryOf(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return { server: s, url: `http://127.0.0.1:${port}` };
}

async function close(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

beforeAll(async () => {
  const started = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: queryOf(url),
        rawQuery: url.search,
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      });
      const status = reply.status ?? 200;
      if (reply.raw !== undefined) {
        res.writeHead(status, { 'content-type': reply.contentType ?? 'text/html' });
        res.end(reply.raw);
      } else if (reply.body === undefined) {
        res.writeHead(status);
        res.end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      }
    });
  });
  server = started.server;
  baseUrl = started.url;
});

afterAll(async () => {
  await close(server);
});

beforeEach(() => {
  requests = [];
  reply = {};
});

function client(options: { timeoutMs?: number } = {}): Nango {
  return new Nango({ host: `${baseUrl}/`, secretKey: SECRET, ...options });
}

function only(): Recorded {
  expect(requests).toHaveLength(1);
  return requests[0] as Recorded;
}

function expectAuth(r: Recorded, withBody: boolean): void {
  expect(r.headers['authorization']).toBe(`Bearer ${SECRET}`);
  expect(r.headers['accept']).toBe('application/json');
  if (withBody) expect(r.headers['content-type']).toBe('application/json');
  else {
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.body).toBeUndefined();
  }
}

async function caught(promise: Promise<unknown>): Promise<KeywayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(KeywayError);
    return err as KeywayError;
  }
  throw new Error('expected a KeywayError');
}

function caughtSync(fn: () => unknown): KeywayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeywayError);
    return err as KeywayError;
  }
  throw new Error('expected a KeywayError');
}

// ─── fixtures ───

const connection: Connection = {
  id: '6f1c',
  connection_id: 'user/1',
  provider_config_key: 'slack',
  provider: 'slack',
  connection_config: { team: 'T1' },
  metadata: { plan: 'pro' },
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-01-02T00:00:00.000Z',
  last_fetched_at: null,
  errors: [],
  end_user: { id: 'u1', display_name: 'Ada', email: 'ada@example.com', tags: null, organization: null },
  tags: { team: 'core' },
  credentials: { type: 'OAUTH2', access_token: 'xoxb-token', expires_at: '2030-01-01T00:00:00.000Z', raw: { access_token: 'xoxb-token', team: { id: 'T1' } } },
};

const summary: ConnectionSummary = {
  id: '6f1c',
  connection_id: 'user/1',
  provider_config_key: 'slack',
  provider: 'slack',
  created: '2024-01-01T00:00:00.000Z',
  metadata: null,
  errors: [{ type: 'auth', log_id: 'log1' }],
  end_user: null,
  tags: {},
};

const integration: Integration = {
  unique_key: 'slack-prod',
  provider: 'slack',
  display_name: 'Slack',
  logo: 'http://127.0.0.1:3003/images/template-logos/slack.svg',
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-01-01T00:00:00.000Z',
};

const provider: Provider = {
  name: 'slack',
  display_name: 'Slack',
  categories: ['communication'],
  docs: 'https://docs.example/slack',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://slack.com/oauth/v2/authorize',
  token_url: 'https://slack.com/api/oauth.v2.access',
  default_scopes: ['chat:write'],
  scope_separator: ',',
  proxy: { base_url: 'https://slack.com/api' },
};

// ─── constructor ───

describe('new Nango()', () => {
  it('requires a secret key', () => {
    expect(caughtSync(() => new Nango({ host: baseUrl })).code).toBe('missing_secret_key');
    expect(caughtSync(() => new Nango({ host: baseUrl, secretKey: '' })).code).toBe('missing_secret_key');
  });

  it('requires an http(s) host', () => {
    for (const host of ['', 'not a url', 'ftp://example.com', 'localhost:3003']) {
      const err = caughtSync(() => new Nango({ host, secretKey: SECRET }));
      expect(err.code).toBe('invalid_host_url');
      expect(err.message).not.toContain(SECRET);
    }
  });

  it('removes the trailing slash, accepts apiKey as an alias, and is the default export', () => {
    expect(new Nango({ host: 'http://127.0.0.1:3003/', secretKey: SECRET }).serverUrl).toBe('http://127.0.0.1:3003');
    expect(new Nango({ host: 'https://keyway.example/base//', apiKey: SECRET }).serverUrl).toBe('https://keyway.example/base');
    expect(NangoDefault).toBe(Nango);
    expect(caughtSync(() => new Nango({ host: baseUrl, secretKey: SECRET, timeoutMs: 0 })).code).toBe('invalid_timeout');
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ data: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const nango = new Nango({ host: 'http://keyway.invalid', secretKey: SECRET, fetch: fakeFetch });
    expect(await nango.listIntegrations()).toEqual({ configs: [] });
    expect(calls).toEqual(['http://keyway.invalid/integrations']);
  });
});

// ─── connections ───

describe('connections', () => {
  it('getToken: GET /connections/:id and returns the OAuth2 access token', async () => {
    reply = { body: connection };
    const token = await client().getToken('slack', 'user/1');
    expectTypeOf(token).toEqualTypeOf<string | OtherCredentials>();
    expect(token).toBe('xoxb-token');
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/connections/user%2F1');
    expect(r.query).toEqual({ provider_config_key: 'slack', force_refresh: 'false', refresh_token: 'false' });
    expectAuth(r, false);
  });

  it('getToken asks the server every time by default: a token replaced elsewhere is never served', async () => {
    const nango = client();
    reply = { body: connection };
    expect(await nango.getToken('slack', 'user/1')).toBe('xoxb-token');
    reply = { body: { ...connection, credentials: { ...connection.credentials, access_token: 'replaced-elsewhere' } } };
    expect(await nango.getToken('slack', 'user/1')).toBe('replaced-elsewhere');
    expect(requests).toHaveLength(2);
  });

  it('cache (opt-in) keeps a fresh token; forceRefresh and deleteConnection bypass and update it; maxAgeMs bounds it', async () => {
    const nango = new Nango({ host: baseUrl, secretKey: SECRET, cache: true });
    reply = { body: connection };
    expect(await nango.getToken('slack', 'user/1')).toBe('xoxb-token');
    reply = { body: { ...connection, credentials: { ...connection.credentials, access_token: 'newer' } } };
    expect(await nango.getToken('slack', 'user/1')).toBe('xoxb-token'); // the documented staleness
    expect(requests).toHaveLength(1);
    expect(await nango.getToken('slack', 'user/1', true)).toBe('newer');
    expect(await nango.getToken('slack', 'user/1')).toBe('newer');
    expect(requests).toHaveLength(2);
    reply = { body: { success: true } };
    await nango.deleteConnection('slack', 'user/1');
    reply = { status: 404, body: { error: { code: 'unknown_connection', message: 'gone' } } };
    expect((await caught(nango.getToken('slack', 'user/1'))).code).toBe('unknown_connection');

    const bounded = new TokenCache<string>(30_000);
    bounded.set('k', 'v', '2030-01-01T00:00:00.000Z', 1_000);
    expect(bounded.get('k', 30_999)).toBe('v');
    expect(bounded.get('k', 31_000)).toBeUndefined();
    expect(() => new Nango({ host: baseUrl, secretKey: SECRET, cache: { maxAgeMs: 0 } })).toThrow(/maxAgeMs/);
  });

  it('getToken: forceRefresh, and the credentials object for other auth modes', async () => {
    const apiKeyCredentials = { type: 'API_KEY', apiKey: 'k' } as const;
    reply = { body: { ...connection, credentials: apiKeyCredentials } };
    expect(await client().getToken('slack', 'c1', true)).toEqual(apiKeyCredentials);
    expect(only().query).toEqual({ provider_config_key: 'slack', force_refresh: 'true', refresh_token: 'false' });
  });

  it('getConnection: passes forceRefresh and refreshToken, returns the connection', async () => {
    reply = { body: connection };
    const result = await client().getConnection('slack', 'c1', false, true);
    expectTypeOf(result).toEqualTypeOf<Connection>();
    expect(result).toEqual(connection);
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/connections/c1');
    expect(r.query).toEqual({ provider_config_key: 'slack', force_refresh: 'false', refresh_token: 'true' });
    expectAuth(r, false);
  });

  it('getRawTokenResponse: returns credentials.raw', async () => {
    reply = { body: connection };
    expect(await client().getRawTokenResponse('slack', 'c1', true)).toEqual({ access_token: 'xoxb-token', team: { id: 'T1' } });
    expect(only().query).toEqual({ provider_config_key: 'slack', force_refresh: 'true', refresh_token: 'false' });
  });

  it('listConnections: object form sends every filter', async () => {
    reply = { body: { connections: [summary] } };
    const result = await client().listConnections({ connectionId: 'c1', search: 'ada', integrationId: 'slack', endUserId: 'u1', limit: 20, page: 2 });
    expectTypeOf(result).toEqualTypeOf<{ connections: ConnectionSummary[] }>();
    expect(result).toEqual({ connections: [summary] });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/connections');
    expect(r.query).toEqual({ connectionId: 'c1', search: 'ada', integrationId: 'slack', endUserId: 'u1', limit: '20', page: '2' });
    expectAuth(r, false);
  });

  it('listConnections: no filter, legacy (connectionId, search) form, userId alias', async () => {
    reply = { body: { connections: [] } };
    const nango = client();
    await nango.listConnections();
    await nango.listConnections('c1', 'ada');
    await nango.listConnections(undefined, undefined, { endUserId: 'u2', limit: 5 });
    await nango.listConnections({ userId: 'u3', integrationId: ['a', 'b'] });
    expect(requests.map((r) => r.query)).toEqual([
      {},
      { connectionId: 'c1', search: 'ada' },
      { endUserId: 'u2', limit: '5' },
      { integrationId: 'a,b', endUserId: 'u3' },
    ]);
  });

  it('deleteConnection: DELETE /connections/:id?provider_config_key=', async () => {
    reply = { body: { success: true } };
    expect(await client().deleteConnection('slack', 'user 1')).toEqual({ success: true });
    const r = only();
    expect(r.method).toBe('DELETE');
    expect(r.path).toBe('/connections/user%201');
    expect(r.query).toEqual({ provider_config_key: 'slack' });
    expectAuth(r, false);

    reply = { status: 204 };
    expect(await client().deleteConnection('slack', 'c1')).toEqual({ success: true });
  });
});

// ─── metadata ───

describe('metadata', () => {
  it('getMetadata: the connection metadata ({} when none)', async () => {
    reply = { body: connection };
    const metadata = await client().getMetadata<{ plan: string }>('slack', 'c1');
    expectTypeOf(metadata).toEqualTypeOf<{ plan: string }>();
    expect(metadata).toEqual({ plan: 'pro' });
    expect(only().query).toEqual({ provider_config_key: 'slack', force_refresh: 'false', refresh_token: 'false' });

    reply = { body: { ...connection, metadata: null } };
    expect(await client().getMetadata('slack', 'c1')).toEqual({});
  });

  it('setMetadata: POST /connections/metadata, returns the body', async () => {
    const answer = { connection_id: 'c1', provider_config_key: 'slack', metadata: { a: 1 } };
    reply = { body: answer };
    const result = await client().setMetadata('slack', 'c1', { a: 1 });
    expectTypeOf(result).toEqualTypeOf<MetadataChangeResponse>();
    expect(result).toEqual(answer);
    const r = only();
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/connections/metadata');
    expect(r.query).toEqual({});
    expect(r.body).toEqual({ connection_id: 'c1', provider_config_key: 'slack', metadata: { a: 1 } });
    expectAuth(r, true);
  });

  it('updateMetadata: PATCH /connections/metadata, several connections', async () => {
    const answer = { connection_id: ['c1', 'c2'], provider_config_key: 'slack', metadata: { b: true } };
    reply = { body: answer };
    expect(await client().updateMetadata('slack', ['c1', 'c2'], { b: true })).toEqual(answer);
    const r = only();
    expect(r.method).toBe('PATCH');
    expect(r.path).toBe('/connections/metadata');
    expect(r.body).toEqual({ connection_id: ['c1', 'c2'], provider_config_key: 'slack', metadata: { b: true } });
    expectAuth(r, true);
  });
});

// ─── integrations ───

describe('integrations', () => {
  it('listIntegrations: maps { data } to { configs }', async () => {
    reply = { body: { data: [integration] } };
    const result = await client().listIntegrations();
    expectTypeOf(result).toEqualTypeOf<{ configs: Integration[] }>();
    expect(result).toEqual({ configs: [integration] });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/integrations');
    expect(r.query).toEqual({});
    expectAuth(r, false);
  });

  it('getIntegration: include is repeated per value', async () => {
    const withCredentials: Integration = {
      ...integration,
      credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'cs', scopes: 'chat:write', webhook_secret: null },
    };
    reply = { body: { data: withCredentials } };
    const result = await client().getIntegration({ uniqueKey: 'slack prod' }, { include: ['credentials', 'webhook'] });
    expectTypeOf(result).toEqualTypeOf<{ data: Integration }>();
    expect(result).toEqual({ data: withCredentials });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/integrations/slack%20prod');
    expect(r.rawQuery).toBe('?include=credentials&include=webhook');
    expectAuth(r, false);

    await client().getIntegration({ uniqueKey: 'slack-prod' });
    expect(requests[1]?.rawQuery).toBe('');
  });

  it('createIntegration: POST /integrations with the body', async () => {
    reply = { status: 201, body: { data: integration } };
    const body = {
      unique_key: 'slack-prod',
      provider: 'slack',
      display_name: 'Slack',
      credentials: { type: 'OAUTH2' as const, client_id: 'cid', client_secret: 'cs', scopes: 'chat:write,channels:read' },
    };
    expect(await client().createIntegration(body)).toEqual({ data: integration });
    const r = only();
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/integrations');
    expect(r.body).toEqual(body);
    expectAuth(r, true);
  });

  it('updateIntegration: PATCH /integrations/:uniqueKey', async () => {
    reply = { body: { data: { ...integration, display_name: 'Slack (prod)' } } };
    const result = await client().updateIntegration({ uniqueKey: 'slack-prod' }, { display_name: 'Slack (prod)' });
    expect(result.data.display_name).toBe('Slack (prod)');
    const r = only();
    expect(r.method).toBe('PATCH');
    expect(r.path).toBe('/integrations/slack-prod');
    expect(r.body).toEqual({ display_name: 'Slack (prod)' });
    expectAuth(r, true);
  });

  it('deleteIntegration: DELETE /integrations/:uniqueKey', async () => {
    reply = { body: { success: true } };
    expect(await client().deleteIntegration('slack-prod')).toEqual({ success: true });
    const r = only();
    expect(r.method).toBe('DELETE');
    expect(r.path).toBe('/integrations/slack-prod');
    expectAuth(r, false);
  });
});

// ─── providers ───

describe('providers', () => {
  it('listProviders: GET /providers with search', async () => {
    reply = { body: { data: [provider] } };
    const result = await client().listProviders({ search: 'sla' });
    expectTypeOf(result).toEqualTypeOf<{ data: Provider[] }>();
    expect(result).toEqual({ data: [provider] });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/providers');
    expect(r.query).toEqual({ search: 'sla' });
    expectAuth(r, false);

    await client().listProviders();
    expect(requests[1]?.rawQuery).toBe('');
  });

  it('getProvider: GET /providers/:provider', async () => {
    reply = { body: { data: provider } };
    const result = await client().getProvider({ provider: 'slack' });
    expectTypeOf(result).toEqualTypeOf<{ data: Provider }>();
    expect(result.data.proxy).toEqual({ base_url: 'https://slack.com/api' });
    const r = only();
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/providers/slack');
    expectAuth(r, false);
  });
});

// ─── errors ───

describe('errors', () => {
  it('a JSON error body becomes a KeywayError with its code and message', async () => {
    const payload = { error: { code: 'unknown_connection', message: 'No connection "c1" for integration "slack"' } };
    reply = { status: 404, body: payload };
    const err = await caught(client().getToken('slack', 'c1'));
    expect(err.name).toBe('KeywayError');
    expect(err.status).toBe(404);
    expect(err.code).toBe('unknown_connection');
    expect(err.message).toBe('No connection "c1" for integration "slack"');
    expect(err.payload).toEqual(payload);
  });

  it('an HTML 500 becomes http_500 with the status and at most 200 chars of the body', async () => {
    const html = `<html><body>${'x'.repeat(1000)}</body></html>`;
    reply = { status: 500, raw: html };
    const err = await caught(client().listIntegrations());
    expect(err.status).toBe(500);
    expect(err.code).toBe('http_500');
    expect(err.message).toContain('500');
    expect(err.message).toContain('<html><body>xxx');
    expect(err.message.length).toBeLessThan(240);
    expect(err.payload).toBeUndefined();
  });

  it('an empty or non-standard error body becomes http_<status>', async () => {
    reply = { status: 502 };
    const empty = await caught(client().listProviders());
    expect([empty.status, empty.code]).toEqual([502, 'http_502']);

    reply = { status: 400, body: { message: 'odd' } };
    const odd = await caught(client().listProviders());
    expect([odd.status, odd.code]).toEqual([400, 'http_400']);
    expect(odd.payload).toEqual({ message: 'odd' });
    expect(odd.message).toContain('odd');
  });

  it('never puts the secret key in an error message', async () => {
    reply = { status: 401, raw: `bad key ${SECRET}`, contentType: 'text/plain' };
    const err = await caught(client().listIntegrations());
    expect(err.code).toBe('http_401');
    expect(err.message).not.toContain(SECRET);
    expect(err.message).toContain('[redacted]');
  });

  it('a 2xx answer that is not JSON is invalid_response', async () => {
    reply = { status: 200, raw: '<html>proxy login</html>' };
    expect((await caught(client().listIntegrations())).code).toBe('invalid_response');
  });

  it('a server that never answers times out', async () => {
    const silent = await listen(() => {
      /* never answers */
    });
    try {
      // Without the client's time-out this would hang (the server never answers) until the test's own time-out.
      const err = await caught(new Nango({ host: silent.url, secretKey: SECRET, timeoutMs: 200 }).listIntegrations());
      expect(err.code).toBe('timeout');
      expect(err.status).toBe(0);
      expect(err.message).toContain('200 ms');
    } finally {
      await close(silent.server);
    }
  });

  it('a closed port is a network_error with the cause', async () => {
    const gone = await listen(() => undefined);
    await close(gone.server);
    const err = await caught(new Nango({ host: gone.url, secretKey: SECRET }).getToken('slack', 'c1'));
    expect(err.code).toBe('network_error');
    expect(err.status).toBe(0);
    expect(err.cause).toBeDefined();
    expect(err.message).not.toContain(SECRET);
  });

  it('missing arguments fail before any request', async () => {
    const nango = client();
    const cases: [() => Promise<unknown>, string][] = [
      [() => nango.getToken('', 'c1'), 'missing_provider_config_key'],
      [() => nango.getToken('slack', ''), 'missing_connection_id'],
      [() => nango.getConnection('slack', undefined as unknown as string), 'missing_connection_id'],
      [() => nango.getRawTokenResponse('', 'c1'), 'missing_provider_config_key'],
      [() => nango.getMetadata('slack', ''), 'missing_connection_id'],
      [() => nango.deleteConnection('', 'c1'), 'missing_provider_config_key'],
      [() => nango.deleteConnection('slack', ''), 'missing_connection_id'],
      [() => nango.setMetadata('', 'c1', {}), 'missing_provider_config_key'],
      [() => nango.setMetadata('slack', [], {}), 'missing_connection_id'],
      [() => nango.setMetadata('slack', 'c1', null as unknown as Record<string, unknown>), 'missing_metadata'],
      [() => nango.updateMetadata('slack', 'c1', undefined as unknown as Record<string, unknown>), 'missing_metadata'],
      [() => nango.getIntegration({ uniqueKey: '' }), 'missing_provider_config_key'],
      [() => nango.updateIntegration({ uniqueKey: '' }, {}), 'missing_provider_config_key'],
      [() => nango.deleteIntegration(''), 'missing_provider_config_key'],
      [() => nango.getProvider({ provider: '' }), 'missing_provider'],
    ];
    for (const [call, code] of cases) {
      const err = await caught(call());
      expect(err.code).toBe(code);
      expect(err.status).toBe(0);
    }
    expect(requests).toHaveLength(0);
  });
});

describe('proxy', () => {
  it('sends Nango\'s proxy headers, the query and a JSON body, and answers as axios does', async () => {
    reply = { status: 201, body: { id: 7 } };
    const res = await client().post<{ id: number }>({
      endpoint: 'v1/items',
      providerConfigKey: 'github',
      connectionId: 'u1',
      params: { page: 2, tag: 'a b' },
      headers: { 'X-Trace': 't' },
      data: { name: 'x' },
      retries: 3,
      retryOn: [404, 409],
      baseUrlOverride: 'https://api.example.com',
      decompress: true,
    });
    expect(res).toMatchObject({ status: 201, data: { id: 7 }, headers: { 'content-type': 'application/json' } });
    const r = only();
    expect([r.method, r.path, r.query, r.body]).toEqual(['POST', '/proxy/v1/items', { page: '2', tag: 'a b' }, { name: 'x' }]);
    expect(r.headers).toMatchObject({
      authorization: `Bearer ${SECRET}`,
      'connection-id': 'u1',
      'provider-config-key': 'github',
      'nango-proxy-x-trace': 't',
      retries: '3',
      'retry-on': '404,409',
      'base-url-override': 'https://api.example.com',
      decompress: 'true',
      'content-type': 'application/json',
    });
  });

  it('takes the connection from the constructor, a query string as params, and each method shortcut', async () => {
    const nango = new Nango({ host: baseUrl, secretKey: SECRET, providerConfigKey: 'github', connectionId: 'u2' });
    for (const method of ['get', 'put', 'patch', 'delete'] as const) {
      requests = [];
      await nango[method]({ endpoint: '/x', params: '?a=1' });
      expect([only().method, only().rawQuery, only().headers['connection-id']]).toEqual([method.toUpperCase(), '?a=1', 'u2']);
    }
    await expect(nango.get({ endpoint: '/x?b=2', params: 'a=1' })).rejects.toMatchObject({ code: 'invalid_params' });
    await expect(client().get({ endpoint: '/x', providerConfigKey: 'github' })).rejects.toMatchObject({ code: 'missing_connection_id' });
  });

  it('throws on a non-2xx answer with the provider\'s answer in `response`, and Keyway\'s code when it is Keyway\'s error', async () => {
    reply = { status: 404, raw: 'no such repo', contentType: 'text/plain' };
    await expect(client().get({ endpoint: '/r', providerConfigKey: 'github', connectionId: 'u1' })).rejects.toMatchObject({
      code: 'http_404',
      status: 404,
      response: { status: 404, data: 'no such repo' },
    });
    reply = { status: 403, body: { error: { code: 'host_not_allowed', message: 'no' } } };
    await expect(client().get({ endpoint: '/r', providerConfigKey: 'github', connectionId: 'u1' })).rejects.toMatchObject({ code: 'host_not_allowed', status: 403 });
  });
});
