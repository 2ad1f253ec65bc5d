import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/primitives.ts';
import { TestBrowser } from './support/browser.ts';
import { PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';
import { tenantTemplate } from './support/templates.ts';

/** Connect sessions: the backend decides who connects to what; the browser cannot step outside it. */
let stack: Awaited<ReturnType<typeof startSandboxStack>>;
let kw: TestKeyway;

beforeAll(async () => {
  stack = await startSandboxStack({
    sandbox: { autoApprove: true },
    keyway: {
      templates: {
        tenant: tenantTemplate(),
      },
    },
  });
  kw = stack.kw;
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'tenant', provider: 'tenant', credentials: { client_id: 'a', client_secret: 'b' } }) });
  for (const key of ['sandbox', 'other']) {
    const res = await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: key, provider: 'keyway-sandbox', credentials: { client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } }) });
    expect(res.status).toBe(200);
  }
});
afterAll(() => stack?.close());

async function session(body: Record<string, unknown>): Promise<string> {
  const res = await kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  expect(Date.parse(res.body.data.expires_at) - Date.now()).toBeGreaterThan(29 * 60_000);
  return res.body.data.token;
}

/** Starts a flow in a fresh browser; with autoApprove the sandbox sends it straight back to the callback. */
async function flow(configKey: string, query: string) {
  return new TestBrowser().follow(`${kw.url}/oauth/connect/${configKey}?${query}`, undefined, { headers: { accept: 'application/json' } });
}

describe('connect sessions', () => {
  it('connect the session\'s end user, kept on the connection and filterable', async () => {
    const token = await session({ end_user: { id: 'user-a', email: 'a@example.com', display_name: 'A' }, organization: { id: 'org-1' }, allowed_integrations: ['sandbox'] });
    const done = await flow('sandbox', `connect_session_token=${token}`);
    expect(done.status).toBe(200);
    const conn = (await kw.api('/connections/user-a?provider_config_key=sandbox')).body;
    expect(conn.end_user).toEqual({ id: 'user-a', email: 'a@example.com', display_name: 'A', organization: { id: 'org-1', display_name: null } });
    const list = (await kw.api('/connections?endUserId=user-a')).body.connections;
    expect(list.map((c: { connection_id: string }) => c.connection_id)).toEqual(['user-a']);
    expect((await kw.api('/connections?endUserId=nobody')).body.connections).toEqual([]);
  });

  it('cannot create or overwrite another user\'s connection, or use an integration it was not given', async () => {
    const token = await session({ end_user: { id: 'user-a' }, allowed_integrations: ['sandbox'] });
    const other = await flow('sandbox', `connect_session_token=${token}&connection_id=user-b`);
    expect([other.status, JSON.parse(other.body).error.code]).toEqual([403, 'connection_id_not_allowed']);
    const wrong = await flow('other', `connect_session_token=${token}`);
    expect([wrong.status, JSON.parse(wrong.body).error.code]).toEqual([403, 'integration_not_allowed']);
    expect((await kw.api('/connections/user-b?provider_config_key=sandbox')).status).toBe(404);
    expect((await kw.api('/connections/user-a?provider_config_key=other')).status).toBe(404);
  });

  it('refuses an expired or unknown session, and a session token on the backend API', async () => {
    const token = await session({ end_user: { id: 'user-c' } });
    const stored = (await kw.keyway.store.getSession(sha256(token)))!;
    await kw.keyway.store.putSession({ ...stored, expires_at: Date.now() - 1 });
    const expired = await flow('sandbox', `connect_session_token=${token}`);
    expect([expired.status, JSON.parse(expired.body).error.code]).toEqual([401, 'invalid_connect_session']);
    const forged = await flow('sandbox', `connect_session_token=kw_cs_${'x'.repeat(43)}`);
    expect([forged.status, JSON.parse(forged.body).error.code]).toEqual([401, 'invalid_connect_session']);
    const fresh = await session({ end_user: { id: 'user-c' } });
    const backend = await fetch(`${kw.url}/integrations`, { headers: { authorization: `Bearer ${fresh}` } });
    expect(backend.status).toBe(401);
  });

  it('fixes the connection config the backend chose; the browser cannot override it', async () => {
    const token = await session({ end_user: { id: 'user-d' }, integrations_config_defaults: { tenant: { connection_config: { subdomain: 'acme' } } } });
    const res = await fetch(`${kw.url}/oauth/connect/tenant?connect_session_token=${token}&params[subdomain]=evil`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).hostname).toBe('acme.example.com');
  });

  it('validates the session body', async () => {
    const bad: [unknown, string][] = [
      [{}, 'invalid_body'],
      [{ end_user: { id: '__proto__' } }, 'invalid_body'],
      [{ end_user: { id: 'u' }, allowed_integrations: ['nope'] }, 'invalid_body'],
      [{ end_user: { id: 'u' }, allowed_integrations: 'sandbox' }, 'invalid_body'],
      [{ end_user: { id: 'u' }, integrations_config_defaults: { sandbox: { connection_config: { a: 1 } } } }, 'invalid_body'],
      [{ end_user: { id: 'u' }, organization: { display_name: 'x' } }, 'invalid_body'],
    ];
    for (const [body, code] of bad) {
      const res = await kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify(body) });
      expect([res.status, res.body.error.code]).toEqual([400, code]);
    }
  });
});

describe('KEYWAY_REQUIRE_CONNECT_SESSION', () => {
  it('turns public-key flows off', async () => {
    const strict = await startKeyway({ config: { requireConnectSession: true } });
    try {
      await strict.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'gh', provider: 'github', credentials: { client_id: 'a', client_secret: 'b' } }) });
      const res = await fetch(`${strict.url}/oauth/connect/gh?connection_id=u&public_key=${PUBLIC_KEY}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, 'connect_session_required']);
      const token = (await strict.api('/connect/sessions', { method: 'POST', body: JSON.stringify({ end_user: { id: 'u' } }) })).body.data.token;
      const ok = await fetch(`${strict.url}/oauth/connect/gh?connect_session_token=${token}`, { redirect: 'manual' });
      expect(ok.status).toBe(302);
      expect(new URL(ok.headers.get('location')!).hostname).toBe('github.com');
    } finally {
      await strict.close();
    }
  });
});
