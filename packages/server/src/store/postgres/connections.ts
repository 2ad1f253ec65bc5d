import type pg from 'pg';
import type { PoolClient } from 'pg';
import type { RecordCodec, StoredConnection } from '../codec.ts';
import { StoreError } from '../json-file.ts';
import { KeyedQueue } from '../keyed-queue.ts';
import { refreshStale } from '../status.ts';
import type { Connection, ConnectionFilter, ConnectionUpdate, RefreshDueBatch, RefreshDueQuery, WriteResult } from '../types.ts';
import type { AdvisoryLocks } from './advisory-locks.ts';
import { CONNECTIONS_CHANNEL, notify, type ChangeNotifications } from './change-notifications.ts';
import { connectionFilterSql, LIST_ORDER } from './connection-filter.ts';
import { transaction } from './pools.ts';
import type { Cached, RecordCache } from './record-cache.ts';
import { refreshColumns, refreshDueQuery } from './refresh-due.ts';
import { CONNECTION_COLUMNS, CONNECTION_FIELDS, connectionKey, errorMessage, jsonOrNull, otherFields, storedConnection, withCredentials, type ConnectionRow } from './rows.ts';

/**
 * The connections table, read through the connection cache.
 *
 * - A connection read from the cache is first confirmed current (its ciphertext, one indexed read):
 *   once a write is acknowledged on any instance, no instance serves the record it replaced.
 * - write() is one transaction per call (a per-connection transaction lock, the row FOR UPDATE, the
 *   update, the upsert, the NOTIFY), so concurrent writers never lose an update.
 */
export class PostgresConnections {
  /** Local writes to one connection queue here before they contend for the database. */
  readonly #writes = new KeyedQueue();

  constructor(
    private readonly pool: pg.Pool,
    private readonly codec: RecordCodec,
    private readonly changes: ChangeNotifications,
    private readonly cache: RecordCache<Connection>,
    private readonly locks: AdvisoryLocks,
  ) {}

  async get(providerConfigKey: string, connectionId: string): Promise<Connection | undefined> {
    const key = connectionKey(providerConfigKey, connectionId);
    const read = async () => {
      const { rows } = await this.pool.query<ConnectionRow>(
        `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2`,
        [providerConfigKey, connectionId],
      );
      return rows[0] && this.open(rows[0]);
    };
    // Under a lock (a refresh), the cache may not yet have heard of a commit another instance made
    // just before releasing that lock: read the database.
    if (this.locks.held) return (await this.cache.reload(key, read))?.rec;
    const hit = this.cache.peek(key);
    if (hit) {
      // A notification from another instance's write can arrive after that write was acknowledged, so
      // the copy in memory is confirmed first: one indexed read of the sealed credentials, no decrypt.
      // Every write seals them anew (a fresh IV), so the same ciphertext means the same row version.
      const { rows } = await this.pool.query<{ credentials: string }>(
        'SELECT credentials FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2',
        [providerConfigKey, connectionId],
      );
      if (rows[0]?.credentials === hit.sealed) return hit.rec;
      this.cache.invalidate(key);
    }
    return (await this.cache.load(key, read))?.rec;
  }

  async list(filter: ConnectionFilter): Promise<{ connections: Connection[]; total: number }> {
    const { condition, limit, offset, params } = connectionFilterSql(filter, Date.now());
    // One statement, one snapshot: the total and the page agree.
    const { rows } = await this.pool.query<ConnectionRow & { total: string }>(
      `SELECT t.total, c.* FROM (SELECT count(*) AS total FROM keyway_connections WHERE ${condition}) t
       LEFT JOIN LATERAL (
         SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE ${condition} ORDER BY ${LIST_ORDER} LIMIT ${limit}::bigint OFFSET ${offset}::bigint
       ) c ON true`,
      params,
    );
    const total = Number(rows[0]?.total ?? 0);
    const page = rows.filter((r) => r.connection_id !== null);
    const connections = await Promise.all(page.map(async (r) => (await this.open(r)).rec));
    return { connections, total };
  }

