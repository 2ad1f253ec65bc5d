import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_KEY, SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { atRest } from './support/json-db.ts';

/** The backend API's validation and authentication, each failure with its status and code, the store unchanged. */
let kw: TestKeyway;
beforeAll(async () => {
  kw = await startKeyway();
  const res = await kw.api('/integrations', {
    method: 'POST',
    body: JSON.stringify({ unique_key: 'github', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'gh-id', client_secret: 'gh-secret-value', scopes: 'repo, user' } }),
  });
  expect(res.status).toBe(200);
});
afterAll(() => kw?.close());

const db = () => atRest(kw.config.dbPath);
const raw = (path: string, init: RequestInit = {}) => fetch(kw.url + path, init).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('authentication', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['no Authorization header', {}, 'missing_auth_header'],
    ['not a Bearer header', { authorization: `Basic ${SECRET_KEY}` }, 'malformed_auth_header'],
    ['a wrong secret key', { authorization: 'Bearer wrong-key-wrong-key' }, 'unknown_account'],
    ['the public key', { authorization: `Bearer ${PUBLIC_KEY}` }, 'unknown_account'],
  ];
  it.each(cases)('refuses %s with 401', async (_n, headers, code) => {
    for (const path of ['/integrations', '/connections', '/providers']) {
      const res = await raw(path, { headers });
      expect([res.status, res.body.error.code]).toEqual([401, code]);
    }
  });
  it('says why the public key is refused', async () => {
    const res = await raw('/integrations', { headers: { authorization: `Bearer ${PUBLIC_KEY}` } });
    expect(res.body.error.message).toMatch(/public key/);
  });
});

describe('integrations', () => {
  it('lists without secrets, and shows credentials only when asked', async () => {
    const list = await kw.api('/integrations');
    expect(list.body.data).toEqual([expect.objectContaining({ unique_key: 'github', provider: 'github', display_name: 'GitHub' })]);
    expect(JSON.stringify(list.body)).not.toContain('gh-secret-value');
    const one = await kw.api('/integrations/github?include=credentials');
    expect(one.body.data.credentials).toEqual({ type: 'OAUTH2', client_id: 'gh-id', client_secret: 'gh-secret-value', scopes: 'repo,user', webhook_secret: null });
  });

  it('never writes the client secret in plaintext', async () => {
    expect(await db()).not.toContain('gh-secret-value');
  });

  const bad: [string, string, string, unknown, number, string][] = [
    ['a duplicate key', 'POST', '/integrations', { unique_key: 'github', provider: 'github', credentials: { client_id: 'a', client_secret: 'b' } }, 409, 'duplicate_provider_config'],
    ['an unknown template', 'POST', '/integrations', { unique_key: 'x', provider: 'nope', credentials: { client_id: 'a', client_secret: 'b' } }, 400, 'invalid_body'],
    ['no credentials', 'POST', '/integrations', { unique_key: 'x', provider: 'github' }, 400, 'invalid_body'],
    ['a __proto__ key', 'POST', '/integrations', { unique_key: '__proto__', provider: 'github', credentials: { client_id: 'a', client_secret: 'b' } }, 400, 'invalid_provider_config_key'],
    ['a key with a slash', 'POST', '/integrations', { unique_key: 'a/b', provider: 'github', credentials: { client_id: 'a', client_secret: 'b' } }, 400, 'invalid_provider_config_key'],
    ['a non-string client id', 'POST', '/integrations', { unique_key: 'x', provider: 'github', credentials: { client_id: 5, client_secret: 'b' } }, 400, 'invalid_body'],
    ['an array body', 'POST', '/integrations', [1, 2], 400, 'invalid_body'],
    ['an unknown integration', 'PATCH', '/integrations/nope', { display_name: 'x' }, 404, 'unknown_provider_config'],
    ['a provider change', 'PATCH', '/integrations/github', { provider: 'slack' }, 400, 'invalid_body'],
    ['an unknown integration', 'DELETE', '/integrations/nope', undefined, 404, 'unknown_provider_config'],
  ];
  it.each(bad)('refuses %s (%s %s)', async (_n, method, path, body, status, code) => {
    const before = await db();
    const res = await kw.api(path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(await db()).toBe(before);
  });

  it('updates the display name and credentials', async () => {
    await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'temp', provider: 'slack', credentials: { client_id: 'a', client_secret: 'b' } }) });
    const res = await kw.api('/integrations/temp', { method: 'PATCH', body: JSON.stringify({ display_name: 'Team Slack', credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 'd', scopes: 'chat:write' } }) });
    expect(res.body.data.display_name).toBe('Team Slack');
    expect((await kw.api('/integrations/temp?include=credentials')).body.data.credentials.scopes).toBe('chat:write');
    expect((await kw.api('/integrations/temp', { method: 'DELETE' })).body).toEqual({ success: true });
    expect((await kw.api('/integrations/temp')).status).toBe(404);
  });
});

