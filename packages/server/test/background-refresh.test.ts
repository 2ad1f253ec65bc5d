import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/store/types.ts';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { startKeyway, type TestKeyway } from './support/keyway.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/**
 * Background refresh with two server instances on one PostgreSQL database: each pass asks the store
 * for the due connections only, and a connection chosen by both instances is refreshed once.
 */
const DAY = 86_400_000;
const AFTER_MS = 7 * DAY;
const TOTAL = 1_000;
const DUE = 100;

let postgres: TestPostgres;
let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let a: TestKeyway;
let b: TestKeyway;

const template = () => ({ display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token` });

function connection(i: number, obtainedAt: number): Connection {
  const now = new Date().toISOString();
  return {
    id: `id-${i}`,
    provider_config_key: 'fake',
    connection_id: `user-${i}`,
    provider: 'fake',
    credentials: { type: 'OAUTH2', access_token: `access-${i}`, refresh_token: `refresh-${i}`, expires_at: new Date(Date.now() + 3_600_000).toISOString(), obtained_at: new Date(obtainedAt).toISOString(), raw: {} },
    connection_config: {},
    metadata: {},
    end_user: null,
    last_refresh_failure: null,
    created_at: now,
    updated_at: now,
  };
}

beforeAll(async () => {
  postgres = await startPostgres();
  provider = await startFakeProvider();
  provider.onToken((_req, body, res) =>
    json(res, 200, { access_token: `access-${randomBytes(8).toString('hex')}`, refresh_token: `${body.get('refresh_token')}-renewed`, token_type: 'bearer', expires_in: 3600 }),
  );
  const databaseUrl = await postgres.createDatabase('background_refresh');
  const encryptionKeys = [randomBytes(32)];
  const config = { databaseUrl, encryptionKeys, backgroundRefreshAfterMs: AFTER_MS };
  a = await startKeyway({ templates: { fake: template() }, config });
  b = await startKeyway({ templates: { fake: template() }, config });
  expect((await a.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret' } }) })).status).toBe(200);
  // 1,000 connections; every tenth one's credentials are eight days old.
  const store = a.keyway.store;
  for (let from = 0; from < TOTAL; from += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) => {
        const i = from + k;
        const c = connection(i, i % (TOTAL / DUE) === 0 ? Date.now() - 8 * DAY : Date.now() - DAY);
        return store.writeConnection('fake', c.connection_id, () => c);
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await provider?.close();
  await postgres?.stop();
});

describe('background refresh on two instances', () => {
  it('refreshes each due connection exactly once per pass, decrypting only due ones', async () => {
    const [fromA, fromB] = await Promise.all([a.keyway.backgroundRefresh.runOnce(), b.keyway.backgroundRefresh.runOnce()]);

    const refreshTokens = provider.requests.map((r) => r.body.get('refresh_token'));
    expect(refreshTokens).toHaveLength(DUE);
    expect(new Set(refreshTokens)).toEqual(new Set(Array.from({ length: DUE }, (_, n) => `refresh-${n * (TOTAL / DUE)}`)));
    expect(fromA.refreshed + fromB.refreshed).toBe(DUE);
    expect(fromA.failed + fromB.failed).toBe(0);
    // Each instance opened at most the due connections, never the 900 others.
    for (const pass of [fromA, fromB]) {
      expect(pass.examined).toBeLessThanOrEqual(DUE);
      expect(pass.refreshed + pass.skipped).toBe(pass.examined);
    }
    for (let n = 0; n < DUE; n++) {
      const c = (await b.keyway.store.getConnection('fake', `user-${n * (TOTAL / DUE)}`))!;
      expect(c.credentials).toMatchObject({ refresh_token: `refresh-${n * (TOTAL / DUE)}-renewed` });
    }

    // The next passes find nothing due.
    const again = await Promise.all([a.keyway.backgroundRefresh.runOnce(), b.keyway.backgroundRefresh.runOnce()]);
    expect(again.map((p) => p.examined)).toEqual([0, 0]);
    expect(provider.requests).toHaveLength(DUE);
  }, 120_000);
});
