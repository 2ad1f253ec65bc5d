import type pg from 'pg';
import type { RecordCodec, StoredFlow } from '../codec.ts';
import type { Connection, FlowState, Integration } from '../types.ts';
import { transaction } from './pools.ts';
import type { Cached } from './record-cache.ts';
import { CONNECTION_COLUMNS, INTEGRATION_COLUMNS, INTEGRATION_FIELDS, otherFields, type ConnectionRow, type IntegrationRow } from './rows.ts';

/** Rows re-sealed per transaction. */
const RESEAL_BATCH = 200;

/** How re-sealing opens each kind of record (the store's own openers, with their error messages). */
export interface Openers {
  integration(row: IntegrationRow): Promise<Cached<Integration>>;
  connection(row: ConnectionRow): Promise<Cached<Connection>>;
  flow(stored: StoredFlow): Promise<FlowState>;
}

/**
 * Re-seals every secret under the current key (the first of KEYWAY_ENCRYPTION_KEY), in batches of
 * RESEAL_BATCH rows per transaction: integrations, connections, then flows still live. A row changed
 * meanwhile by a server (compare-and-set on the ciphertext) is left as that server wrote it. Start
 * it once every instance runs with the new key first. No NOTIFY: a re-sealed record holds the same
 * plaintext, so what other instances cached stays right (a cached connection, whose ciphertext no
 * longer matches, is read again).
 */
export async function resealAll(
  pool: pg.Pool,
  codec: RecordCodec,
  open: Openers,
  onProgress?: (done: number, total: number) => void,
): Promise<{ resealed: number; total: number }> {
  const now = new Date().toISOString();
  const { rows: [counts] } = await pool.query<{ i: string; c: string; f: string }>(
    `SELECT (SELECT count(*) FROM keyway_integrations) AS i, (SELECT count(*) FROM keyway_connections) AS c,
            (SELECT count(*) FROM keyway_flows WHERE expires_at > $1) AS f`,
    [now],
  );
  let total = Number(counts!.i) + Number(counts!.c) + Number(counts!.f);
  let done = 0;
  let resealed = 0;
  const step = (changed: boolean) => {
    done++;
    if (changed) resealed++;
    total = Math.max(total, done);
    onProgress?.(done, total);
  };

  for (let after: string | null = null; ;) {
    const { rows }: { rows: IntegrationRow[] } = await pool.query<IntegrationRow>(
      `SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations WHERE $1::text IS NULL OR unique_key > $1 ORDER BY unique_key LIMIT ${RESEAL_BATCH}`,
      [after],
    );
    if (rows.length === 0) break;
    const sealed = await Promise.all(rows.map(async (r) => ({ r, next: await codec.sealIntegration((await open.integration(r)).rec) })));
    await transaction(pool, async (client) => {
      for (const { r, next } of sealed) {
        // other_fields too: it holds the sealed private key of a client certificate (mutual TLS).
        const { rowCount } = await client.query('UPDATE keyway_integrations SET client_secret = $1, other_fields = $4::jsonb WHERE unique_key = $2 AND client_secret = $3', [
          next.client_secret,
          r.unique_key,
          r.client_secret,
          JSON.stringify(otherFields(next, INTEGRATION_FIELDS)),
        ]);
        step(rowCount === 1);
      }
    });
    after = rows.at(-1)!.unique_key;
  }

  for (let after: [string, string] | null = null; ;) {
    const params: (string | null)[] = after ?? [null, null];
    const rows: ConnectionRow[] = (
      await pool.query<ConnectionRow>(
        `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections
         WHERE $1::text IS NULL OR (provider_config_key, connection_id) > ($1, $2) ORDER BY provider_config_key, connection_id LIMIT ${RESEAL_BATCH}`,
        params,
      )
    ).rows;
    if (rows.length === 0) break;
    const sealed = await Promise.all(rows.map(async (r) => ({ r, next: (await codec.sealConnection((await open.connection(r)).rec)).credentials })));
    await transaction(pool, async (client) => {
      for (const { r, next } of sealed) {
        const { rowCount } = await client.query(
          'UPDATE keyway_connections SET credentials = $1 WHERE provider_config_key = $2 AND connection_id = $3 AND credentials = $4',
          [next, r.provider_config_key, r.connection_id, r.credentials],
        );
        step(rowCount === 1);
      }
    });
    const last: ConnectionRow = rows.at(-1)!;
    after = [last.provider_config_key, last.connection_id];
  }

  for (let after: string | null = null; ;) {
    const { rows }: { rows: { state_hash: string; record: StoredFlow }[] } = await pool.query<{ state_hash: string; record: StoredFlow }>(
      `SELECT state_hash, record FROM keyway_flows WHERE ($1::text IS NULL OR state_hash > $1) AND expires_at > $2 ORDER BY state_hash LIMIT ${RESEAL_BATCH}`,
      [after, now],
    );
    if (rows.length === 0) break;
    const sealed = await Promise.all(rows.map(async (r) => ({ r, next: await codec.sealFlow(await open.flow(r.record)) })));
    await transaction(pool, async (client) => {
      for (const { r, next } of sealed) {
        const { rowCount } = await client.query('UPDATE keyway_flows SET record = $1::jsonb WHERE state_hash = $2 AND record = $3::jsonb', [
          JSON.stringify(next),
          r.state_hash,
          JSON.stringify(r.record),
        ]);
        step(rowCount === 1);
      }
    });
    after = rows.at(-1)!.state_hash;
  }
  return { resealed, total };
}
