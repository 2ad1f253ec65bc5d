import type pg from 'pg';
import type { Keyring } from '../crypto/keyring.ts';
import { RecordCodec } from './codec.ts';
import { StoreError } from './json-file.ts';
import { loadMigrations, migrate } from './migrate.ts';
import { AdvisoryLocks } from './postgres/advisory-locks.ts';
import { ChangeNotifications } from './postgres/change-notifications.ts';
import { PostgresConnections } from './postgres/connections.ts';
import { PostgresIntegrations } from './postgres/integrations.ts';
import { openPools, redact } from './postgres/pools.ts';
import { RecordCache } from './postgres/record-cache.ts';
import { resealAll } from './postgres/reseal.ts';
import { CONNECTION_COLUMNS, INTEGRATION_COLUMNS, connectionKey, errorMessage, ofIntegration, type ConnectionRow, type IntegrationRow } from './postgres/rows.ts';
import { ShortLivedTables } from './postgres/short-lived-tables.ts';
import type { ConnectSession, Connection, ConnectionFilter, ConnectionUpdate, DashboardSession, FlowOutcomeRecord, FlowState, Integration, RefreshDueQuery, Store } from './types.ts';

const DEFAULT_CACHE_SIZE = 50_000;
const DEFAULT_POOL_SIZE = 10;

export interface PostgresStoreOptions {
  /** Decrypted connections kept in memory (least recently used go first); integrations likewise. */
  readonly cacheSize?: number;
  /** Connections of the query pool; the lock pool (see withLock) has as many. */
  readonly poolSize?: number;
}

