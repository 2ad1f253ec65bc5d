import { Nango as KeywayNode } from '@keyway/node';
import { Nango as OfficialNango } from '@nangohq/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { oauth2, SECRET_KEY } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/**
 * The connection API Nango's guides use (issue 14, item 2), through the official `@nangohq/node`
 * unchanged and through `@keyway/node`, against a real Keyway server and the sandbox provider.
 */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let official: OfficialNango;
let keyway: KeywayNode;

beforeAll(async () => {
  stack = await startSandboxStack({ sandbox: { autoApprove: true } });
  official = new OfficialNango({ host: stack.kw.url, secretKey: SECRET_KEY });
  keyway = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await keyway.createIntegration({
    unique_key: 'sandbox',
    provider: 'keyway-sandbox',
    credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret },
  });
});
afterAll(() => stack?.close());

/** A flow started with a session token; the sandbox approves at once and sends the browser back. */
async function connectWith(token: string, connectionId?: string) {
  const query = `connect_session_token=${token}${connectionId ? `&connection_id=${connectionId}` : ''}`;
  return new TestBrowser().follow(`${stack.kw.url}/oauth/connect/sandbox?${query}`);
}

const sessionRequest = (method: 'GET' | 'DELETE', token: string) =>
  fetch(`${stack.kw.url}/connect/session`, { method, headers: { authorization: `Bearer ${token}` } });

describe('connect sessions through the official client', () => {
  it('createConnectSession, then GET and DELETE /connect/session with the session token as Bearer', async () => {
    const { data } = await official.createConnectSession({ end_user: { id: 'dana', email: 'dana@example.com' }, allowed_integrations: ['sandbox'] });
    expect(data.token).toMatch(/^kw_cs_/);
    const got = await sessionRequest('GET', data.token);
    expect(got.status).toBe(200);
    const body = (await got.json()) as { data: { end_user: { id: string }; integrations: { unique_key: string }[] } };
    expect(body.data.end_user).toMatchObject({ id: 'dana', email: 'dana@example.com' });
    expect(body.data.integrations.map((i) => i.unique_key)).toEqual(['sandbox']);

    const deleted = await sessionRequest('DELETE', data.token);
    expect(deleted.status).toBe(204);
    // Ended: neither readable nor usable to start a flow, and a second DELETE says so.
    expect(await sessionRequest('GET', data.token).then((r) => r.status)).toBe(401);
    const again = await sessionRequest('DELETE', data.token);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ error: { code: 'invalid_connect_session' } });
    const refused = await connectWith(data.token);
    expect(refused.body).not.toContain('data-outcome="success"');
    expect(await keyway.listConnections({ connectionId: 'dana' }).then((l) => l.connections)).toHaveLength(0);
  });

  it('GET and DELETE /connect/session refuse a request without a session token', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await fetch(`${stack.kw.url}/connect/session`, { method });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_connect_session' } });
    }
  });

  it('createReconnectSession replaces the credentials of an existing connection', async () => {
    const { data: first } = await official.createConnectSession({ end_user: { id: 'erik' }, allowed_integrations: ['sandbox'] });
    expect((await connectWith(first.token)).body).toContain('data-outcome="success"');
    const before = await official.getConnection('sandbox', 'erik');
    const { data } = await official.createReconnectSession({ connection_id: 'erik', integration_id: 'sandbox' });
    expect((await connectWith(data.token, 'erik')).body).toContain('data-outcome="success"');
    const after = await official.getConnection('sandbox', 'erik');
    expect(after.id).toBe(before.id);
    expect(oauth2(after).access_token).not.toBe(oauth2(before).access_token);
  });
});

describe('getIntegration with include', () => {
  it('include credentials and webhook, through the official client and @keyway/node', async () => {
    const { data } = await keyway.getIntegration({ uniqueKey: 'sandbox' }, { include: ['credentials', 'webhook'] });
    expect(data.credentials).toMatchObject({ type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret });
    expect(data).toHaveProperty('webhook_url', null);
    // The official client puts a list in the query with `searchParams.set`, so only its last item
    // reaches any server (Nango's too): each include is checked on its own.
    const credentials = await official.getIntegration({ uniqueKey: 'sandbox' }, { include: ['credentials'] });
    expect(credentials.data.credentials).toMatchObject({ type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret });
    expect(credentials.data).not.toHaveProperty('webhook_url');
    const webhook = await official.getIntegration({ uniqueKey: 'sandbox' }, { include: ['webhook'] });
    expect(webhook.data).toHaveProperty('webhook_url', null);
    expect(webhook.data).not.toHaveProperty('credentials');
    const plain = await official.getIntegration({ uniqueKey: 'sandbox' });
    expect(plain.data).not.toHaveProperty('credentials');
    expect(plain.data).not.toHaveProperty('webhook_url');
  });
});
