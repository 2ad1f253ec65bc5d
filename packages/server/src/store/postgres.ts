import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Keyring } from '../crypto/keyring.ts';
import { RecordCodec, type StoredConnection, type StoredFlow, type StoredIntegration } from './codec.ts';
import { StoreError } from './json-file.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { loadMigrations, migrate } from './migrate.ts';
import { refreshColumns, refreshDueQuery } from './postgres-refresh-due.ts';
import { EXPIRING_WITHIN_MS, refreshStale } from './status.ts';
import { EXHAUSTED_AFTER_DAYS } from './status.ts';
import type { ConnectSession, Connection, ConnectionFilter, Credentials, ConnectionUpdate, DashboardSession, FlowOutcomeRecord, FlowState, Integration, RefreshDueQuery, Store, WriteResult } from './types.ts';

/**
 * NOTIFY channels. Payloads: `[config key, connection id, origin]` (connection id null: all of the
 * integration's), `[unique key, origin]`, or `*` (drop everything); origin is `<instance>:<write seq>`.
 */
const CONNECTIONS_CHANNEL = 'keyway_connections';
const INTEGRATIONS_CHANNEL = 'keyway_integrations';
const DEFAULT_CACHE_SIZE = 50_000;
const DEFAULT_POOL_SIZE = 10;
/** Expired flows, outcomes and sessions are deleted at most this often (per table, per instance). */
const PURGE_EVERY_MS = 60_000;
/** The "expiring" window of store/status.ts (keep equal; the contract test checks both sides of it). */
const RESEAL_BATCH = 200;
/** The LISTEN connection is checked this often; a dead one is replaced (and the cache dropped). */
const HEARTBEAT_MS = 10_000;
const LISTEN_RETRY_DELAYS_MS = [100, 500, 1000, 2000, 5000] as const;
/** NOTIFY payloads must stay under 8000 bytes; a longer one becomes `*`. */
const MAX_PAYLOAD = 7000;
/** A write waits at most this long for its own NOTIFY to come back through LISTEN (see #announce). */
const ECHO_TIMEOUT_MS = 1000;
/** ORDER of lists: status.ts compareConnections (created_at, then connection id and config key in the ICU root collation). */
const LIST_ORDER = 'created_at, connection_id COLLATE "und-x-icu", provider_config_key COLLATE "und-x-icu"';

const CONNECTION_COLUMNS =
  'provider_config_key, connection_id, id, provider, auth_type, credentials, expires_at, connection_config, metadata, end_user, last_refresh_failure, other_fields, created_at, updated_at';
const INTEGRATION_COLUMNS = 'unique_key, provider, display_name, client_id, client_secret, scopes, other_fields, created_at, updated_at';
const CONNECTION_FIELDS = new Set(['provider_config_key', 'connection_id', 'id', 'provider', 'credentials', 'connection_config', 'metadata', 'end_user', 'last_refresh_failure', 'created_at', 'updated_at']);
const INTEGRATION_FIELDS = new Set(['unique_key', 'provider', 'display_name', 'client_id', 'client_secret', 'scopes', 'created_at', 'updated_at']);

export interface PostgresStoreOptions {
  /** Decrypted connections kept in memory (least recently used go first); integrations likewise. */
  readonly cacheSize?: number;
  /** Connections of the query pool; the lock pool (see withLock) has as many. */
  readonly poolSize?: number;
}

interface ConnectionRow {
  provider_config_key: string;
  connection_id: string;
  id: string;
  provider: string;
  auth_type: string;
  credentials: string;
  expires_at: Date | null;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  end_user: Connection['end_user'];
  last_refresh_failure: Connection['last_refresh_failure'];
  other_fields: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

interface IntegrationRow {
  unique_key: string;
  provider: string;
  display_name: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
  other_fields: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/** A decrypted record and the ciphertext it came from (every write seals anew: same ciphertext, same row). */
interface Cached<T> {
  readonly rec: T;
  readonly sealed: string;
}

/** A read or write in flight whose result may go into the cache; stale once the key was invalidated meanwhile. */
interface Fill {
  stale: boolean;
}

/**
 * Decrypted records by key, bounded (least recently used dropped first), and only kept while the
 * store LISTENs for other instances' changes (a connection is also confirmed on each read: see getConnection).
 *
 * A result enters the cache only if nothing invalidated its key since the read (or write) began:
 * a notification that overtakes a slow read must not be undone by that read's older row.
 */
class RecordCache<T> {
  readonly #entries = new Map<string, Cached<T>>();
  readonly #fills = new Map<string, Set<Fill>>();
  readonly #loading = new Map<string, Promise<Cached<T> | undefined>>();
  #enabled = false;
  /** Bumped by every invalidation: guards fills of many keys at once (lists). */
  #generation = 0;

