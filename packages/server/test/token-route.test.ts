import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * GET /connections/:id is answered before Express (http/token-route.ts). The same requests through
 * Express alone (the app, as an embedding app mounts it) must get the same answers: status, body
 * (but for last_fetched_at, the time of the read), error shapes and headers.
 */
let kw: TestKeyway;
let expressOnly: Server;
let expressUrl: string;

beforeAll(async () => {
  kw = await startKeyway();
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'github', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret' } }) });
  const now = new Date().toISOString();
  await kw.keyway.store.writeConnection('github', 'a@b:c', () => ({
    id: 'c-1', provider_config_key: 'github', connection_id: 'a@b:c', provider: 'github',
    credentials: { type: 'OAUTH2', access_token: 'tok', refresh_token: 'ref', expires_at: new Date(Date.now() + 3600_000).toISOString(), obtained_at: now, raw: { access_token: 'tok', refresh_token: 'ref', nested: { refresh_token: 'ref2' } } },
    connection_config: { team: 't' }, metadata: { m: 1 }, end_user: null, last_refresh_failure: null, created_at: now, updated_at: now,
  }));
  expressOnly = createServer(kw.keyway.app);
  await new Promise<void>((r) => expressOnly.listen(0, '127.0.0.1', r));
  expressUrl = `http://127.0.0.1:${(expressOnly.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => expressOnly?.close(r));
  await kw?.close();
});

async function both(path: string, headers: Record<string, string> = { authorization: `Bearer ${SECRET_KEY}` }) {
  const get = async (base: string) => {
    const res = await fetch(base + path, { headers });
    const body = (await res.json()) as Record<string, unknown>;
    delete body.last_fetched_at;
    return { status: res.status, body, headers: ['cache-control', 'x-content-type-options', 'content-type', 'retry-after'].map((h) => res.headers.get(h)) };
  };
  const [fast, express] = await Promise.all([get(kw.url), get(expressUrl)]);
  expect(fast).toEqual(express);
  return fast;
}

describe('GET /connections/:id before Express', () => {
  it('answers as Express does: the connection, refresh tokens only when asked for', async () => {
    const plain = await both('/connections/a%40b%3Ac?provider_config_key=github');
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ connection_id: 'a@b:c', credentials: { access_token: 'tok', raw: { access_token: 'tok', nested: {} } } });
    expect(JSON.stringify(plain.body)).not.toMatch(/"ref2?"/);
    expect(plain.headers).toEqual(['no-store', 'nosniff', 'application/json; charset=utf-8', null]);
    expect((await both('/connections/a%40b%3Ac?provider_config_key=github&refresh_token=true')).body).toMatchObject({ credentials: { refresh_token: 'ref' } });
  });

  it.each([
    ['no provider_config_key', '/connections/x', 400, 'invalid_query_params'],
    ['a bad boolean', '/connections/x?provider_config_key=github&force_refresh=maybe', 400, 'invalid_query_params'],
    ['an unknown connection', '/connections/nobody?provider_config_key=github', 404, 'unknown_connection'],
    ['an unknown integration', '/connections/x?provider_config_key=nope', 404, 'unknown_provider_config'],
    ['a malformed percent-escape', '/connections/%E0%A4%A?provider_config_key=github', 400, 'invalid_path'],
    ['a prototype key as id', '/connections/__proto__?provider_config_key=github', 400, 'invalid_connection_id'],
  ])('answers %s with the same typed error', async (_name, path, status, code) => {
    const res = await both(path);
    expect([res.status, (res.body.error as { code: string }).code]).toEqual([status, code]);
  });

  it('leaves to Express what it does not take: no key, a wrong key, other methods and paths', async () => {
    expect((await both('/connections/x?provider_config_key=github', {})).body).toMatchObject({ error: { code: 'missing_auth_header' } });
    expect((await both('/connections/x?provider_config_key=github', { authorization: 'Bearer wrong-key-wrong-key' })).body).toMatchObject({ error: { code: 'unknown_account' } });
    expect((await both('/connections?provider_config_key=github')).status).toBe(200);
    const del = await fetch(`${kw.url}/connections/nobody?provider_config_key=github`, { method: 'DELETE', headers: { authorization: `Bearer ${SECRET_KEY}` } });
    expect(del.status).toBe(404);
  });
});
