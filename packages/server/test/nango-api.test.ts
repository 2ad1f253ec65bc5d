import { Nango as KeywayNode } from '@keyway/node';
import { Nango as OfficialNango } from '@nangohq/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { oauth2, SECRET_KEY } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';
import { tenantTemplate } from './support/templates.ts';

/**
 * The connection API Nango's guides use (issue 14, item 2), through the official `@nangohq/node`
 * unchanged and through `@keyway/node`, against a real Keyway server and the sandbox provider.
 */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let official: OfficialNango;
let keyway: KeywayNode;

beforeAll(async () => {
  stack = await startSandboxStack({
    sandbox: { autoApprove: true },
    keyway: {
      templates: {
        tenant: tenantTemplate(),
      },
    },
  });
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
    // The connect link: Keyway's Connect UI on its own page, the token in the fragment (never sent to a server).
    expect(data.connect_link).toBe(`${stack.kw.url}/connect/ui/#session_token=${data.token}`);
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
    expect(data.connect_link).toBe(`${stack.kw.url}/connect/ui/#session_token=${data.token}`);
    expect((await connectWith(data.token, 'erik')).body).toContain('data-outcome="success"');
    const after = await official.getConnection('sandbox', 'erik');
    expect(after.id).toBe(before.id);
    expect(oauth2(after).access_token).not.toBe(oauth2(before).access_token);
  });

  // The official client polls listConnections({ endUserId }) at once, then after 10 s, then every 2 s.
  it('waitForConnection resolves with the connection the end user makes while the backend waits', async () => {
    const { data } = await official.createConnectSession({ end_user: { id: 'walt' }, allowed_integrations: ['sandbox'] });
    const waiting = official.waitForConnection('sandbox', 'walt');
    expect((await connectWith(data.token)).body).toContain('data-outcome="success"');
    const found = await waiting;
    expect(found).toMatchObject({ connection_id: 'walt', provider_config_key: 'sandbox', end_user: { id: 'walt' } });
    // Already connected: the first poll finds it.
    expect((await official.waitForConnection('sandbox', 'walt')).connection_id).toBe('walt');
  }, 60_000);
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

