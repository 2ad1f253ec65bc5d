import { createServer, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { Nango as KeywayNode } from '@keyway/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, freePort, oauth2, PUBLIC_KEY, SECRET_KEY, sessionToken, WEBHOOK_SECRET } from './support/keyway.ts';
import { parsePrometheus, valueOf, type Sample } from './support/prometheus.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/**
 * Metrics and structured logs over one real run: flows (one approved, one denied), a proxied call,
 * a refresh that works and one the provider refuses, webhooks delivered and refused. Every token
 * and secret the run saw is then looked for in the logs and in /metrics.
 */
const METRICS_TOKEN = 'metrics-only-token-0123456789';
const logs: string[] = [];
const scraped: string[] = [];
/** Every token and secret of the run. */
const secrets = new Set<string>([SECRET_KEY, PUBLIC_KEY, WEBHOOK_SECRET, METRICS_TOKEN, SANDBOX_CLIENT.clientSecret]);
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let keyway: KeywayNode;
let receiver: Server;
let receiverStatus = 200;
let metricsPort: number;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    for (const h of ['webhook-signature', 'x-nango-signature']) if (typeof req.headers[h] === 'string') secrets.add(req.headers[h]);
    req.resume().on('end', () => res.writeHead(receiverStatus).end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  metricsPort = await freePort();
  stack = await startSandboxStack({ keyway: { logs, logFormat: 'json', config: { ...ALLOW_PUBLIC_KEY, webhookUrl: hook, metricsToken: METRICS_TOKEN, metricsPort } } });
  keyway = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await keyway.createIntegration({
    unique_key: 'sandbox',
    provider: 'keyway-sandbox',
    credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret },
  });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

const scrape = async (auth = SECRET_KEY): Promise<Sample[]> => {
  const res = await fetch(`${stack.kw.url}/metrics`, { headers: { authorization: `Bearer ${auth}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  scraped.push(text);
  return parsePrometheus(text);
};

/** Waits (bounded) until a scrape satisfies `check`. */
async function eventually(check: (samples: Sample[]) => boolean): Promise<Sample[]> {
  for (let i = 0; i < 200; i++) {
    const samples = await scrape();
    if (check(samples)) return samples;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the metrics never reached the expected values');
}

async function connect(query: string, button: 'approve' | 'deny') {
  const browser = new TestBrowser();
  const consent = await browser.follow(`${stack.kw.url}/oauth/connect/sandbox?${query}`);
  const done = await browser.submit(consent, button);
  const callback = new URL(done.url);
  for (const name of ['code', 'state']) if (callback.searchParams.get(name)) secrets.add(callback.searchParams.get(name)!);
  return done;
}

async function rememberCredentials(connectionId: string) {
  const c = await keyway.getConnection('sandbox', connectionId, false, true);
  const creds = oauth2(c);
  secrets.add(creds.access_token);
  if (creds.refresh_token) secrets.add(creds.refresh_token);
  return creds;
}

describe('GET /metrics', () => {
  it('counts started, succeeded and failed flows by integration and error code', async () => {
    const before = await scrape();
    const token = await sessionToken(stack.kw.url, 'alice');
    secrets.add(token);
    expect((await connect(`connect_session_token=${token}`, 'approve')).status).toBe(200);
    await rememberCredentials('alice');
    expect((await connect(`connection_id=bob&public_key=${PUBLIC_KEY}`, 'deny')).status).toBe(400);
    // A flow for an integration that does not exist: counted, but its key never becomes a label.
    expect((await fetch(`${stack.kw.url}/oauth/connect/no-such-integration?connection_id=x&public_key=${PUBLIC_KEY}`)).status).toBe(404);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('keyway_flows_started_total', { config_key: 'sandbox' })).toBe(2);
    expect(delta('keyway_flows_succeeded_total', { config_key: 'sandbox' })).toBe(1);
    expect(delta('keyway_flows_failed_total', { config_key: 'sandbox', error_code: 'access_denied' })).toBe(1);
    expect(delta('keyway_flows_failed_total', { config_key: '' })).toBe(1);
    expect(after.some((s) => Object.values(s.labels).includes('no-such-integration'))).toBe(false);
    expect(valueOf(after, 'keyway_store_write_duration_seconds_count', { operation: 'writeConnection' })).toBeGreaterThan(0);
    // The default process metrics are there too.
    expect(valueOf(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts proxied requests by status, with their latency', async () => {
    const before = await scrape();
    const path = new URL(stack.sandbox.userinfoUrl).pathname;
    const me = await keyway.get<{ sub: string }>({ endpoint: path, providerConfigKey: 'sandbox', connectionId: 'alice' });
    expect(me.status).toBe(200);
    const after = await scrape();
    expect(valueOf(after, 'keyway_proxy_requests_total', { config_key: 'sandbox', method: 'GET', status: '200' }) - valueOf(before, 'keyway_proxy_requests_total', { config_key: 'sandbox', method: 'GET', status: '200' })).toBe(1);
    expect(valueOf(after, 'keyway_proxy_request_duration_seconds_count', { config_key: 'sandbox' }) - valueOf(before, 'keyway_proxy_request_duration_seconds_count', { config_key: 'sandbox' })).toBe(1);
  });

  it('counts refreshes by outcome with a latency histogram, and webhook deliveries by outcome', async () => {
    const before = await eventually((s) => valueOf(s, 'keyway_webhook_deliveries_total', { outcome: 'delivered' }) >= 1); // the creation's webhook
    await keyway.getToken('sandbox', 'alice', true);
    const { refresh_token } = await rememberCredentials('alice');
    let after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('keyway_refreshes_total', { config_key: 'sandbox', outcome: 'success' })).toBe(1);
    expect(delta('keyway_refresh_duration_seconds_count', { outcome: 'success' })).toBe(1);

    // The provider revokes the grant: the next refresh is refused, and its webhook refused by the receiver.
    receiverStatus = 400;
    const revoked = await fetch(stack.sandbox.revocationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refresh_token!, token_type_hint: 'refresh_token', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret }),
    });
    expect(revoked.status).toBe(200);
    await expect(keyway.getToken('sandbox', 'alice', true)).rejects.toMatchObject({ code: 'refresh_failed' });
    after = await eventually((s) => valueOf(s, 'keyway_webhook_deliveries_total', { outcome: 'refused' }) - valueOf(before, 'keyway_webhook_deliveries_total', { outcome: 'refused' }) === 1);
    expect(delta('keyway_refreshes_total', { config_key: 'sandbox', outcome: 'refused' })).toBe(1);
    expect(delta('keyway_refresh_duration_seconds_count', { outcome: 'refused' })).toBe(1);
  });

  it('shows open long-polls', async () => {
    const base = valueOf(await scrape(), 'keyway_open_long_polls');
    const stop = new AbortController();
    const poll = fetch(`${stack.kw.url}/oauth/flows/${'f'.repeat(43)}?wait=25`, { signal: stop.signal }).catch(() => undefined);
    await eventually((s) => valueOf(s, 'keyway_open_long_polls') === base + 1);
    stop.abort();
    await poll;
    await eventually((s) => valueOf(s, 'keyway_open_long_polls') === base);
    stack.kw.keyway.metrics.openWebSockets.inc();
    expect(valueOf(await scrape(), 'keyway_open_websockets')).toBe(1);
    stack.kw.keyway.metrics.openWebSockets.dec();
  });

  it('opens to the secret key or the metrics token only; the metrics port needs no token and listens on 127.0.0.1 only', async () => {
    await scrape(METRICS_TOKEN);
    const status = async (headers: Record<string, string>) => {
      const res = await fetch(`${stack.kw.url}/metrics`, { headers });
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    expect(await status({})).toEqual([401, 'missing_auth_header']);
    expect(await status({ authorization: 'Basic abc' })).toEqual([401, 'malformed_auth_header']);
    expect(await status({ authorization: `Bearer ${PUBLIC_KEY}` })).toEqual([401, 'unknown_account']);
    expect(await status({ authorization: `Bearer ${METRICS_TOKEN}x` })).toEqual([401, 'unknown_account']);
    // The metrics token opens nothing else.
    expect((await fetch(`${stack.kw.url}/connections`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(401);

    const local = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(local.status).toBe(200);
    const text = await local.text();
    scraped.push(text);
    expect(valueOf(parsePrometheus(text), 'keyway_flows_started_total', { config_key: 'sandbox' })).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/connections`)).status).toBe(404);
    // Bound to 127.0.0.1 itself, not to every address: another loopback address finds nothing there.
    const refused = await new Promise<string>((resolve) => {
      const socket = netConnect({ host: '127.0.0.2', port: metricsPort }, () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe('structured logs', () => {
  it('are JSON lines; each line of a request carries its id, which the answer returns as X-Request-Id', async () => {
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => typeof l.level === 'string' && typeof l.time === 'string' && typeof l.msg === 'string')).toBe(true);

    const path = new URL(stack.sandbox.userinfoUrl).pathname;
    const res = await fetch(`${stack.kw.url}/proxy${path}`, {
      headers: { authorization: `Bearer ${SECRET_KEY}`, 'provider-config-key': 'sandbox', 'connection-id': 'alice', 'x-request-id': 'caller-request-0001' },
    });
    await res.arrayBuffer();
    expect(res.headers.get('x-request-id')).toBe('caller-request-0001');
    const proxyLine = () => logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'proxy' && l.request_id === 'caller-request-0001');
    for (let i = 0; i < 100 && !proxyLine(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(proxyLine()).toMatchObject({ level: 'info', method: 'GET', path, config_key: 'sandbox' });

    // An id of our own when the caller gives none (or a malformed one); getToken's fast route too.
    const health = await fetch(`${stack.kw.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const token = await fetch(`${stack.kw.url}/connections/alice?provider_config_key=sandbox`, { headers: { authorization: `Bearer ${SECRET_KEY}` } });
    expect(token.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // The Express app alone (mounted by an embedder) gives ids too.
    const embedded = createServer(stack.kw.keyway.app);
    await new Promise<void>((r) => embedded.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(embedded.address() as { port: number }).port}/health`, { headers: { 'x-request-id': 'embedded-0001' } });
      expect(res.headers.get('x-request-id')).toBe('embedded-0001');
    } finally {
      await new Promise((r) => embedded.close(r));
    }

    // Lines logged while serving a flow carry an id too.
    expect(lines.filter((l) => l.msg === 'flow started' || l.msg === 'connection stored').every((l) => typeof l.request_id === 'string')).toBe(true);
  });

  it('hold no token or secret of the run, and neither does /metrics (nor any connection id)', () => {
    // The run produced what it should have: tokens before and after the refresh, a code, a state, signatures.
    expect(secrets.size).toBeGreaterThanOrEqual(12);
    const logText = logs.join('\n');
    const metricsText = scraped.join('\n');
    expect(logText).toContain('"refresh refused by the provider"');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(logText).not.toContain(secret);
      expect(metricsText).not.toContain(secret);
    }
    expect(metricsText).not.toMatch(/"(alice|bob)"/);
  });
});