/**
 * The PostgreSQL store: many server instances on one database. This class wires its parts (in
 * postgres/):
 *
 * - Secrets are sealed by the same RecordCodec as the JSON file (JWE bound to the record's identity).
 * - Connections and integrations are served from an in-memory cache of decrypted records
 *   (record-cache.ts), filled on read and on this instance's writes; every write NOTIFYs (in its
 *   transaction) so the other instances drop their copy (change-notifications.ts). Without a
 *   working LISTEN connection nothing is cached.
 * - A connection read from the cache is first confirmed current (its ciphertext, one indexed read):
 *   once a write is acknowledged on any instance, no instance serves the record it replaced
 *   (connections.ts).
 * - writeConnection is one transaction per call (a per-connection transaction lock, the row
 *   FOR UPDATE, the update, the upsert, the NOTIFY), so concurrent writers never lose an update.
 * - withLock is a session advisory lock (advisory-locks.ts); reads made while holding one go to the database.
 * - Flows, outcomes and sessions live in tables of their own (short-lived-tables.ts); resealAll
 *   re-encrypts in batches (reseal.ts).
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #lockPool: pg.Pool;
  readonly #connectionCache: RecordCache<Connection>;
  readonly #integrationCache: RecordCache<Integration>;
  readonly #changes: ChangeNotifications;
  readonly #locks: AdvisoryLocks;
  readonly #connections: PostgresConnections;
  readonly #integrations: PostgresIntegrations;
  readonly #shortLived: ShortLivedTables;
  readonly #codec: RecordCodec;
  #closing: Promise<void> | undefined;

  private constructor(url: string, codec: RecordCodec, options: PostgresStoreOptions) {
    this.#codec = codec;
    ({ pool: this.#pool, lockPool: this.#lockPool } = openPools(url, options.poolSize ?? DEFAULT_POOL_SIZE));
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
    const connections = (this.#connectionCache = new RecordCache<Connection>(cacheSize));
    const integrations = (this.#integrationCache = new RecordCache<Integration>(cacheSize));
    this.#changes = new ChangeNotifications(url, {
      listening(on) {
        connections.reset(on);
        integrations.reset(on);
      },
      connectionsChanged(providerConfigKey, connectionId) {
        if (providerConfigKey === null) connections.clear();
        else if (connectionId === null) connections.invalidateWhere(ofIntegration(providerConfigKey));
        else connections.invalidate(connectionKey(providerConfigKey, connectionId));
      },
      integrationsChanged(uniqueKey) {
        if (uniqueKey === null) integrations.clear();
        else integrations.invalidate(uniqueKey);
      },
    });
    this.#locks = new AdvisoryLocks(this.#lockPool);
    this.#connections = new PostgresConnections(this.#pool, codec, this.#changes, connections, this.#locks);
    this.#integrations = new PostgresIntegrations(this.#pool, codec, this.#changes, integrations, connections);
    this.#shortLived = new ShortLivedTables(this.#pool, codec);
  }

  /** Connects, migrates the schema (safe with several instances starting at once), and starts listening. */
  static async open(url: string, keyring: Keyring, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, new RecordCodec(keyring), options);
    try {
      await migrate(store.#pool, await loadMigrations());
      await store.#checkKeys();
      await store.#changes.start();
    } catch (e) {
      await store.close();
      throw new StoreError(`KEYWAY_DATABASE_URL ${redact(url)}: ${errorMessage(e)}`);
    }
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
      if (integration.rows[0]) await this.#integrations.open(integration.rows[0]);
      if (connection.rows[0]) await this.#connections.open(connection.rows[0]);
    } catch (e) {
      throw new StoreError(`${(e as Error).message}; to rotate keys, list the old key after the new one`);
    }
  }

  getIntegration(uniqueKey: string) {
    return this.#integrations.get(uniqueKey);
  }

  listIntegrations() {
    return this.#integrations.list();
  }

  putIntegration(integration: Integration) {
    return this.#integrations.put(integration);
  }

  deleteIntegration(uniqueKey: string) {
    return this.#integrations.delete(uniqueKey);
  }

  getConnection(providerConfigKey: string, connectionId: string) {
    return this.#connections.get(providerConfigKey, connectionId);
  }

  listConnections(filter: ConnectionFilter) {
    return this.#connections.list(filter);
  }

  writeConnection(providerConfigKey: string, connectionId: string, update: ConnectionUpdate) {
    return this.#connections.write(providerConfigKey, connectionId, update);
  }

  deleteConnection(providerConfigKey: string, connectionId: string) {
    return this.#connections.delete(providerConfigKey, connectionId);
  }

  listRefreshDue(query: RefreshDueQuery) {
    return this.#connections.listRefreshDue(query);
  }

  putFlow(flow: FlowState) {
    return this.#shortLived.putFlow(flow);
  }

  takeFlow(stateHash: string) {
    return this.#shortLived.takeFlow(stateHash);
  }

  putOutcome(outcome: FlowOutcomeRecord) {
    return this.#shortLived.putOutcome(outcome);
  }

  getOutcome(flowIdHash: string) {
    return this.#shortLived.getOutcome(flowIdHash);
  }

  putSession(session: ConnectSession) {
    return this.#shortLived.putSession(session);
  }

  getSession(tokenHash: string) {
    return this.#shortLived.getSession(tokenHash);
  }

  deleteSession(tokenHash: string) {
    return this.#shortLived.deleteSession(tokenHash);
  }

  putDashboardSession(session: DashboardSession) {
    return this.#shortLived.putDashboardSession(session);
  }

  getDashboardSession(idHash: string) {
    return this.#shortLived.getDashboardSession(idHash);
  }

  deleteDashboardSession(idHash: string) {
    return this.#shortLived.deleteDashboardSession(idHash);
  }

  /**
   * Runs `fn` holding a session advisory lock on `name`, across every instance on the database
   * (see AdvisoryLocks.run: bounded by `ttlMs`, released at once if the holder crashes). Reads made
   * by `fn` bypass the cache.
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(name, ttlMs, fn);
  }

  /** See postgres/reseal.ts: batched, compare-and-set on the ciphertext, safe while servers run. */
  resealAll(onProgress?: (done: number, total: number) => void): Promise<{ resealed: number; total: number }> {
    return resealAll(this.#pool, this.#codec, {
      integration: (row) => this.#integrations.open(row),
      connection: (row) => this.#connections.open(row),
      flow: (stored) => this.#shortLived.openFlow(stored),
    }, onProgress);
  }

  /** For tests and metrics: how many decrypted records are held in memory. */
  get cacheStats(): { connections: number; integrations: number; listening: boolean } {
    return { connections: this.#connectionCache.size, integrations: this.#integrationCache.size, listening: this.#changes.listening };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#changes.close();
      await Promise.all([this.#pool.end(), this.#lockPool.end()]);
    })();
    return this.#closing;
  }
}
