import { readFile } from 'node:fs/promises';
import { Nango as KeywayNode } from '@keyway/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, oauth2, reconnectToken, sessionToken } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/**
 * Issue 12 item 1: the public key (in every page of the app) must not let anyone replace a victim's
 * connection with their own account. Even with KEYWAY_ALLOW_PUBLIC_KEY=true a public-key flow only
 * creates; replacing needs a reconnect session made by the backend.
 */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let client: KeywayNode;
const KEY_TEMPLATE = { display_name: 'Key API', categories: ['other'], docs: 'https://example.com/docs', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'API key', pattern: 'key_[a-z0-9]{4,}' } } };

beforeAll(async () => {
  stack = await startSandboxStack({ sandbox: { autoApprove: true }, keyway: { config: ALLOW_PUBLIC_KEY, templates: { 'key-api': KEY_TEMPLATE } } });
  client = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
  await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
  await client.createIntegration({ unique_key: 'other', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
  await client.createIntegration({ unique_key: 'keys', provider: 'key-api' });
});
afterAll(() => stack?.close());

const url = () => stack.kw.url;
/** The stored connections, as the durable file holds them (sealed credentials included). */
const connectionsOnDisk = async () => JSON.stringify(JSON.parse(await readFile(stack.kw.config.dbPath, 'utf8')).connections);
const stored = (key: string, id: string) => stack.kw.keyway.store.getConnection(key, id);

/** The victim connects under a session their backend made, and the app records who they are. */
async function victimConnects(id: string) {
  const done = await new TestBrowser().follow(`${url()}/oauth/connect/sandbox?connect_session_token=${await sessionToken(url(), id)}`);
  expect(done.body).toContain('data-outcome="success"');
  await client.setMetadata('sandbox', id, { plan: 'pro' });
}

describe('public-key takeover of an existing connection', () => {
  it('is refused before the redirect (connection_exists, 409); the victim keeps their credentials', async () => {
    await victimConnects('victim');
    const before = await connectionsOnDisk();
    const res = await new TestBrowser().request(`${url()}/oauth/connect/sandbox?public_key=${PUBLIC_KEY}&connection_id=victim`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(409);
    expect(JSON.parse(res.body).error.code).toBe('connection_exists');
    expect(res.headers.get('location')).toBeNull();
    expect(await connectionsOnDisk()).toBe(before);
    // As a page, too: the browser is shown the refusal, nothing is sent to the provider.
    const page = await new TestBrowser().follow(`${url()}/oauth/connect/sandbox?public_key=${PUBLIC_KEY}&connection_id=victim`);
    expect(page.url).toMatch(new RegExp(`^${url()}/oauth/connect/`));
    expect(page.body).toContain('data-outcome="error"');
    expect(await connectionsOnDisk()).toBe(before);
  });

  it('is refused at the callback when the connection appeared after the flow started; the connection is unchanged', async () => {
    const attacker = new TestBrowser();
    const hop = await attacker.request(`${url()}/oauth/connect/sandbox?public_key=${PUBLIC_KEY}&connection_id=late`);
    expect(hop.status).toBe(302); // no connection yet: a public-key flow may create one
    await victimConnects('late');
    const before = await stored('sandbox', 'late');
    const disk = await connectionsOnDisk();
    const done = await attacker.follow(hop.headers.get('location')!);
    expect(done.url).toMatch(new RegExp(`^${url()}/oauth/callback\\?`));
    expect(done.body).toContain('data-outcome="error"');
    expect(done.body).toContain('connection_exists');
    expect(await stored('sandbox', 'late')).toEqual(before);
    expect(await connectionsOnDisk()).toBe(disk);
  });

  it('through /api-auth is refused with connection_exists, the stored key unchanged', async () => {
    const post = (id: string, apiKey: string) =>
      fetch(`${url()}/api-auth/api-key/keys?public_key=${PUBLIC_KEY}&connection_id=${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
    expect((await post('k1', 'key_victim')).status).toBe(200);
    const before = await connectionsOnDisk();
    const res = await post('k1', 'key_attacker');
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([409, 'connection_exists']);
    expect(await connectionsOnDisk()).toBe(before);
    expect((await client.getConnection('keys', 'k1')).credentials).toMatchObject({ apiKey: 'key_victim' });
  });

  it('still creates new connections with the public key (the documented opt-in)', async () => {
    const done = await new TestBrowser().follow(`${url()}/oauth/connect/sandbox?public_key=${PUBLIC_KEY}&connection_id=fresh`);
    expect(done.body).toContain('data-outcome="success"');
    expect(await stored('sandbox', 'fresh')).toBeDefined();
  });
});

describe('reconnect sessions (POST /connect/sessions/reconnect, createReconnectSession)', () => {
  it('replace the credentials of the one connection they name, keeping its end user and metadata', async () => {
    await victimConnects('rc');
    const before = (await stored('sandbox', 'rc'))!;
    const { data } = await client.createReconnectSession({ connection_id: 'rc', integration_id: 'sandbox' });
    expect(data.token).toMatch(/^kw_cs_/);
    expect(Date.parse(data.expires_at)).toBeGreaterThan(Date.now());
    const done = await new TestBrowser().follow(`${url()}/oauth/connect/sandbox?connect_session_token=${data.token}&connection_id=rc`);
    expect(done.body).toContain('data-outcome="success"');
    expect(done.body).toContain('Reconnected');
    const after = (await stored('sandbox', 'rc'))!;
    expect(after.id).toBe(before.id);
    expect(oauth2(after).access_token).not.toBe(oauth2(before).access_token);
    expect(after.end_user).toEqual({ id: 'rc' });
    expect(after.metadata).toEqual({ plan: 'pro' });
  });

  it('cannot reach another connection id or another integration', async () => {
    await victimConnects('rc2');
    const token = await reconnectToken(url(), 'sandbox', 'rc2');
    const before = await connectionsOnDisk();
    const other = await fetch(`${url()}/oauth/connect/sandbox?connect_session_token=${token}&connection_id=victim`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect([other.status, ((await other.json()) as { error: { code: string } }).error.code]).toEqual([403, 'connection_id_not_allowed']);
    const integration = await fetch(`${url()}/oauth/connect/other?connect_session_token=${token}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect([integration.status, ((await integration.json()) as { error: { code: string } }).error.code]).toEqual([403, 'integration_not_allowed']);
    expect(await connectionsOnDisk()).toBe(before);
  });

  it('need the secret key and an existing connection', async () => {
    const body = JSON.stringify({ connection_id: 'victim', integration_id: 'sandbox' });
    const withPublicKey = await fetch(`${url()}/connect/sessions/reconnect`, { method: 'POST', headers: { authorization: `Bearer ${PUBLIC_KEY}`, 'content-type': 'application/json' }, body });
    expect(withPublicKey.status).toBe(401);
    const cases: [unknown, number, string][] = [
      [{ connection_id: 'nobody', integration_id: 'sandbox' }, 404, 'unknown_connection'],
      [{ connection_id: 'victim', integration_id: 'nope' }, 404, 'unknown_provider_config'],
      [{ connection_id: 'victim' }, 400, 'invalid_body'],
      [{ connection_id: 'victim', integration_id: 'sandbox', integrations_config_defaults: { other: {} } }, 400, 'invalid_body'],
    ];
    for (const [given, status, code] of cases) {
      const res = await stack.kw.api('/connect/sessions/reconnect', { method: 'POST', body: JSON.stringify(given) });
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    await expect(client.createReconnectSession({ connection_id: '', integration_id: 'sandbox' })).rejects.toMatchObject({ code: 'missing_connection_id' });
  });
});

describe('the default configuration', () => {
  it('requires connect sessions; the public key is an explicit opt-in (KEYWAY_ALLOW_PUBLIC_KEY=true)', async () => {
    const dir = stack.kw.dir;
    const env = { KEYWAY_DB_PATH: `${dir}/config-test/db.json` };
    expect((await loadConfig(env, dir)).config.requireConnectSession).toBe(true);
    expect((await loadConfig({ ...env, KEYWAY_ALLOW_PUBLIC_KEY: 'true' }, dir)).config.requireConnectSession).toBe(false);
    expect((await loadConfig({ ...env, KEYWAY_REQUIRE_CONNECT_SESSION: 'true' }, dir)).config.requireConnectSession).toBe(true);
    // The old switch alone no longer opens the public key; a contradiction is refused.
    await expect(loadConfig({ ...env, KEYWAY_REQUIRE_CONNECT_SESSION: 'false' }, dir)).rejects.toThrow(/KEYWAY_ALLOW_PUBLIC_KEY=true/);
    await expect(loadConfig({ ...env, KEYWAY_REQUIRE_CONNECT_SESSION: 'true', KEYWAY_ALLOW_PUBLIC_KEY: 'true' }, dir)).rejects.toThrow(/contradicts/);
  });
});
