import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyway, type TestKeyway } from './support/keyway.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/** A real PostgreSQL stopped and started again under a running server. */
let postgres: TestPostgres;
let kw: TestKeyway;

beforeAll(async () => {
  postgres = await startPostgres();
  kw = await startKeyway({ config: { databaseUrl: postgres.url, encryptionKeys: [randomBytes(32)] } });
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'github', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret' } }) });
  await kw.keyway.store.writeConnection('github', 'alice', () => ({
    id: 'c-alice', provider_config_key: 'github', connection_id: 'alice', provider: 'github',
    credentials: { type: 'OAUTH2', access_token: 'alice-token', refresh_token: 'r', expires_at: new Date(Date.now() + 3600_000).toISOString(), obtained_at: new Date().toISOString(), raw: {} },
    connection_config: {}, metadata: {}, end_user: null, last_refresh_failure: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
  }));
}, 60_000);
afterAll(async () => {
  await kw?.close();
  await postgres?.stop();
});

const token = () => kw.api('/connections/alice?provider_config_key=github');

describe('PostgreSQL stopped under a running server', () => {
  it('answers 503 store_unavailable with Retry-After (never a 500, never an unconfirmed token), and serves again once it is back', async () => {
    expect((await token()).body.credentials.access_token).toBe('alice-token'); // now held in memory too
    await postgres.pause();
    try {
      for (const [path, init] of [
        ['/connections/alice?provider_config_key=github', {}],
        ['/connections', {}],
        ['/integrations', {}],
        ['/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'slack', provider: 'slack', credentials: { type: 'OAUTH2', client_id: 'a', client_secret: 'b' } }) }],
      ] as const) {
        const res = await fetch(kw.url + path, { ...init, headers: { authorization: `Bearer ${kw.config.secretKey}`, 'content-type': 'application/json' } });
        expect([path, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([path, 503, 'store_unavailable']);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      await postgres.resume();
    }
    // Back: the pool reconnects on the next request (bounded polling: the old sessions were cut).
    let last: { status: number; body: any } | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      last = await token();
      if (last.status === 200) break;
      expect([last.status, last.body.error.code]).toEqual([503, 'store_unavailable']);
    }
    expect(last?.body.credentials.access_token).toBe('alice-token');
    expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'slack', provider: 'slack', credentials: { type: 'OAUTH2', client_id: 'a', client_secret: 'b' } }) })).status).toBeLessThan(300);
  }, 90_000);
});