describe('tags', () => {
  it('sessions with tags and no end user, tags on connections and in listConnections filters, patchConnection', async () => {
    // Reserved tags name the end user (and so the connection id); keys are lower-cased.
    const { data: named } = await official.createConnectSession({ tags: { end_user_id: 'tina', Project: 'apollo' }, allowed_integrations: ['sandbox'] });
    expect((await connectWith(named.token)).body).toContain('data-outcome="success"');
    const tina = await official.getConnection('sandbox', 'tina');
    expect(tina.tags).toEqual({ end_user_id: 'tina', project: 'apollo' });
    expect(tina.end_user).toMatchObject({ id: 'tina' });

    // Without end_user_id, each session connects under a fresh id, found by its tags.
    const { data: anonymous } = await keyway.createConnectSession({ tags: { project: 'gemini' }, allowed_integrations: ['sandbox'] });
    expect((await connectWith(anonymous.token)).body).toContain('data-outcome="success"');
    const gemini = await official.listConnections({ tags: { project: 'gemini' } });
    expect(gemini.connections).toHaveLength(1);
    expect(gemini.connections[0]!.connection_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(gemini.connections[0]!.tags).toEqual({ project: 'gemini' });

    // An end user's session gets Nango's reserved tags; the app's own tags win over them.
    const { data: withUser } = await official.createConnectSession({ end_user: { id: 'uma', email: 'uma@example.com' }, tags: { project: 'apollo' }, allowed_integrations: ['sandbox'] });
    expect((await connectWith(withUser.token)).body).toContain('data-outcome="success"');
    expect((await keyway.getConnection('sandbox', 'uma')).tags).toEqual({ end_user_id: 'uma', end_user_email: 'uma@example.com', project: 'apollo' });

    // Filters: every tag must match; the official client's `email` alias means end_user_email.
    const apollo = (await official.listConnections({ tags: { project: 'apollo' } })).connections.map((c) => c.connection_id).sort();
    expect(apollo).toEqual(['tina', 'uma']);
    expect((await keyway.listConnections({ tags: { project: 'apollo', end_user_id: 'uma' } })).connections.map((c) => c.connection_id)).toEqual(['uma']);
    expect((await official.listConnections({ tags: { email: 'uma@example.com' } })).connections.map((c) => c.connection_id)).toEqual(['uma']);
    expect((await keyway.listConnections({ tags: { project: 'nothing' } })).connections).toEqual([]);

    // patchConnection replaces the tags and/or the end user, through both clients.
    expect(await official.patchConnection({ connectionId: 'tina', provider_config_key: 'sandbox' }, { tags: { project: 'artemis' } })).toEqual({ success: true });
    expect((await official.getConnection('sandbox', 'tina')).tags).toEqual({ project: 'artemis' });
    await keyway.patchConnection({ connectionId: 'tina', provider_config_key: 'sandbox' }, { end_user: { id: 'tina', email: 'tina@example.com' } });
    const patched = await keyway.getConnection('sandbox', 'tina');
    expect(patched.end_user).toMatchObject({ id: 'tina', email: 'tina@example.com' });
    expect(patched.tags).toEqual({ project: 'artemis' });
    expect((await official.listConnections({ tags: { project: 'apollo' } })).connections.map((c) => c.connection_id)).toEqual(['uma']);
  });

  it('refuses bad tags and unknown connections with typed errors', async () => {
    const post = (body: unknown) => stack.kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify(body) });
    for (const tags of [{ '1bad': 'x' }, { ok: '' }, { ok: 7 }, Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])), { Dup: 'a', dup: 'b' }, 'nope']) {
      const res = await post({ tags });
      expect(res.status, JSON.stringify(tags)).toBe(400);
      expect(res.body.error.code).toBe('invalid_body');
    }
    expect((await post({ allowed_integrations: ['sandbox'] })).body.error.code).toBe('invalid_body'); // neither end_user nor tags
    const list = await stack.kw.api('/connections?tags[9x]=y');
    expect(list.status).toBe(400);
    expect(list.body.error.code).toBe('invalid_query_params');
    await expect(official.patchConnection({ connectionId: 'nobody', provider_config_key: 'sandbox' }, { tags: { a: 'b' } })).rejects.toMatchObject({ response: { status: 404, data: { error: { code: 'unknown_connection' } } } });
    const extra = await stack.kw.api('/connections/tina?provider_config_key=sandbox', { method: 'PATCH', body: JSON.stringify({ metadata: {} }) });
    expect(extra.status).toBe(400);
  });
});

