/**
 * One background refresh pass on PostgreSQL at 100,000 connections of which 1% are due (their
 * credentials 8 days old): the pass's time, the rows it decrypted to choose its work, and the
 * provider refreshes it made (a stand-in token endpoint on 127.0.0.1). Then an idle pass (nothing
 * due), and for comparison the selection of the pass before issue 13 (list and decrypt everything).
 * KEYWAY_BENCH_REFRESH_SIZE changes the size.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Keyring } from '../packages/server/src/crypto/keyring.ts';
import { RecordCodec } from '../packages/server/src/store/codec.ts';
import { PostgresStore } from '../packages/server/src/store/postgres.ts';
import { json, startFakeProvider } from '../packages/server/test/support/fake-provider.ts';
import { startKeyway } from '../packages/server/test/support/keyway.ts';
import { startPostgres } from '../packages/server/test/support/postgres.ts';
import { benchConnection, machine, ROOT, round, writeResults } from './support.ts';

interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}
const pg = createRequire(join(ROOT, 'packages/server/package.json'))('pg') as { Client: new (o: { connectionString: string }) => PgClient };

const SIZE = Number(process.env.KEYWAY_BENCH_REFRESH_SIZE ?? 100_000);
const DUE_EVERY = 100; // 1%
const DAY = 86_400_000;
const BATCH = 5_000;

const INSERT = `INSERT INTO keyway_connections
  (provider_config_key, connection_id, id, provider, auth_type, credentials, expires_at, connection_config, metadata, end_user, last_refresh_failure, created_at, updated_at, obtained_at, has_refresh_token)
  SELECT 'fake', c, i, 'fake', 'OAUTH2', cr, e, '{}'::jsonb, '{}'::jsonb, NULL, NULL, t, t, o, true
  FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[]) AS r(c, i, cr, e, t, o)`;

async function seed(url: string, codec: RecordCodec): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = Date.now();
    for (let from = 0; from < SIZE; from += BATCH) {
      const cols: unknown[][] = Array.from({ length: 6 }, () => []);
      for (let i = from; i < Math.min(SIZE, from + BATCH); i++) {
        const obtained = new Date(now - (i % DUE_EVERY === 0 ? 8 * DAY : DAY)).toISOString();
        const base = benchConnection(i);
        const c = { ...base, provider_config_key: 'fake', provider: 'fake', credentials: { ...base.credentials, obtained_at: obtained } } as typeof base;
        const sealed = await codec.sealConnection(c);
        [c.connection_id, c.id, sealed.credentials, (c.credentials as { expires_at: string }).expires_at, c.created_at, obtained].forEach((v, col) => cols[col]!.push(v));
      }
      await client.query(INSERT, cols);
    }
    await client.query('ANALYZE keyway_connections');
  } finally {
    await client.end();
  }
}

export async function refreshBench() {
  const postgres = await startPostgres();
  const provider = await startFakeProvider();
  provider.onToken((_req, body, res) => json(res, 200, { access_token: `at-${randomBytes(8).toString('hex')}`, refresh_token: `${body.get('refresh_token')}-r`, token_type: 'bearer', expires_in: 3600 }));
  const rows: Record<string, unknown> = {};
  try {
    const databaseUrl = await postgres.createDatabase('bench_refresh');
    const key = randomBytes(32);
    const template = { display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token` };
    const kw = await startKeyway({ templates: { fake: template }, config: { databaseUrl, encryptionKeys: [key], backgroundRefreshAfterMs: 7 * DAY } });
    try {
      await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret' } }) });
      await seed(databaseUrl, new RecordCodec(new Keyring([key])));
      const label = `PostgreSQL, ${SIZE.toLocaleString('en')} connections, 1% due`;
      let t = performance.now();
      const pass = await kw.keyway.backgroundRefresh.runOnce();
      rows[`${label}: one pass`] = { pass_s: round((performance.now() - t) / 1000, 2), rows_decrypted_to_choose: pass.examined, provider_refreshes: provider.requests.length, refreshed: pass.refreshed, failed: pass.failed };
      t = performance.now();
      const idle = await kw.keyway.backgroundRefresh.runOnce();
      rows[`${label}: next pass (none due)`] = { pass_s: round((performance.now() - t) / 1000, 3), rows_decrypted_to_choose: idle.examined, provider_refreshes: provider.requests.length - pass.refreshed, refreshed: idle.refreshed, failed: idle.failed };
    } finally {
      await kw.close();
    }
    // Before issue 13 a pass began by listing and decrypting every connection (on every instance).
    const store = await PostgresStore.open(databaseUrl, new Keyring([key]), { cacheSize: 0 });
    try {
      const t = performance.now();
      const { connections } = await store.listConnections({ limit: Number.MAX_SAFE_INTEGER, offset: 0 });
      rows['before: list and decrypt all, per pass and instance'] = { pass_s: round((performance.now() - t) / 1000, 2), rows_decrypted_to_choose: connections.length };
    } finally {
      await store.close();
    }
  } finally {
    await provider.close();
    await postgres.stop();
  }
  console.table(rows);
  const results = { date: new Date().toISOString(), machine: machine(), background_refresh: rows };
  await writeResults('refresh', results);
  return results;
}
