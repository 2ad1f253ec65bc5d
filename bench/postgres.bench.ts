/**
 * The PostgreSQL adapter at 10,000 and 1,000,000 connections: upsert latency (median, p95) and the
 * longest event-loop stall during the upserts. Each size gets its own database on a throw-away
 * cluster (startPostgres of the server tests); the schema is created by PostgresStore.open, the rows
 * are inserted directly in batches of 5,000 (every row sealed by RecordCodec for its own identity),
 * then the store is opened again like a server would and 200 upserts go through writeConnection.
 *
 * Sealing costs ~0.1 ms a row (JWE): seeding 1M rows takes ~3 minutes on a 2-core machine
 * (sealing overlaps the inserts). KEYWAY_BENCH_MILLION=0 skips the 1M size.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Keyring } from '../packages/server/src/crypto/keyring.ts';
import { RecordCodec, type StoredConnection } from '../packages/server/src/store/codec.ts';
import { PostgresStore } from '../packages/server/src/store/postgres.ts';
import { startPostgres } from '../packages/server/test/support/postgres.ts';
import { machine, pct, ROOT, round, writeResults, benchConnection } from './support.ts';

/** `pg` is a dependency of the server package, not of the workspace root: resolved from there. */
interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const pg = createRequire(join(ROOT, 'packages/server/package.json'))('pg') as { Client: new (o: { connectionString: string }) => PgClient };

const BATCH = 5_000;
const UPSERTS = 200;
const READS = 2_000;
const MILLION = process.env.KEYWAY_BENCH_MILLION !== '0';


const INSERT = `INSERT INTO keyway_connections
  (provider_config_key, connection_id, id, provider, auth_type, credentials, expires_at, connection_config, metadata, end_user, last_refresh_failure, created_at, updated_at)
  SELECT k, c, i, p, a, cr, e, cc::jsonb, m::jsonb, eu::jsonb, NULL, t, t
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
    AS r(k, c, i, p, a, cr, e, cc, m, eu, t)`;

async function sealBatch(codec: RecordCodec, from: number, to: number): Promise<unknown[][]> {
  const cols: unknown[][] = Array.from({ length: 11 }, () => []);
  const now = new Date().toISOString();
  for (let i = from; i < to; i++) {
    const c = benchConnection(i, now);
    const s: StoredConnection = await codec.sealConnection(c);
    const creds = c.credentials as { expires_at: string };
    const values = [s.provider_config_key, s.connection_id, s.id, s.provider, c.credentials.type, s.credentials, creds.expires_at, JSON.stringify(s.connection_config), JSON.stringify(s.metadata), JSON.stringify(s.end_user), s.created_at];
    values.forEach((v, col) => cols[col]!.push(v));
  }
  return cols;
}

/** Inserts `size` sealed rows; the next batch is sealed (here) while the database inserts the previous one. */
async function seed(url: string, codec: RecordCodec, size: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let inFlight: Promise<unknown> = Promise.resolve();
    for (let from = 0; from < size; from += BATCH) {
      const batch = await sealBatch(codec, from, Math.min(size, from + BATCH));
      await inFlight;
      inFlight = client.query(INSERT, batch);
    }
    await inFlight;
    await client.query('ANALYZE keyway_connections');
  } finally {
    await client.end();
  }
}

export async function postgresBench(sizes = MILLION ? [10_000, 1_000_000] : [10_000]) {
  const rows: Record<string, unknown> = {};
  const postgres = await startPostgres();
  try {
    for (const size of sizes) {
      const url = await postgres.createDatabase(`bench_${size}`);
      const keyring = new Keyring([randomBytes(32)]);
      const codec = new RecordCodec(keyring);
      await (await PostgresStore.open(url, keyring)).close(); // creates the schema
      const seedStarted = performance.now();
      await seed(url, codec, size);
      const seedMs = performance.now() - seedStarted;
      const openStarted = performance.now();
      const store = await PostgresStore.open(url, keyring);
      const openMs = performance.now() - openStarted;
      const samples: number[] = [];
      const reads: number[] = [];
      const stall = monitorEventLoopDelay({ resolution: 10 });
      try {
        stall.enable();
        for (let i = 0; i < UPSERTS; i++) {
          const t = performance.now();
          const r = await store.writeConnection('app', `user-${i}`, (c) => ({ ...c!, metadata: { ...c!.metadata, n: i }, updated_at: new Date().toISOString() }));
          samples.push(performance.now() - t);
          if (r.result !== 'overridden') throw new Error(`upsert of user-${i}: ${r.result}`);
        }
        stall.disable();
        // A read of a connection held in memory: confirmed current by one indexed read of its
        // ciphertext (never a replaced token across instances), no decryption.
        for (let i = 0; i < 200; i++) await store.getConnection('app', 'user-0'); // warm-up
        for (let i = 0; i < READS; i++) {
          const t = performance.now();
          await store.getConnection('app', 'user-0');
          reads.push(performance.now() - t);
        }
      } finally {
        await store.close();
      }
      samples.sort((a, b) => a - b);
      reads.sort((a, b) => a - b);
      rows[`PostgreSQL, ${size.toLocaleString('en')} connections`] = {
        seed_s: round(seedMs / 1000, 1),
        open_s: round(openMs / 1000, 2),
        upsert_p50_ms: round(pct(samples, 50), 1),
        upsert_p95_ms: round(pct(samples, 95), 1),
        max_event_loop_stall_ms: round(stall.max / 1e6, 1),
        upserts: UPSERTS,
        cached_read_p50_ms: round(pct(reads, 50), 3),
        cached_read_p95_ms: round(pct(reads, 95), 3),
      };
    }
  } finally {
    await postgres.stop();
  }
  if (!MILLION) rows['PostgreSQL, 1,000,000 connections'] = { note: 'skipped (KEYWAY_BENCH_MILLION=0)' };
  console.table(rows);
  const results = { date: new Date().toISOString(), machine: machine(), postgres_adapter: rows, million_included: MILLION };
  await writeResults('postgres', results);
  return results;
}