  constructor(private readonly max: number) {}

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Turns caching on (LISTEN established) or off (lost): either way, what was cached goes. */
  reset(enabled: boolean): void {
    this.#enabled = enabled;
    this.clear();
  }

  /** The entry without touching its recency (or undefined while not enabled). */
  peek(key: string): Cached<T> | undefined {
    return this.#enabled ? this.#entries.get(key) : undefined;
  }

  /** A memory read when cached; otherwise one `read` per key at a time, shared by concurrent callers. */
  load(key: string, read: () => Promise<Cached<T> | undefined>): Promise<Cached<T> | undefined> {
    const hit = this.#enabled ? this.#entries.get(key) : undefined;
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return Promise.resolve(hit);
    }
    let flight = this.#loading.get(key);
    if (!flight) {
      const started = this.reload(key, read);
      flight = started.finally(() => {
        if (this.#loading.get(key) === flight) this.#loading.delete(key);
      });
      this.#loading.set(key, flight);
    }
    return flight;
  }

  /** Reads `key` afresh (never from the cache nor a read in flight), caching the result. */
  async reload(key: string, read: () => Promise<Cached<T> | undefined>): Promise<Cached<T> | undefined> {
    const fill = this.begin(key);
    let value: Cached<T> | undefined;
    try {
      value = await read();
    } finally {
      this.#done(key, fill);
    }
    if (value && !fill.stale) this.#set(key, value);
    return value;
  }

