import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, WEBHOOK_SECRET, oauth2, sessionToken, startKeyway } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/** The activity log through GET /logs: a flow, a failed flow, a refresh failure, a webhook failure, a proxied call. */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let client: KeywayNode;
let receiver: { url: string; close(): Promise<void> };
const WEBHOOK_KEY_IN_QUERY = 'receiver-key-123456';

beforeAll(async () => {
  // A webhook receiver that refuses every delivery (400: not retried).
  const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(400).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks?key=${WEBHOOK_KEY_IN_QUERY}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  stack = await startSandboxStack({ keyway: { config: { webhookUrl: receiver.url } } });
  client = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

async function connect(id: string, button: 'approve' | 'deny') {
  const browser = new TestBrowser();
  const consent = await browser.follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${await sessionToken(stack.kw.url, id)}`);
  return browser.submit(consent, button);
}

interface Entry { id: string; at: string; type: string; action: string; outcome: string; connection_id: string | null; request_id?: string; provider_config_key: string | null; message: string; error?: Record<string, string>; http?: Record<string, any> }
const logs = async (query: string) => {
  const res = await stack.kw.api(`/logs?${query}`);
  expect(res.status).toBe(200);
  return res.body as { data: Entry[]; next_cursor: string | null; follow_cursor: string };
};
/** Bounded polling of GET /logs until `check` holds (entries are written in the background). */
async function until(query: string, check: (data: Entry[]) => boolean): Promise<Entry[]> {
  let data: Entry[] = [];
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
    data = (await logs(query)).data;
    if (check(data)) return data;
  }
  throw new Error(`GET /logs?${query} never held: ${JSON.stringify(data, null, 1)}`);
}

describe('GET /logs', () => {
  it('a flow: started and succeeded, newest first, and its refused webhook with status and attempts', async () => {
    expect((await connect('alice', 'approve')).status).toBe(200);
    const data = await until('connection_id=alice', (d) => d.some((e) => e.type === 'webhook'));
    const connect_ = data.filter((e) => e.type === 'connect');
    expect(connect_.map((e) => [e.action, e.outcome])).toEqual([['succeeded', 'success'], ['started', 'info']]);
    expect(connect_[0]).toMatchObject({ provider_config_key: 'sandbox', connection_id: 'alice', message: 'Connection created' });
    // Each step names the request that caused it (the flow's start, then the provider's callback).
    const [succeeded, started] = connect_.map((e) => e.request_id);
    expect([started, succeeded]).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    expect(started).not.toBe(succeeded);
    expect(data.find((e) => e.type === 'webhook')).toMatchObject({
      action: 'refused',
      outcome: 'failure',
      error: { code: 'http_400' },
      http: { method: 'POST', path: '/hooks', status: 400, attempts: 1, retries: 0 },
    });
    expect(data.map((e) => e.id)).toEqual(data.map((e) => e.id).sort().reverse());
  });

  it('a failed flow: our code and the provider\'s error', async () => {
    expect((await connect('bob', 'deny')).status).toBe(400);
    const [failed] = await until('connection_id=bob&type=connect&outcome=failure', (d) => d.length > 0);
    expect(failed).toMatchObject({ action: 'failed', provider_config_key: 'sandbox', error: { code: 'access_denied', provider_error: 'access_denied' } });
  });

  it('a proxied call: method, path without the query, status, duration, retries, and the request id', async () => {
    const path = new URL(stack.sandbox.userinfoUrl).pathname;
    const res = await fetch(`${stack.kw.url}/proxy${path}?api_key=query-secret-value`, {
      headers: { authorization: `Bearer ${SECRET_KEY}`, 'provider-config-key': 'sandbox', 'connection-id': 'alice', 'x-request-id': 'proxy-call-0001' },
    });
    expect(res.status).toBe(200);
    const [entry] = await until('connection_id=alice&type=proxy', (d) => d.length > 0);
    expect(entry).toMatchObject({ outcome: 'success', request_id: 'proxy-call-0001', http: { method: 'GET', path, status: 200, retries: 0, attempts: 1 } });
    expect(entry!.http!.duration_ms).toEqual(expect.any(Number));
  });

  it('a refresh failure, then the back-off that holds the next one', async () => {
    const stored = (await stack.kw.keyway.store.getConnection('sandbox', 'alice'))!;
    const revoke = new URLSearchParams({ token: oauth2(stored).refresh_token!, client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret });
    await fetch(stack.sandbox.revocationUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: revoke });
    await expect(client.getToken('sandbox', 'alice', true)).rejects.toMatchObject({ code: 'refresh_failed' });
    await expect(client.getToken('sandbox', 'alice', true)).rejects.toMatchObject({ code: 'refresh_backoff' });
    const data = await until('connection_id=alice&type=refresh', (d) => d.length >= 2);
    expect(data.map((e) => [e.action, e.outcome, e.error?.code])).toEqual([
      ['backoff', 'failure', 'refresh_backoff'],
      ['failed', 'failure', 'refresh_failed'],
    ]);
    expect(data[1]!.error!.provider_error).toBe('invalid_grant');
  });

  it('filters by integration, kind, outcome and time, and pages with the cursor', async () => {
    await stack.kw.keyway.activity.flush();
    const all = (await logs('limit=500')).data;
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect((await logs('provider_config_key=sandbox&limit=500')).data).toHaveLength(all.filter((e) => e.provider_config_key === 'sandbox').length);
    expect((await logs('outcome=success&limit=500')).data.every((e) => e.outcome === 'success')).toBe(true);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await logs(`from=${future}`)).data).toEqual([]);
    expect((await logs(`to=${encodeURIComponent(all.at(-1)!.at)}&limit=500`)).data.map((e) => e.id)).toContain(all.at(-1)!.id);

    // Paging two at a time gives back every entry, newest first, once.
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await logs(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((e) => e.id));
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(all.map((e) => e.id));

    // Following: nothing new, then exactly the new entries.
    const { follow_cursor } = await logs('limit=1');
    expect((await logs(`cursor=${follow_cursor}`)).data).toEqual([]);
    expect((await connect('carol', 'deny')).status).toBe(400);
    const fresh = await until(`cursor=${follow_cursor}`, (d) => d.some((e) => e.action === 'failed'));
    expect(fresh.every((e) => e.connection_id === 'carol')).toBe(true);
  });

  it('answers typed 400s for bad values, and 401 without the secret key', async () => {
    for (const query of ['type=bogus', 'outcome=maybe', 'from=yesterday', 'limit=0', 'limit=501', 'cursor=not-a-cursor', 'connection_id=%20bad', 'provider_config_key=-x', `from=${Date.now()}&to=${Date.now() - 1000}`]) {
      const res = await stack.kw.api(`/logs?${query}`);
      expect([query, res.status, res.body.error?.code]).toEqual([query, 400, expect.stringMatching(/^invalid_/)]);
    }
    expect((await fetch(`${stack.kw.url}/logs`)).status).toBe(401);
  });

  it('never holds a token, a secret or a query value', async () => {
    await stack.kw.keyway.activity.flush();
    const text = JSON.stringify((await logs('limit=500')).data);
    const c = oauth2((await stack.kw.keyway.store.getConnection('sandbox', 'alice'))!);
    for (const secret of [c.access_token, c.refresh_token!, SANDBOX_CLIENT.clientSecret, SECRET_KEY, WEBHOOK_SECRET, WEBHOOK_KEY_IN_QUERY, 'query-secret-value']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('API-key verification', () => {
  it('logs the check (the template\'s path, never the key), and the connection or its refusal', async () => {
    let status = 200;
    const provider = createServer((req, res) => req.resume().on('end', () => res.writeHead(status).end('{}')));
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;
    const kw = await startKeyway({
      templates: {
        'key-api': {
          categories: ['other'], docs: 'https://example.com/docs', display_name: 'Key API', auth_mode: 'API_KEY',
          credentials: { apiKey: { title: 'API key' }, account: { title: 'Account id' } },
          verification: { url: `${url}/verify/\${credentials.account}?key=\${credentials.apiKey}` },
        },
      },
      config: ALLOW_PUBLIC_KEY,
    });
    try {
      await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'key', provider: 'key-api' }) });
      const post = (id: string) =>
        fetch(`${kw.url}/api-auth/api-key/key?connection_id=${id}&public_key=${PUBLIC_KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'sk-very-secret-key', account: 'acct-42' }) });
      expect((await post('k1')).status).toBe(200);
      status = 401;
      expect((await post('k2')).status).toBe(400);
      await kw.keyway.activity.flush();
      const { body } = await kw.api('/logs?limit=500');
      const entries = body.data as Entry[];
      const of = (id: string) => entries.filter((e) => e.connection_id === id).map((e) => [e.type, e.action, e.outcome, e.http?.status ?? null, e.error?.code ?? null]);
      expect(of('k1')).toEqual([['connect', 'succeeded', 'success', null, null], ['verification', 'verified', 'success', 200, null]]);
      expect(of('k2')).toEqual([['connect', 'failed', 'failure', null, 'invalid_credentials'], ['verification', 'failed', 'failure', 401, 'invalid_credentials']]);
      const check = entries.find((e) => e.type === 'verification')!;
      expect(check.http).toMatchObject({ method: 'GET', path: '/verify/${credentials.account}' });
      expect(JSON.stringify(entries)).not.toContain('sk-very-secret-key');
      expect(JSON.stringify(entries)).not.toContain('acct-42');
    } finally {
      await kw.close();
      await new Promise<void>((r) => (provider.closeAllConnections(), provider.close(() => r())));
    }
  });
});

describe('getToken for a fresh token', () => {
  it('records nothing: the activity log is not on its path', async () => {
    expect((await connect('dave', 'approve')).status).toBe(200);
    await until('connection_id=dave', (d) => d.some((e) => e.type === 'webhook'));
    const total = (await logs('limit=500')).data.length;
    for (let i = 0; i < 20; i++) expect(typeof (await client.getToken('sandbox', 'dave'))).toBe('string');
    await stack.kw.keyway.activity.flush();
    expect((await logs('limit=500')).data.length).toBe(total);
    expect(stack.kw.keyway.activity.queued).toBe(0);
  });
});
