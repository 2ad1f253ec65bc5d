import { Nango as KeywayNode } from '@keyway/node';
import { Nango as OfficialNango } from '@nangohq/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, reconnectToken, SECRET_KEY, oauth2 } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';
import { atRest } from './support/json-db.ts';

/** End to end: the real sandbox provider, the real Keyway server, the real clients. Nothing of ours is faked. */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let keyway: KeywayNode;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startSandboxStack({ keyway: { logs, config: ALLOW_PUBLIC_KEY } });
  keyway = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await keyway.createIntegration({
    unique_key: 'sandbox',
    provider: 'keyway-sandbox',
    credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret },
  });
});
afterAll(() => stack?.close());

/** Runs the connect flow as a browser would: to the sandbox, approve (or deny), back to our callback. */
async function connect(connectionId: string, button: 'approve' | 'deny' = 'approve', auth = `public_key=${PUBLIC_KEY}`) {
  const browser = new TestBrowser();
  const consent = await browser.follow(`${stack.kw.url}/oauth/connect/sandbox?connection_id=${connectionId}&${auth}`);
  expect(consent.url).toMatch(new RegExp(`^${stack.sandbox.url}/interaction/`));
  return browser.submit(consent, button);
}

const userinfo = (token: string) => fetch(stack.sandbox.userinfoUrl, { headers: { authorization: `Bearer ${token}` } });

describe('the connect flow against the sandbox provider', () => {
  it('stores a connection whose token the provider accepts', async () => {
    const done = await connect('alice');
    expect(done.url).toMatch(new RegExp(`^${stack.kw.url}/oauth/callback\\?`));
    expect(done.status).toBe(200);
    expect(done.body).toContain('data-outcome="success"');

    const token = await keyway.getToken('sandbox', 'alice');
    expect(typeof token).toBe('string');
    const me = await userinfo(token as string);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { sub: string }).sub).toBe('demo-user');
  });

  it('calls the provider\'s API through the proxy with the stored token', async () => {
    const path = new URL(stack.sandbox.userinfoUrl).pathname;
    const me = await keyway.get<{ sub: string }>({ endpoint: path, providerConfigKey: 'sandbox', connectionId: 'alice' });
    expect([me.status, me.data.sub]).toEqual([200, 'demo-user']);
  });

  it('keeps neither the token nor the client secret in plaintext on disk, nor in the logs', async () => {
    const connection = await keyway.getConnection('sandbox', 'alice', false, true);
    const db = await atRest(stack.kw.config.dbPath);
    const creds = connection.credentials as { access_token: string; refresh_token: string };
    for (const secret of [creds.access_token, creds.refresh_token, SANDBOX_CLIENT.clientSecret]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(db).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    }
    expect(logs.join('\n')).toMatch(/connection stored .*connection_id="alice"/);
  });

  it('returns the refresh token only when asked', async () => {
    const plain = await keyway.getConnection('sandbox', 'alice');
    expect(plain.credentials).not.toHaveProperty('refresh_token');
    expect(plain.credentials.raw).not.toHaveProperty('refresh_token');
    const full = await keyway.getConnection('sandbox', 'alice', false, true);
    expect((full.credentials as { refresh_token?: string }).refresh_token).toEqual(expect.any(String));
  });

  it('says overridden when the same pair connects again, keeping metadata', async () => {
    await keyway.setMetadata('sandbox', 'alice', { plan: 'pro' });
    const before = await keyway.getConnection('sandbox', 'alice');
    await connect('alice', 'approve', `connect_session_token=${await reconnectToken(stack.kw.url, 'sandbox', 'alice')}`);
    const after = await keyway.getConnection('sandbox', 'alice');
    expect(after.id).toBe(before.id);
    expect(oauth2(after).access_token).not.toBe(oauth2(before).access_token);
    expect(after.metadata).toEqual({ plan: 'pro' });
    expect(logs.join('\n')).toMatch(/connection stored .*connection_id="alice" result="overridden"/);
    expect((await keyway.listConnections({ connectionId: 'alice' })).connections).toHaveLength(1);
  });

  it('refreshes on demand; concurrent callers share one refresh (the sandbox rotates refresh tokens)', async () => {
    const before = await keyway.getConnection('sandbox', 'alice', false, true);
    // In one tick, ten forced refreshes join one flight: a second refresh would replay the rotated
    // refresh token, which the sandbox refuses (and then revokes the whole grant).
    const connections = await Promise.all(Array.from({ length: 10 }, () => stack.kw.keyway.connections.getFresh('sandbox', 'alice', true)));
    expect(new Set(connections.map((c) => oauth2(c).access_token)).size).toBe(1);
    const token = oauth2(connections[0]!).access_token;
    expect(token).not.toBe(oauth2(before).access_token);
    expect((await userinfo(token)).status).toBe(200);
    const after = await keyway.getConnection('sandbox', 'alice', false, true);
    expect((after.credentials as { refresh_token: string }).refresh_token).not.toBe((before.credentials as { refresh_token: string }).refresh_token);

    // Over HTTP, concurrent forced refreshes all succeed, whatever their timing: none replays a used refresh token.
    const tokens = await Promise.all(Array.from({ length: 10 }, () => keyway.getToken('sandbox', 'alice', true)));
    expect((await userinfo(tokens.at(-1) as string)).status).toBe(200);
    expect((await keyway.getToken('sandbox', 'alice', true)) as string).toEqual(expect.any(String));
  });

  it('stores nothing when the user denies consent', async () => {
    const denied = await connect('bob', 'deny');
    expect(denied.status).toBe(400);
    expect(denied.body).toContain('data-error-code="access_denied"');
    await expect(keyway.getConnection('sandbox', 'bob')).rejects.toMatchObject({ status: 404, code: 'unknown_connection' });
  });
});