  write(providerConfigKey: string, connectionId: string, update: ConnectionUpdate): Promise<WriteResult> {
    const key = connectionKey(providerConfigKey, connectionId);
    return this.#writes.run(key, () => this.changes.announced(async (origin): Promise<WriteResult> => {
      const fill = this.cache.begin(key);
      let outcome: { result: WriteResult; cached: Cached<Connection> | undefined } | undefined;
      try {
        outcome = await transaction(this.pool, async (client) => {
          // Writers of one connection take turns, including two creating it at once (no row to lock yet).
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`connection:${key}`]);
          const { rows } = await client.query<ConnectionRow>(
            `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2 FOR UPDATE`,
            [providerConfigKey, connectionId],
          );
          const before = rows[0] && (await this.open(rows[0]));
          const next = update(before?.rec);
          if (next === null) return { result: { connection: before?.rec, result: 'unchanged' as const }, cached: before };
          if (next.provider_config_key !== providerConfigKey || next.connection_id !== connectionId) {
            throw new Error("writeConnection: the update changed the connection's identity");
          }
          const row = await upsert(client, await this.codec.sealConnection(next), next);
          await notify(client, CONNECTIONS_CHANNEL, [providerConfigKey, connectionId, origin]);
          // What every reader of the row gets (timestamps and JSON as the database returns them).
          const cached = { rec: await this.codec.openConnection(storedConnection(row)), sealed: row.credentials };
          return { result: { connection: cached.rec, result: before ? ('overridden' as const) : ('created' as const) }, cached };
        });
        return outcome.result;
      } finally {
        // Also on failure: a COMMIT that failed in transit may have happened.
        this.cache.commit(key, fill, outcome?.cached);
      }
    }, (r) => r.result !== 'unchanged'));
  }

  delete(providerConfigKey: string, connectionId: string): Promise<boolean> {
    const key = connectionKey(providerConfigKey, connectionId);
    return this.#writes.run(key, () => this.changes.announced(async (origin) => {
      const fill = this.cache.begin(key);
      try {
        return await transaction(this.pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`connection:${key}`]);
          const { rowCount } = await client.query('DELETE FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2', [providerConfigKey, connectionId]);
          if (!rowCount) return false;
          await notify(client, CONNECTIONS_CHANNEL, [providerConfigKey, connectionId, origin]);
          return true;
        });
      } finally {
        this.cache.commit(key, fill, undefined);
      }
    }));
  }

  /** One batch of background refresh's work, chosen by index (migration 002): only due rows are decrypted. */
  async listRefreshDue({ obtainedBefore, now, after, limit }: RefreshDueQuery): Promise<RefreshDueBatch> {
    const { rows } = await this.pool.query<ConnectionRow & { stale_since: Date }>(refreshDueQuery(CONNECTION_COLUMNS), [
      new Date(obtainedBefore).toISOString(),
      new Date(now).toISOString(),
      after?.staleSince ?? null,
      after?.providerConfigKey ?? null,
      after?.connectionId ?? null,
      Math.max(0, limit),
    ]);
    const last = rows.at(-1);
    const next = last && rows.length >= limit ? { staleSince: last.stale_since.toISOString(), providerConfigKey: last.provider_config_key, connectionId: last.connection_id } : null;
    // Rows from before migration 002 may hold no refresh token: opened, then dropped here.
    const opened = await Promise.all(rows.map(async (r) => (await this.open(r)).rec));
    return { connections: opened.filter((c) => refreshStale(c, obtainedBefore, now)), next };
  }

  /**
   * The row as a Connection. A ciphertext this instance has already opened for the same record
   * (identity bound in it) is not decrypted again (~0.2 ms each): lists of thousands stay cheap.
   */
  async open(row: ConnectionRow): Promise<Cached<Connection>> {
    const stored = storedConnection(row);
    const known = this.cache.peek(connectionKey(row.provider_config_key, row.connection_id));
    if (known && known.sealed === row.credentials) return { rec: withCredentials(stored, known.rec.credentials), sealed: row.credentials };
    try {
      return { rec: await this.codec.openConnection(stored), sealed: row.credentials };
    } catch (e) {
      throw new StoreError(
        `connection "${row.connection_id}" of "${row.provider_config_key}": cannot decrypt its credentials with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`,
      );
    }
  }
}

/** Inserts or replaces the row, with the plaintext columns background refresh selects on (refresh-due.ts). */
async function upsert(client: PoolClient, stored: StoredConnection, next: Connection): Promise<ConnectionRow> {
  const creds = next.credentials;
  const expiresAt = 'expires_at' in creds && typeof creds.expires_at === 'string' ? Date.parse(creds.expires_at) : NaN;
  const refresh = refreshColumns(creds);
  const { rows } = await client.query<ConnectionRow>(
    `INSERT INTO keyway_connections (${CONNECTION_COLUMNS}, obtained_at, has_refresh_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13, $14, $15, $16)
     ON CONFLICT (provider_config_key, connection_id) DO UPDATE SET id = EXCLUDED.id, provider = EXCLUDED.provider,
       obtained_at = EXCLUDED.obtained_at, has_refresh_token = EXCLUDED.has_refresh_token,
       auth_type = EXCLUDED.auth_type, credentials = EXCLUDED.credentials, expires_at = EXCLUDED.expires_at,
       connection_config = EXCLUDED.connection_config, metadata = EXCLUDED.metadata, end_user = EXCLUDED.end_user,
       last_refresh_failure = EXCLUDED.last_refresh_failure, other_fields = EXCLUDED.other_fields,
       created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
     RETURNING ${CONNECTION_COLUMNS}`,
    [
      stored.provider_config_key,
      stored.connection_id,
      stored.id,
      stored.provider,
      creds.type,
      stored.credentials,
      Number.isNaN(expiresAt) ? null : new Date(expiresAt).toISOString(),
      JSON.stringify(stored.connection_config),
      JSON.stringify(stored.metadata),
      jsonOrNull(stored.end_user),
      jsonOrNull(stored.last_refresh_failure),
      JSON.stringify(otherFields(stored, CONNECTION_FIELDS)),
      stored.created_at,
      stored.updated_at,
      refresh.obtained_at,
      refresh.has_refresh_token,
    ],
  );
  return rows[0]!;
}