describe('import (POST /connections)', () => {
  it('stores OAuth2, API key and Basic credentials with tags, end user and metadata; the imported token refreshes', async () => {
    // An OAuth2 connection made elsewhere: here, tokens the sandbox issued to another connection.
    const { data: s } = await official.createConnectSession({ end_user: { id: 'origin' }, allowed_integrations: ['sandbox'] });
    expect((await connectWith(s.token)).body).toContain('data-outcome="success"');
    const origin = await official.getConnection('sandbox', 'origin', false, true);
    const creds = oauth2(origin);
    const imported = await keyway.importConnection({
      provider_config_key: 'sandbox',
      connection_id: 'imported',
      credentials: { type: 'OAUTH2', access_token: creds.access_token, refresh_token: creds.refresh_token!, expires_at: creds.expires_at! },
      end_user: { id: 'ivy', email: 'ivy@example.com' },
      tags: { source: 'nango' },
      metadata: { plan: 'pro' },
    });
    expect(imported).toMatchObject({ connection_id: 'imported', provider_config_key: 'sandbox', tags: { source: 'nango' }, metadata: { plan: 'pro' }, end_user: { id: 'ivy', email: 'ivy@example.com' } });
    expect(imported.credentials).not.toHaveProperty('refresh_token');
    const viaOfficial = await official.getConnection('sandbox', 'imported', false, true);
    expect(oauth2(viaOfficial)).toMatchObject({ access_token: creds.access_token, refresh_token: creds.refresh_token, expires_at: creds.expires_at });
    // The imported refresh token works: a forced refresh gets a new access token from the provider.
    expect(await official.getToken('sandbox', 'imported', true)).not.toBe(creds.access_token);
    // Importing again replaces the credentials and keeps the connection (idempotent for the same input).
    const again = await stack.kw.api('/connections', { method: 'POST', body: JSON.stringify({ provider_config_key: 'sandbox', connection_id: 'imported', credentials: { type: 'OAUTH2', access_token: 'at-2' } }) });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(imported.id);
    expect(again.body.credentials.access_token).toBe('at-2');
    expect(again.body.metadata).toEqual({ plan: 'pro' });
  });

  it('API key and Basic connections, and typed refusals', async () => {
    const templates = (await keyway.listProviders()).data;
    const noInputs = (t: (typeof templates)[number]) => Object.keys(t.connection_config ?? {}).length === 0;
    const apiKey = templates.find((t) => t.auth_mode === 'API_KEY' && noInputs(t))!;
    const basic = templates.find((t) => t.auth_mode === 'BASIC' && noInputs(t))!;
    await keyway.createIntegration({ unique_key: 'imp-key', provider: apiKey.name });
    await keyway.createIntegration({ unique_key: 'imp-basic', provider: basic.name });
    await keyway.importConnection({ provider_config_key: 'imp-key', connection_id: 'k1', credentials: { type: 'API_KEY', apiKey: 'sk-123' } });
    expect(await official.getToken('imp-key', 'k1')).toMatchObject({ type: 'API_KEY', apiKey: 'sk-123' });
    const b = await keyway.importConnection({ provider_config_key: 'imp-basic', credentials: { type: 'BASIC', username: 'u', password: 'p' } });
    expect(b.connection_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await official.getToken('imp-basic', b.connection_id)).toMatchObject({ type: 'BASIC', username: 'u', password: 'p' });

    // A template's inputs are checked as a flow checks them; other values (a token response's) are kept.
    await keyway.createIntegration({ unique_key: 'tenant', provider: 'tenant', credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 's' } });
    const t = await keyway.importConnection({ provider_config_key: 'tenant', connection_id: 't1', credentials: { type: 'OAUTH2', access_token: 'x' }, connection_config: { subdomain: 'acme', team_id: 'T1' } });
    expect(t.connection_config).toEqual({ subdomain: 'acme', team_id: 'T1' });

    const post = (body: unknown) => stack.kw.api('/connections', { method: 'POST', body: JSON.stringify(body) });
    const refused = [
      [{ provider_config_key: 'tenant', credentials: { type: 'OAUTH2', access_token: 'x' }, connection_config: { subdomain: 'evil.com/x' } }, 400, 'invalid_connection_config'],
      [{ provider_config_key: 'tenant', credentials: { type: 'OAUTH2', access_token: 'x' } }, 400, 'invalid_connection_config'],
      [{ provider_config_key: 'imp-key', credentials: { type: 'OAUTH2', access_token: 'x' } }, 400, 'invalid_body'],
      [{ provider_config_key: 'sandbox', credentials: { type: 'OAUTH2' } }, 400, 'invalid_body'],
      [{ provider_config_key: 'sandbox', credentials: { type: 'OAUTH2', access_token: 'x', expires_at: 'soon' } }, 400, 'invalid_body'],
      [{ provider_config_key: 'sandbox', credentials: { type: 'OAUTH2', access_token: 'x' }, tags: { '!': 'x' } }, 400, 'invalid_body'],
      [{ provider_config_key: 'nope', credentials: { type: 'OAUTH2', access_token: 'x' } }, 404, 'unknown_provider_config'],
    ] as const;
    for (const [body, status, code] of refused) {
      const res = await post(body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status, code });
    }
  });
});