describe('malformed requests', () => {
  it('refuses malformed JSON with 400 and a typed error', async () => {
    const res = await kw.api('/integrations', { method: 'POST', body: '{"unique_key": ' });
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_body']);
  });
  it('refuses a 10 MB body with 413, and keeps serving', async () => {
    const before = await db();
    const big = JSON.stringify({ unique_key: 'big', provider: 'github', display_name: 'x'.repeat(10 * 1024 * 1024) });
    const res = await kw.api('/integrations', { method: 'POST', body: big });
    expect([res.status, res.body.error.code]).toEqual([413, 'payload_too_large']);
    expect(await db()).toBe(before);
    expect((await kw.api('/integrations')).status).toBe(200);
  });
  it('answers unknown routes with a typed 404', async () => {
    const res = await kw.api('/nothing-here');
    expect([res.status, res.body.error.code]).toEqual([404, 'not_found']);
  });
  it('answers /health without a key', async () => {
    expect(await raw('/health')).toEqual({ status: 200, body: { status: 'ok' } });
  });
});

describe('connections', () => {
  const cases: [string, string, number, string][] = [
    ['an unknown connection', '/connections/nobody?provider_config_key=github', 404, 'unknown_connection'],
    ['an unknown integration', '/connections/nobody?provider_config_key=nope', 404, 'unknown_provider_config'],
    ['no provider_config_key', '/connections/nobody', 400, 'invalid_query_params'],
    ['__proto__', '/connections/__proto__?provider_config_key=github', 400, 'invalid_connection_id'],
    ['constructor', '/connections/constructor?provider_config_key=github', 400, 'invalid_connection_id'],
    ['10,000 characters', `/connections/${'x'.repeat(10_000)}?provider_config_key=github`, 400, 'invalid_connection_id'],
    ['a bad force_refresh', '/connections/nobody?provider_config_key=github&force_refresh=yes', 400, 'invalid_query_params'],
    ['a bad limit', '/connections?limit=100000', 400, 'invalid_query_params'],
  ];
  it.each(cases)('refuses %s', async (_n, path, status, code) => {
    const res = await kw.api(path);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  });

  it('refuses metadata for an unknown connection or with prototype keys, and changes nothing', async () => {
    const before = await db();
    const bodies: [unknown, number, string][] = [
      [{ connection_id: 'nobody', provider_config_key: 'github', metadata: { a: 1 } }, 404, 'unknown_connection'],
      [{ connection_id: 'nobody', provider_config_key: 'github', metadata: JSON.parse('{"__proto__": {"polluted": true}}') }, 400, 'invalid_body'],
      [{ connection_id: 'nobody', provider_config_key: 'github', metadata: [1] }, 400, 'invalid_body'],
      [{ connection_id: [], provider_config_key: 'github', metadata: {} }, 400, 'invalid_body'],
      [{ connection_id: '__proto__', provider_config_key: 'github', metadata: {} }, 400, 'invalid_connection_id'],
    ];
    for (const [body, status, code] of bodies) {
      for (const method of ['POST', 'PATCH']) {
        const res = await kw.api('/connections/metadata', { method, body: JSON.stringify(body) });
        expect([res.status, res.body.error.code]).toEqual([status, code]);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await db()).toBe(before);
  });
});

describe('providers', () => {
  it('lists the built-in templates and serves one', async () => {
    const list = await kw.api('/providers');
    const names = list.body.data.map((p: { name: string }) => p.name);
    for (const n of ['slack', 'github', 'google', 'google-calendar', 'notion', 'hubspot', 'salesforce', 'zendesk', 'linear', 'brex', 'brex-staging', 'keyway-sandbox']) {
      expect(names).toContain(n);
    }
    expect((await kw.api('/providers/slack')).body.data).toMatchObject({ name: 'slack', auth_mode: 'OAUTH2', scope_separator: ',' });
    const missing = await kw.api('/providers/nope');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'unknown_provider_template']);
  });
});