  /** Starts a write of `key`: see commit(). */
  begin(key: string): Fill {
    const fill: Fill = { stale: !this.#enabled };
    let set = this.#fills.get(key);
    if (!set) this.#fills.set(key, (set = new Set()));
    set.add(fill);
    return fill;
  }

  /**
   * Ends a write of `key` that this instance committed (or may have: an error at COMMIT): reads of
   * the key in flight may hold the row from before it, so they are not cached; the written record
   * (undefined: deleted) is, unless another instance changed the key during the write.
   */
  commit(key: string, fill: Fill, value: Cached<T> | undefined): void {
    const fresh = !fill.stale;
    this.#done(key, fill);
    this.invalidate(key);
    if (value && fresh) this.#set(key, value);
  }

  /** Fills of many keys (a list): kept only if nothing at all was invalidated since `generation`. */
  fillMany(generation: number, values: Iterable<[string, Cached<T>]>): void {
    if (!this.#enabled || generation !== this.#generation) return;
    for (const [key, value] of values) if (!this.#fills.has(key)) this.#set(key, value);
  }

  invalidate(key: string): void {
    this.#generation++;
    this.#entries.delete(key);
    this.#loading.delete(key);
    for (const fill of this.#fills.get(key) ?? []) fill.stale = true;
  }

  invalidateWhere(matches: (key: string) => boolean): void {
    this.#generation++;
    for (const key of [...this.#entries.keys()]) if (matches(key)) this.#entries.delete(key);
    for (const key of [...this.#loading.keys()]) if (matches(key)) this.#loading.delete(key);
    for (const [key, fills] of this.#fills) if (matches(key)) for (const fill of fills) fill.stale = true;
  }

  clear(): void {
    this.invalidateWhere(() => true);
  }

  #done(key: string, fill: Fill): void {
    const set = this.#fills.get(key);
    set?.delete(fill);
    if (set?.size === 0) this.#fills.delete(key);
  }

  #set(key: string, value: Cached<T>): void {
    if (!this.#enabled) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.max) break;
      this.#entries.delete(oldest);
    }
  }
}

const connectionKey = (providerConfigKey: string, connectionId: string) => JSON.stringify([providerConfigKey, connectionId]);

/**
 * The PostgreSQL store: many server instances on one database.
 *
 * - Secrets are sealed by the same RecordCodec as the JSON file (JWE bound to the record's identity).
 * - Connections and integrations are served from an in-memory cache of decrypted records, filled
 *   on read and on this instance's writes; every write NOTIFYs (in its transaction) so the other
 *   instances drop their copy. Without a working LISTEN connection nothing is cached.
 * - A connection read from the cache is first confirmed current (its ciphertext, one indexed read):
 *   once a write is acknowledged on any instance, no instance serves the record it replaced.
 * - writeConnection is one transaction per call (a per-connection transaction lock, the row
 *   FOR UPDATE, the update, the upsert, the NOTIFY), so concurrent writers never lose an update.
 * - withLock is a session advisory lock; reads made while holding one go to the database.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  /** Sessions that hold advisory locks while their holder runs (which uses #pool: no deadlock between the two). */
  readonly #lockPool: pg.Pool;
  readonly #url: string;
  readonly #codec: RecordCodec;
  readonly #connections: RecordCache<Connection>;
  readonly #integrations: RecordCache<Integration>;
  /** Marks this instance's own notifications, which it has already applied. */
  readonly #instance = randomBytes(12).toString('base64url');
  /** Local writes to one connection queue here before they contend for the database. */
  readonly #writes = new KeyedQueue();
  readonly #locks = new KeyedQueue();
  /** Set while `fn` of withLock runs: its reads must see every commit made before the lock was taken. */
  readonly #holdingLock = new AsyncLocalStorage<true>();
  readonly #lastPurge = new Map<string, number>();
  /** Writes waiting for their NOTIFY to come back, by sequence number. */
  readonly #echoes = new Map<number, () => void>();
  #writeSeq = 0;
  #listener: pg.Client | undefined;
  #listenRetry: NodeJS.Timeout | undefined;
  #listenAttempt = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(url: string, codec: RecordCodec, options: PostgresStoreOptions) {
    this.#url = url;
    this.#codec = codec;
    const size = options.poolSize ?? DEFAULT_POOL_SIZE;
    const common = { connectionString: url, keepAlive: true, max: size, connectionTimeoutMillis: 10_000 };
    this.#pool = new pg.Pool({ ...common, application_name: 'keyway' });
    this.#lockPool = new pg.Pool({ ...common, application_name: 'keyway-locks', connectionTimeoutMillis: 60_000 });
    // An idle client whose connection dies is dropped by the pool; the error must not crash the process.
    // A client in use whose connection dies (a lock holder's session terminated) reports it on
    // itself: the query in flight fails, and the process must not crash.
    for (const pool of [this.#pool, this.#lockPool]) {
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
    }
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.#connections = new RecordCache(cacheSize);
    this.#integrations = new RecordCache(cacheSize);
  }

  /** Connects, migrates the schema (safe with several instances starting at once), and starts listening. */
  static async open(url: string, keyring: Keyring, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, new RecordCodec(keyring), options);
    try {
      await migrate(store.#pool, await loadMigrations());
      await store.#checkKeys();
      await store.#listen();
    } catch (e) {
      await store.close();
      throw new StoreError(`KEYWAY_DATABASE_URL ${redact(url)}: ${errorMessage(e)}`);
    }
    store.#heartbeat = setInterval(() => store.#checkListener(), HEARTBEAT_MS).unref();
    return store;
  }

  /**
   * Fails the start, as the JSON file does, when KEYWAY_ENCRYPTION_KEY cannot open the records
   * (a wrong or missing key): the most recently written integration and connection are tried.
   */
  async #checkKeys(): Promise<void> {
    const integration = await this.#pool.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations ORDER BY updated_at DESC LIMIT 1`);
    const connection = await this.#pool.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM keyway_connections ORDER BY updated_at DESC LIMIT 1`);
    try {
      if (integration.rows[0]) await this.#openIntegration(integration.rows[0]);
      if (connection.rows[0]) await this.#openConnection(connection.rows[0]);
    } catch (e) {
      throw new StoreError(`${(e as Error).message}; to rotate keys, list the old key after the new one`);
    }
  }

  // ---- integrations ----

  async getIntegration(uniqueKey: string) {
    const cached = await this.#integrations.load(uniqueKey, async () => {
      const { rows } = await this.#pool.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations WHERE unique_key = $1`, [uniqueKey]);
      return rows[0] && this.#openIntegration(rows[0]);
    });
    return cached?.rec;
  }

  async listIntegrations() {
    const generation = this.#integrations.generation;
    const { rows } = await this.#pool.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations ORDER BY created_at, unique_key COLLATE "und-x-icu"`);
    const opened = await Promise.all(rows.map((r) => this.#openIntegration(r)));
    this.#integrations.fillMany(generation, opened.map((c) => [c.rec.unique_key, c]));
    return opened.map((c) => c.rec);
  }

  async putIntegration(integration: Integration) {
    const key = integration.unique_key;
    const stored = await this.#codec.sealIntegration(integration);
    await this.#announced(async (origin) => {
      const fill = this.#integrations.begin(key);
      let written: Cached<Integration> | undefined;
      try {
        const row = await this.#transaction(async (client) => {
          const { rows } = await client.query<IntegrationRow>(
            `INSERT INTO keyway_integrations (${INTEGRATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)
             ON CONFLICT (unique_key) DO UPDATE SET provider = EXCLUDED.provider, display_name = EXCLUDED.display_name,
               client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret, scopes = EXCLUDED.scopes,
               other_fields = EXCLUDED.other_fields, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
             RETURNING ${INTEGRATION_COLUMNS}`,
            [key, stored.provider, stored.display_name, stored.client_id, stored.client_secret, JSON.stringify(stored.scopes), JSON.stringify(otherFields(stored, INTEGRATION_FIELDS)), stored.created_at, stored.updated_at],
          );
          await this.#notify(client, INTEGRATIONS_CHANNEL, [key, origin]);
          return rows[0]!;
        });
        written = await this.#openIntegration(row);
      } finally {
        this.#integrations.commit(key, fill, written);
      }
      return true;
    });
  }

  deleteIntegration(uniqueKey: string): Promise<boolean> {
    const prefix = JSON.stringify([uniqueKey]).slice(0, -1) + ',';
    return this.#announced(async (origin) => {
      const fill = this.#integrations.begin(uniqueKey);
      try {
        return await this.#transaction(async (client) => {
          const { rowCount } = await client.query('DELETE FROM keyway_integrations WHERE unique_key = $1', [uniqueKey]);
          if (!rowCount) return false;
          await client.query('DELETE FROM keyway_connections WHERE provider_config_key = $1', [uniqueKey]);
          await this.#notify(client, INTEGRATIONS_CHANNEL, [uniqueKey, origin]);
          await this.#notify(client, CONNECTIONS_CHANNEL, [uniqueKey, null, origin]);
          return true;
        });
      } finally {
        this.#integrations.commit(uniqueKey, fill, undefined);
        this.#connections.invalidateWhere((k) => k.startsWith(prefix));
      }
    });
  }

  async #openIntegration(row: IntegrationRow): Promise<Cached<Integration>> {
    const stored: StoredIntegration = {
      ...row.other_fields,
      unique_key: row.unique_key,
      provider: row.provider,
      display_name: row.display_name,
      client_id: row.client_id,
      client_secret: row.client_secret,
      scopes: row.scopes,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
    };
    try {
      return { rec: await this.#codec.openIntegration(stored), sealed: row.client_secret };
    } catch (e) {
      throw new StoreError(`integration "${row.unique_key}": cannot decrypt its client secret with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`);
    }
  }

  // ---- connections ----

  async getConnection(providerConfigKey: string, connectionId: string) {
    const key = connectionKey(providerConfigKey, connectionId);
    const read = async () => {
      const { rows } = await this.#pool.query<ConnectionRow>(
        `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2`,
        [providerConfigKey, connectionId],
      );
      return rows[0] && this.#openConnection(rows[0]);
    };
    // Under a lock (a refresh), the cache may not yet have heard of a commit another instance made
    // just before releasing that lock: read the database.
    if (this.#holdingLock.getStore()) return (await this.#connections.reload(key, read))?.rec;
    const hit = this.#connections.peek(key);
    if (hit) {
      // A notification from another instance's write can arrive after that write was acknowledged, so
      // the copy in memory is confirmed first: one indexed read of the sealed credentials, no decrypt.
      // Every write seals them anew (a fresh IV), so the same ciphertext means the same row version.
      const { rows } = await this.#pool.query<{ credentials: string }>(
        'SELECT credentials FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2',
        [providerConfigKey, connectionId],
      );
      if (rows[0]?.credentials === hit.sealed) return hit.rec;
      this.#connections.invalidate(key);
    }
    return (await this.#connections.load(key, read))?.rec;
  }

  async listConnections(filter: ConnectionFilter) {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (filter.provider_config_key !== undefined) where.push(`provider_config_key = ${p(filter.provider_config_key)}`);
    if (filter.connection_id !== undefined) where.push(`connection_id = ${p(filter.connection_id)}`);
    if (filter.end_user_id !== undefined) where.push(`end_user ->> 'id' = ${p(filter.end_user_id)}`);
    // Tags live in other_fields (no column, no migration); containment matches every given tag.
    if (filter.tags !== undefined) where.push(`other_fields -> 'tags' @> ${p(JSON.stringify(filter.tags))}::jsonb`);
    if (filter.search !== undefined) {
      // status.ts matchesSearch: a substring, any case (ICU lower-casing, as JavaScript's toLowerCase).
      const needle = p(filter.search.toLowerCase());
      const fields = ['connection_id', "end_user ->> 'id'", "end_user ->> 'email'", "end_user ->> 'display_name'"];
      where.push(`(${fields.map((f) => `strpos(lower((${f}) COLLATE "und-x-icu"), ${needle}) > 0`).join(' OR ')})`);
    }
    if (filter.status !== undefined) {
      // status.ts connectionStatus, as predicates (the "expiring" one can use its index).
      switch (filter.status) {
        case 'exhausted':
        case 'refresh_failed': {
          const days = p(EXHAUSTED_AFTER_DAYS);
          where.push(`last_refresh_failure IS NOT NULL AND jsonb_array_length(last_refresh_failure -> 'days') ${filter.status === 'exhausted' ? '>=' : '<'} ${days}`);
          break;
        }
        case 'expiring':
        case 'ok': {
          const soon = p(new Date(Date.now() + EXPIRING_WITHIN_MS).toISOString());
          where.push(filter.status === 'expiring'
            ? `last_refresh_failure IS NULL AND expires_at < ${soon}::timestamptz`
            : `last_refresh_failure IS NULL AND (expires_at IS NULL OR expires_at >= ${soon}::timestamptz)`);
          break;
        }
        default:
          where.push('false');
      }
    }
    const condition = where.length > 0 ? where.join(' AND ') : 'true';
    const limit = p(Math.max(0, filter.limit));
    const offset = p(Math.max(0, filter.offset));
    // One statement, one snapshot: the total and the page agree.
    const { rows } = await this.#pool.query<ConnectionRow & { total: string }>(
      `SELECT t.total, c.* FROM (SELECT count(*) AS total FROM keyway_connections WHERE ${condition}) t
       LEFT JOIN LATERAL (
         SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE ${condition} ORDER BY ${LIST_ORDER} LIMIT ${limit}::bigint OFFSET ${offset}::bigint
       ) c ON true`,
      params,
    );
    const total = Number(rows[0]?.total ?? 0);
    const page = rows.filter((r) => r.connection_id !== null);
    const connections = await Promise.all(page.map(async (r) => (await this.#openConnection(r)).rec));
    return { connections, total };
  }

  writeConnection(providerConfigKey: string, connectionId: string, update: ConnectionUpdate): Promise<WriteResult> {
    const key = connectionKey(providerConfigKey, connectionId);
    return this.#writes.run(key, () => this.#announced(async (origin): Promise<WriteResult> => {
      const fill = this.#connections.begin(key);
      let outcome: { result: WriteResult; cached: Cached<Connection> | undefined } | undefined;
      try {
        outcome = await this.#transaction(async (client) => {
          // Writers of one connection take turns, including two creating it at once (no row to lock yet).
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`connection:${key}`]);
          const { rows } = await client.query<ConnectionRow>(
            `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2 FOR UPDATE`,
            [providerConfigKey, connectionId],
          );
          const before = rows[0] && (await this.#openConnection(rows[0]));
          const next = update(before?.rec);
          if (next === null) return { result: { connection: before?.rec, result: 'unchanged' as const }, cached: before };
          if (next.provider_config_key !== providerConfigKey || next.connection_id !== connectionId) {
            throw new Error("writeConnection: the update changed the connection's identity");
          }
          const row = await this.#upsertConnection(client, await this.#codec.sealConnection(next), next);
          await this.#notify(client, CONNECTIONS_CHANNEL, [providerConfigKey, connectionId, origin]);
          // What every reader of the row gets (timestamps and JSON as the database returns them).
          const cached = { rec: await this.#codec.openConnection(storedConnection(row)), sealed: row.credentials };
          return { result: { connection: cached.rec, result: before ? ('overridden' as const) : ('created' as const) }, cached };
        });
        return outcome.result;
      } finally {
        // Also on failure: a COMMIT that failed in transit may have happened.
        this.#connections.commit(key, fill, outcome?.cached);
      }
    }, (r) => r.result !== 'unchanged'));
  }

  async #upsertConnection(client: PoolClient, stored: StoredConnection, next: Connection): Promise<ConnectionRow> {
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

  deleteConnection(providerConfigKey: string, connectionId: string): Promise<boolean> {
    const key = connectionKey(providerConfigKey, connectionId);
    return this.#writes.run(key, () => this.#announced(async (origin) => {
      const fill = this.#connections.begin(key);
      try {
        return await this.#transaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`connection:${key}`]);
          const { rowCount } = await client.query('DELETE FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2', [providerConfigKey, connectionId]);
          if (!rowCount) return false;
          await this.#notify(client, CONNECTIONS_CHANNEL, [providerConfigKey, connectionId, origin]);
          return true;
        });
      } finally {
        this.#connections.commit(key, fill, undefined);
      }
    }));
  }

  /** One batch of background refresh's work, chosen by index (migration 002): only due rows are decrypted. */
  async listRefreshDue({ obtainedBefore, now, after, limit }: RefreshDueQuery) {
    const { rows } = await this.#pool.query<ConnectionRow & { stale_since: Date }>(refreshDueQuery(CONNECTION_COLUMNS), [
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
    const opened = await Promise.all(rows.map(async (r) => (await this.#openConnection(r)).rec));
    return { connections: opened.filter((c) => refreshStale(c, obtainedBefore, now)), next };
  }

  /**
   * The row as a Connection. A ciphertext this instance has already opened for the same record
   * (identity bound in it) is not decrypted again (~0.2 ms each): lists of thousands stay cheap.
   */
  async #openConnection(row: ConnectionRow): Promise<Cached<Connection>> {
    const stored = storedConnection(row);
    const known = this.#connections.peek(connectionKey(row.provider_config_key, row.connection_id));
    if (known && known.sealed === row.credentials) return { rec: withCredentials(stored, known.rec.credentials), sealed: row.credentials };
    try {
      return { rec: await this.#codec.openConnection(stored), sealed: row.credentials };
    } catch (e) {
      throw new StoreError(
        `connection "${row.connection_id}" of "${row.provider_config_key}": cannot decrypt its credentials with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`,
      );
    }
  }

  // ---- flows, outcomes, sessions ----

  async putFlow(flow: FlowState) {
    const stored = await this.#codec.sealFlow(flow);
    await this.#put('keyway_flows', 'state_hash', flow.state_hash, stored, flow.expires_at);
  }

  async takeFlow(stateHash: string) {
    // One DELETE: of two callbacks with the same state (on any instances), one gets the row.
    const { rows } = await this.#pool.query<{ record: StoredFlow }>('DELETE FROM keyway_flows WHERE state_hash = $1 RETURNING record', [stateHash]);
    const stored = rows[0]?.record;
    return stored && stored.expires_at > Date.now() ? this.#codec.openFlow(stored) : undefined;
  }

  async putOutcome(outcome: FlowOutcomeRecord) {
    await this.#put('keyway_outcomes', 'flow_id_hash', outcome.flow_id_hash, outcome, outcome.expires_at);
  }

  async getOutcome(flowIdHash: string) {
    return this.#getLive<FlowOutcomeRecord>('keyway_outcomes', 'flow_id_hash', flowIdHash);
  }

  async putSession(session: ConnectSession) {
    await this.#put('keyway_sessions', 'token_hash', session.token_hash, session, session.expires_at);
  }

  async getSession(tokenHash: string) {
    return this.#getLive<ConnectSession>('keyway_sessions', 'token_hash', tokenHash);
  }

  async deleteSession(tokenHash: string) {
    const { rowCount } = await this.#pool.query('DELETE FROM keyway_sessions WHERE token_hash = $1', [tokenHash]);
    return (rowCount ?? 0) > 0;
  }

  async putDashboardSession(session: DashboardSession) {
    await this.#put('keyway_dashboard_sessions', 'id_hash', session.id_hash, session, session.expires_at);
  }

  async getDashboardSession(idHash: string) {
    return this.#getLive<DashboardSession>('keyway_dashboard_sessions', 'id_hash', idHash);
  }

  async deleteDashboardSession(idHash: string) {
    const { rowCount } = await this.#pool.query('DELETE FROM keyway_dashboard_sessions WHERE id_hash = $1', [idHash]);
    return (rowCount ?? 0) > 0;
  }

  async #put(table: string, keyColumn: string, key: string, record: unknown, expiresAt: number): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${table} (${keyColumn}, record, expires_at) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (${keyColumn}) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
      [key, JSON.stringify(record), new Date(expiresAt).toISOString()],
    );
    await this.#purgeExpired(table);
  }

  async #getLive<T>(table: string, keyColumn: string, key: string): Promise<T | undefined> {
    const { rows } = await this.#pool.query<{ record: T }>(`SELECT record FROM ${table} WHERE ${keyColumn} = $1 AND expires_at > $2`, [key, new Date().toISOString()]);
    return rows[0]?.record;
  }

  /** Deletes the table's expired rows, at most once a minute per instance; a failure only leaves dead rows. */
  async #purgeExpired(table: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastPurge.get(table) ?? 0) < PURGE_EVERY_MS) return;
    this.#lastPurge.set(table, now);
    await this.#pool.query(`DELETE FROM ${table} WHERE expires_at <= $1`, [new Date(now).toISOString()]).catch(() => undefined);
  }

  // ---- locks ----

  /**
   * Runs `fn` holding a session advisory lock on `name`, across every instance on the database.
   * Callers in this process queue locally first (one database session per name at a time). The
   * wait for another instance's holder is bounded by `ttlMs` (then a StoreError); a holder that
   * crashes loses its session, which releases the lock at once. Reads made by `fn` bypass the cache.
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(name, async () => {
      const client = await this.#lockPool.connect();
      let broken: Error | undefined;
      try {
        try {
          await client.query("SELECT set_config('lock_timeout', $1, false)", [`${Math.max(1, Math.ceil(ttlMs))}ms`]);
          await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
        } catch (e) {
          if ((e as { code?: string }).code === '55P03') throw new StoreError(`waited ${ttlMs} ms for the lock "${name}", held by another Keyway instance`);
          broken = e as Error;
          throw e;
        }
        try {
          return await this.#holdingLock.run(true, fn);
        } finally {
          // If the unlock fails, the session is ended below, which releases the lock as well.
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch((e: Error) => (broken = e));
        }
      } finally {
        client.release(broken);
      }
    });
  }

  // ---- re-encryption ----

  /**
   * Re-seals every secret under the current key (the first of KEYWAY_ENCRYPTION_KEY), in batches of
   * RESEAL_BATCH rows per transaction. A row changed meanwhile by a server (compare-and-set on the
   * ciphertext) is left as that server wrote it. Start it once every instance runs with the new key first.
   */
  async resealAll(onProgress?: (done: number, total: number) => void): Promise<{ resealed: number; total: number }> {
    const now = new Date().toISOString();
    const { rows: [counts] } = await this.#pool.query<{ i: string; c: string; f: string }>(
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
      const { rows }: { rows: IntegrationRow[] } = await this.#pool.query<IntegrationRow>(
        `SELECT ${INTEGRATION_COLUMNS} FROM keyway_integrations WHERE $1::text IS NULL OR unique_key > $1 ORDER BY unique_key LIMIT ${RESEAL_BATCH}`,
        [after],
      );
      if (rows.length === 0) break;
      const sealed = await Promise.all(rows.map(async (r) => ({ r, next: (await this.#codec.sealIntegration((await this.#openIntegration(r)).rec)).client_secret })));
      await this.#transaction(async (client) => {
        for (const { r, next } of sealed) {
          const { rowCount } = await client.query('UPDATE keyway_integrations SET client_secret = $1 WHERE unique_key = $2 AND client_secret = $3', [next, r.unique_key, r.client_secret]);
          step(rowCount === 1);
        }
      });
      after = rows.at(-1)!.unique_key;
    }

    for (let after: [string, string] | null = null; ;) {
      const params: (string | null)[] = after ?? [null, null];
      const rows: ConnectionRow[] = (
        await this.#pool.query<ConnectionRow>(
          `SELECT ${CONNECTION_COLUMNS} FROM keyway_connections
           WHERE $1::text IS NULL OR (provider_config_key, connection_id) > ($1, $2) ORDER BY provider_config_key, connection_id LIMIT ${RESEAL_BATCH}`,
          params,
        )
      ).rows;
      if (rows.length === 0) break;
      const sealed = await Promise.all(rows.map(async (r) => ({ r, next: (await this.#codec.sealConnection((await this.#openConnection(r)).rec)).credentials })));
      await this.#transaction(async (client) => {
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
      const { rows }: { rows: { state_hash: string; record: StoredFlow }[] } = await this.#pool.query<{ state_hash: string; record: StoredFlow }>(
        `SELECT state_hash, record FROM keyway_flows WHERE ($1::text IS NULL OR state_hash > $1) AND expires_at > $2 ORDER BY state_hash LIMIT ${RESEAL_BATCH}`,
        [after, now],
      );
      if (rows.length === 0) break;
      const sealed = await Promise.all(rows.map(async (r) => ({ r, next: await this.#codec.sealFlow(await this.#openFlow(r.record)) })));
      await this.#transaction(async (client) => {
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

  async #openFlow(stored: StoredFlow): Promise<FlowState> {
    try {
      return await this.#codec.openFlow(stored);
    } catch (e) {
      throw new StoreError(`flow ${stored.state_hash}: cannot decrypt its PKCE verifier with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`);
    }
  }

  // ---- plumbing ----

  async #transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
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

  async #notify(client: PoolClient, channel: string, message: readonly unknown[]): Promise<void> {
    const payload = JSON.stringify(message);
    await client.query('SELECT pg_notify($1, $2)', [channel, Buffer.byteLength(payload) <= MAX_PAYLOAD ? payload : '*']);
  }

  /**
   * Runs a write whose NOTIFYs carry `origin` (`<instance>:<seq>`), and answers only once its
   * notification has come back through this instance's LISTEN connection (at most ECHO_TIMEOUT_MS;
   * at once when nothing was notified or nobody listens). PostgreSQL signals every listener at the
   * same commit, so when a write is acknowledged the other instances have been told as well: their
   * copy is dropped within the delivery of one message, not after the caller has moved on.
   */
  async #announced<T>(work: (origin: string) => Promise<T>, notified: (value: T) => boolean = Boolean): Promise<T> {
    const seq = ++this.#writeSeq;
    let echoed!: () => void;
    const echo = new Promise<void>((resolve) => (echoed = resolve));
    // Registered before the transaction, so an echo that overtakes the COMMIT's answer is not missed.
    this.#echoes.set(seq, echoed);
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await work(`${this.#instance}:${seq}`);
      if (notified(value) && this.#listener) {
        timer = setTimeout(echoed, ECHO_TIMEOUT_MS);
        await echo;
      }
      return value;
    } finally {
      clearTimeout(timer);
      this.#echoes.delete(seq);
    }
  }

  /** Opens the LISTEN connection; caching starts once it listens (from an empty cache: notifications may have been missed). */
  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, keepAlive: true, application_name: 'keyway-listen', query_timeout: 5000 });
    client.on('error', () => this.#listenerLost(client));
    client.on('end', () => this.#listenerLost(client));
    client.on('notification', (n) => this.#onNotification(n.channel, n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONNECTIONS_CHANNEL}; LISTEN ${INTEGRATIONS_CHANNEL}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
    this.#listenAttempt = 0;
    this.#connections.reset(true);
    this.#integrations.reset(true);
  }

  #listenerLost(client: pg.Client): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    // Changes made from now until LISTEN is back would go unheard: stop caching, forget everything.
    this.#connections.reset(false);
    this.#integrations.reset(false);
    for (const resolve of this.#echoes.values()) resolve(); // no echo will come
    void client.end().catch(() => undefined);
    this.#scheduleListen();
  }

  #scheduleListen(): void {
    if (this.#closed || this.#listenRetry) return;
    const delay = LISTEN_RETRY_DELAYS_MS[Math.min(this.#listenAttempt++, LISTEN_RETRY_DELAYS_MS.length - 1)];
    this.#listenRetry = setTimeout(() => {
      this.#listenRetry = undefined;
      this.#listen().catch(() => this.#scheduleListen());
    }, delay);
    this.#listenRetry.unref();
  }

  /** A LISTEN connection can die silently (no RST): ask it something now and then. */
  #checkListener(): void {
    const client = this.#listener;
    if (!client) return;
    client.query('SELECT 1').catch(() => this.#listenerLost(client));
  }

  #onNotification(channel: string, payload: string | undefined): void {
    let message: unknown;
    try {
      message = payload === '*' ? undefined : JSON.parse(payload ?? '');
    } catch {
      message = undefined;
    }
    const parts = Array.isArray(message) ? message : undefined;
    const origin = parts?.at(-1);
    if (typeof origin === 'string' && origin.startsWith(`${this.#instance}:`)) {
      // Our own write: already applied to the cache; it waits for this echo.
      this.#echoes.get(Number(origin.slice(this.#instance.length + 1)))?.();
      return;
    }
    if (channel === CONNECTIONS_CHANNEL) {
      const [key, id] = parts ?? [];
      if (typeof key === 'string' && typeof id === 'string') this.#connections.invalidate(connectionKey(key, id));
      else if (typeof key === 'string' && id === null) {
        const prefix = JSON.stringify([key]).slice(0, -1) + ',';
        this.#connections.invalidateWhere((k) => k.startsWith(prefix));
      } else this.#connections.clear();
    } else if (channel === INTEGRATIONS_CHANNEL) {
      const [key] = parts ?? [];
      if (typeof key === 'string') this.#integrations.invalidate(key);
      else this.#integrations.clear();
    }
  }

  /** For tests and metrics: how many decrypted records are held in memory. */
  get cacheStats(): { connections: number; integrations: number; listening: boolean } {
    return { connections: this.#connections.size, integrations: this.#integrations.size, listening: this.#listener !== undefined };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#heartbeat);
      clearTimeout(this.#listenRetry);
      const listener = this.#listener;
      this.#listener = undefined;
      this.#connections.reset(false);
      this.#integrations.reset(false);
      await listener?.end().catch(() => undefined);
      await Promise.all([this.#pool.end(), this.#lockPool.end()]);
    })();
    return this.#closing;
  }
}

function storedConnection(row: ConnectionRow): StoredConnection {
  return {
    ...row.other_fields,
    id: row.id,
    provider_config_key: row.provider_config_key,
    connection_id: row.connection_id,
    provider: row.provider,
    credentials: row.credentials,
    connection_config: row.connection_config,
    metadata: row.metadata,
    end_user: row.end_user,
    last_refresh_failure: row.last_refresh_failure,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The connection as RecordCodec.openConnection builds it, with credentials already opened from the same ciphertext. */
function withCredentials(stored: StoredConnection, credentials: Credentials): Connection {
  return { ...stored, end_user: stored.end_user ?? null, last_refresh_failure: stored.last_refresh_failure ?? null, credentials };
}

/** The record's fields that have no column of their own (added after the schema), kept as they are. */
function otherFields(record: object, columns: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k, v]) => !columns.has(k) && v !== undefined));
}

const jsonOrNull = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

function errorMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => errorMessage(x)).join('; ');
  const message = e instanceof Error ? e.message : String(e);
  return message || (e as { code?: string })?.code || 'unknown error';
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparsable URL)';
  }
}

