import pg from 'pg';
import type { PoolClient } from 'pg';

/**
 * The store's two connection pools: queries, and the sessions that hold advisory locks while their
 * holder runs (the holder queries through the first pool: no deadlock between the two).
 */
export function openPools(url: string, size: number): { pool: pg.Pool; lockPool: pg.Pool } {
  const common = { connectionString: url, keepAlive: true, max: size, connectionTimeoutMillis: 10_000 };
  const pool = new pg.Pool({ ...common, application_name: 'keyway' });
  const lockPool = new pg.Pool({ ...common, application_name: 'keyway-locks', connectionTimeoutMillis: 60_000 });
  // An idle client whose connection dies is dropped by the pool; the error must not crash the process.
  // A client in use whose connection dies (a lock holder's session terminated) reports it on
  // itself: the query in flight fails, and the process must not crash.
  for (const p of [pool, lockPool]) {
    p.on('error', () => undefined);
    p.on('connect', (client) => client.on('error', () => undefined));
  }
  return { pool, lockPool };
}

/** Runs `body` in one transaction; a client whose ROLLBACK failed is discarded, not returned to the pool. */
export async function transaction<T>(pool: pg.Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw e;
  } finally {
    client.release(broken);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparsable URL)';
  }
}