describe('the official @nangohq/node client against Keyway, unchanged', () => {
  let nango: OfficialNango;
  beforeAll(() => {
    nango = new OfficialNango({ host: stack.kw.url, secretKey: SECRET_KEY });
  });

  it('providers', async () => {
    const list = await nango.listProviders({});
    expect(list.data.map((p) => p.name)).toContain('keyway-sandbox');
    expect((await nango.getProvider({ provider: 'slack' })).data).toMatchObject({ name: 'slack', display_name: 'Slack' });
  });

  it('integrations: create, list, get, update, delete', async () => {
    const created = await nango.createIntegration({ unique_key: 'gh', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret', scopes: 'repo' } });
    expect(created.data).toMatchObject({ unique_key: 'gh', provider: 'github' });
    expect((await nango.listIntegrations()).configs.map((c) => c.unique_key)).toEqual(expect.arrayContaining(['gh', 'sandbox']));
    const got = await nango.getIntegration({ uniqueKey: 'gh' }, { include: ['credentials'] });
    expect(got.data.credentials).toMatchObject({ client_id: 'id', client_secret: 'secret', scopes: 'repo' });
    expect((await nango.updateIntegration({ uniqueKey: 'gh' }, { display_name: 'GitHub (team)' })).data.display_name).toBe('GitHub (team)');
    const deleted = await nango.deleteIntegration('gh');
    expect(deleted.status).toBe(200);
    await expect(nango.getIntegration({ uniqueKey: 'gh' })).rejects.toMatchObject({ response: { status: 404, data: { error: { code: 'unknown_provider_config' } } } });
  });

  it('connections: token, connection, raw response, list, metadata, delete', async () => {
    await connect('carol');
    const token = await nango.getToken('sandbox', 'carol');
    expect((await userinfo(token as string)).status).toBe(200);
    const connection = await nango.getConnection('sandbox', 'carol');
    expect(connection).toMatchObject({ connection_id: 'carol', provider_config_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', access_token: token } });
    const raw = (await nango.getRawTokenResponse('sandbox', 'carol')) as Record<string, unknown>;
    expect(raw.access_token).toBe(token);
    expect((await nango.listConnections()).connections.map((c) => c.connection_id)).toContain('carol');
    expect((await nango.listConnections({ connectionId: 'carol' })).connections).toHaveLength(1);

    await nango.setMetadata('sandbox', 'carol', { a: 1, b: { c: 2 } });
    await nango.updateMetadata('sandbox', 'carol', { b: { d: 3 }, e: 4 });
    expect(await nango.getMetadata('sandbox', 'carol')).toEqual({ a: 1, b: { d: 3 }, e: 4 });
    await nango.setMetadata('sandbox', 'carol', { only: true });
    expect(await nango.getMetadata('sandbox', 'carol')).toEqual({ only: true });

    expect((await nango.getToken('sandbox', 'carol', true)) as string).not.toBe(token);
    expect((await nango.deleteConnection('sandbox', 'carol')).status).toBe(200);
    await expect(nango.getConnection('sandbox', 'carol')).rejects.toMatchObject({ response: { status: 404, data: { error: { code: 'unknown_connection' } } } });
  });
});

describe('expiry-driven refresh', () => {
  it('serves a fresh token as is, and refreshes one near its expiry before handing it out', async () => {
    const short = await startSandboxStack({ keyway: { config: ALLOW_PUBLIC_KEY } });
    try {
      const client = new KeywayNode({ host: short.kw.url, secretKey: SECRET_KEY, cache: false });
      await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
      const browser = new TestBrowser();
      const consent = await browser.follow(`${short.kw.url}/oauth/connect/sandbox?connection_id=dave&public_key=${PUBLIC_KEY}`);
      expect((await browser.submit(consent, 'approve')).status).toBe(200);
      const first = await client.getToken('sandbox', 'dave');
      expect(await client.getToken('sandbox', 'dave')).toBe(first); // fresh: no refresh
      // Age the hour-long token into its last quarter (in the store: no waiting on a clock).
      await short.kw.keyway.store.writeConnection('sandbox', 'dave', (cur) => ({
        ...cur!,
        credentials: { ...cur!.credentials, obtained_at: new Date(Date.now() - 3500_000).toISOString(), expires_at: new Date(Date.now() + 100_000).toISOString() },
      }));
      const refreshes = short.sandbox.tokenGrants.refresh_token;
      const second = await client.getToken('sandbox', 'dave');
      expect(short.sandbox.tokenGrants.refresh_token - refreshes).toBe(1);
      expect(second).not.toBe(first);
      const me = await fetch(short.sandbox.userinfoUrl, { headers: { authorization: `Bearer ${second as string}` } });
      expect(me.status).toBe(200);
    } finally {
      await short.close();
    }
  });
});
