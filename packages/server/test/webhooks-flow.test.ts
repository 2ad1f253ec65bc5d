import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { TestBrowser } from './support/browser.ts';
import { SECRET_KEY, WEBHOOK_SECRET, oauth2, sessionToken } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/** Auth webhooks from the real flow: creation, override, refresh failure, signed; a dead receiver slows nothing. */
interface Delivery { headers: IncomingHttpHeaders; raw: string; body: Record<string, any> }

async function startReceiver(mode: { hang: boolean }) {
  const deliveries: Delivery[] = [];
  /** Deliveries received in hang mode: never answered; `open` turns false when the sender gives up on one. */
  const held: { body: Record<string, any>; open: boolean }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (mode.hang) {
        const h = { body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, any>, open: true };
        held.push(h);
        res.on('close', () => (h.open = false));
        return; // never answers
      }
      const raw = Buffer.concat(chunks).toString();
      deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    deliveries,
    held,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const mode = { hang: false };
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let client: KeywayNode;

beforeAll(async () => {
  receiver = await startReceiver(mode);
  stack = await startSandboxStack({ sandbox: { autoApprove: true }, keyway: { config: { webhookUrl: receiver.url } } });
  client = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY, webhookSigningKey: WEBHOOK_SECRET });
  await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

const connect = async (id: string) => expect((await new TestBrowser().follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${await sessionToken(stack.kw.url, id)}`)).status).toBe(200);
/** Bounded polling: true once `check` holds, false after 15 s. */
const eventually = async (check: () => boolean) => {
  for (const deadline = Date.now() + 15_000; !check() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  return check();
};
const waitFor = async (count: number) => {
  await eventually(() => receiver.deliveries.length >= count);
  expect(receiver.deliveries.length).toBeGreaterThanOrEqual(count);
};

describe('auth webhooks', () => {
  it('reports creation, override and a refused refresh, each signed over the raw body', async () => {
    await connect('hooked');
    await waitFor(1);
    await connect('hooked');
    await waitFor(2);
    const stored = (await stack.kw.keyway.store.getConnection('sandbox', 'hooked'))!;
    await fetch(stack.sandbox.revocationUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: oauth2(stored).refresh_token!, client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret }) });
    await expect(client.getToken('sandbox', 'hooked', true)).rejects.toMatchObject({ code: 'refresh_failed' });
    await waitFor(3);

    const [creation, override, refresh] = receiver.deliveries.map((d) => d.body);
    expect(creation).toMatchObject({ type: 'auth', operation: 'creation', success: true, connectionId: 'hooked', providerConfigKey: 'sandbox', provider: 'keyway-sandbox', authMode: 'OAUTH2' });
    expect(override).toMatchObject({ operation: 'override', success: true });
    expect(refresh).toMatchObject({ operation: 'refresh', success: false, error: { type: 'invalid_grant' } });
    for (const d of receiver.deliveries) {
      expect(client.verifyIncomingWebhookRequest(d.raw, d.headers)).toBe(true);
      expect(client.verifyIncomingWebhookRequest(d.raw.replace('"success"', '"succes"'), d.headers)).toBe(false);
      expect(d.raw).not.toContain(oauth2(stored).access_token);
    }
  });

  it('a receiver that never answers does not slow the flow', async () => {
    mode.hang = true;
    await connect('slow-receiver');
    // The flow ended while its webhook was still unanswered: had it waited for the delivery, it could only
    // have ended once the sender gave up on it (its time-out closes the request).
    expect(await eventually(() => receiver.held.some((h) => h.body.connectionId === 'slow-receiver'))).toBe(true);
    expect(receiver.held.find((h) => h.body.connectionId === 'slow-receiver')!.open).toBe(true);
  });

  it('connect sessions made with @keyway/node carry the end user into the webhook', async () => {
    mode.hang = false;
    const { data } = await client.createConnectSession({ end_user: { id: 'erin', email: 'erin@example.com' }, allowed_integrations: ['sandbox'] });
    expect((await new TestBrowser().follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${data.token}`)).status).toBe(200);
    await eventually(() => receiver.deliveries.some((d) => d.body.connectionId === 'erin'));
    expect(receiver.deliveries.find((d) => d.body.connectionId === 'erin')?.body).toMatchObject({ operation: 'creation', connectionId: 'erin', endUser: { endUserId: 'erin', endUserEmail: 'erin@example.com' } });
    expect((await client.listConnections({ endUserId: 'erin' })).connections.map((c) => c.connection_id)).toEqual(['erin']);
  });
});

describe('Nango webhook fields (issue 14)', () => {
  it('carries the connection tags, and a refresh that succeeds after failures sends refresh with success: true', async () => {
    mode.hang = false;
    const { data } = await client.createConnectSession({ end_user: { id: 'mend' }, tags: { project: 'apollo' }, allowed_integrations: ['sandbox'] });
    expect((await new TestBrowser().follow(`${stack.kw.url}/oauth/connect/sandbox?connect_session_token=${data.token}`)).status).toBe(200);
    const forMend = () => receiver.deliveries.filter((d) => d.body.connectionId === 'mend').map((d) => d.body);
    expect(await eventually(() => forMend().length === 1)).toBe(true);
    const tags = { end_user_id: 'mend', project: 'apollo' };
    expect(forMend()[0]).toMatchObject({ type: 'auth', operation: 'creation', success: true, environment: 'prod', tags, endUser: { endUserId: 'mend', tags } });

    // A refused refresh, then credentials that work again (as a provider recovering would give).
    const store = stack.kw.keyway.store;
    const first = (await store.getConnection('sandbox', 'mend'))!;
    await fetch(stack.sandbox.revocationUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: oauth2(first).refresh_token!, client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret }) });
    await expect(client.getToken('sandbox', 'mend', true)).rejects.toMatchObject({ code: 'refresh_failed' });
    expect(await eventually(() => forMend().length === 2)).toBe(true);
    expect(forMend()[1]).toMatchObject({ operation: 'refresh', success: false, tags });

    await connect('donor');
    const donor = (await store.getConnection('sandbox', 'donor'))!;
    await store.writeConnection('sandbox', 'mend', (c) => (c ? { ...c, credentials: donor.credentials, last_refresh_failure: { ...c.last_refresh_failure!, backoff_until: new Date(0).toISOString() } } : null));
    expect(typeof (await client.getToken('sandbox', 'mend', true))).toBe('string');
    expect(await eventually(() => forMend().length === 3)).toBe(true);
    expect(forMend()[2]).toMatchObject({ operation: 'refresh', success: true, tags, endUser: { endUserId: 'mend' } });
    expect(forMend()[2]).not.toHaveProperty('error');
    // A refresh with no failure before it sends nothing.
    await client.getToken('sandbox', 'mend', true);
    await connect('after');
    expect(await eventually(() => receiver.deliveries.some((d) => d.body.connectionId === 'after'))).toBe(true);
    expect(forMend()).toHaveLength(3);
  });
});
