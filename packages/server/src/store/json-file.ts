import { chmod, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { matchesTags } from '../connections/tags.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { JournaledJsonFile } from './journaled-file.ts';
import { RecordCodec, type StoredConnection, type StoredIntegration } from './codec.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { ShortLivedState } from './short-lived.ts';
import { RefreshIndex } from './refresh-index.ts';
import { compareConnections, compareIntegrations, connectionStatus, matchesSearch } from './status.ts';
import type { ConnectSession, Connection, ConnectionFilter, ConnectionUpdate, DashboardSession, FlowOutcomeRecord, FlowState, Integration, RefreshDueQuery, Store, WriteResult } from './types.ts';

/**
 * The file: durable records only. Files written before flows, outcomes and sessions moved to memory
 * still have those fields; they are ignored on load and gone from the next write.
 */
interface FileData {
  version: 1;
  integrations: StoredIntegration[];
  connections: StoredConnection[];
}

/** The file's collections and the key of each record, for its journal (see JournaledJsonFile). */
export const FILE_COLLECTIONS = {
  integrations: (i: StoredIntegration) => i.unique_key,
  connections: (c: StoredConnection) => JSON.stringify([c.provider_config_key, c.connection_id]),
};

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** A record in memory: plaintext, and the sealed form the file holds (frozen: the adapter encodes each once). */
type Entry<T, S> = { readonly rec: T; readonly stored: S };
const entry = <T, S extends object>(rec: T, stored: S): Entry<T, S> => ({ rec, stored: Object.freeze(stored) });

/**
 * The default store: one JSON file through lowdb, for one server process.
 *
 * Reads are served from Maps built at load (user-chosen ids are never object keys, so
 * `__proto__` or `constructor` cannot reach a prototype). Each change is applied in memory,
 * written, and undone if the write fails, so memory never runs ahead of the disk. lowdb's `Low`
 * holds the file's data (the sealed integrations and connections) and writes it through
 * JournaledJsonFile: a change is a short fsynced append to the file's journal, the file itself is
 * rewritten whole (DurableJsonFile) now and then; group-committed, durable before acknowledged.
 * Flows, outcomes and connect sessions stay in memory (ShortLivedState): never in the file.
 */
export class JsonFileStore implements Store {
  readonly #integrations = new Map<string, Entry<Integration, StoredIntegration>>();
  readonly #connections = new Map<string, Map<string, Entry<Connection, StoredConnection>>>();
  readonly #shortLived = new ShortLivedState();
  readonly #refreshIndex = new RefreshIndex();
  /** Writes to one connection run one after another. */
  readonly #writes = new KeyedQueue();
  readonly #locks = new KeyedQueue();
  readonly #codec: RecordCodec;
  readonly #db: Low<FileData>;
  readonly #file: JournaledJsonFile<FileData>;
  readonly #lockPath: string;

  private constructor(path: string, codec: RecordCodec) {
    this.#codec = codec;
    this.#file = new JournaledJsonFile<FileData>(path, FILE_COLLECTIONS);
    this.#db = new Low<FileData>(this.#file, emptyData());
    this.#lockPath = `${path}.lock`;
  }

  static async open(path: string, keyring: Keyring): Promise<JsonFileStore> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const store = new JsonFileStore(path, new RecordCodec(keyring));
    await store.#lock(path);
    await removeStaleTempFiles(path); // left by a process killed mid-write; we hold the lock now
    try {
      await store.#load(path);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** One process per file: two lowdb writers on one file share a temp file and lose writes. */
  async #lock(path: string): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(this.#lockPath, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`KEYWAY_DB_PATH ${path}: cannot create lock file (${(e as Error).message})`);
        const pid = Number((await readFile(this.#lockPath, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
          throw new StoreError(`KEYWAY_DB_PATH ${path} is in use by another Keyway server (pid ${pid}); run one process per JSON file`);
        }
        await rm(this.#lockPath, { force: true }); // left by a process that died
      }
    }
    throw new StoreError(`KEYWAY_DB_PATH ${path}: could not take the lock`);
  }

  async #load(path: string): Promise<void> {
    let data: unknown;
    const existed = await stat(path).then(() => true, () => false);
    try {
      await this.#db.read();
      data = this.#db.data;
    } catch (e) {
      throw new StoreError(`KEYWAY_DB_PATH ${path} is not a readable Keyway database: ${(e as Error).message}`);
    }
    if (!isFileData(data)) throw new StoreError(`KEYWAY_DB_PATH ${path} is not a Keyway database (unexpected content)`);
    try {
      for (const s of data.integrations) this.#integrations.set(s.unique_key, entry(await this.#codec.openIntegration(s), s));
      for (const s of data.connections) {
        const rec = await this.#codec.openConnection(s);
        this.#connectionsOf(s.provider_config_key).set(s.connection_id, entry(rec, s));
        this.#refreshIndex.set(rec);
      }
    } catch (e) {
      throw new StoreError(`KEYWAY_DB_PATH ${path}: cannot decrypt its records with KEYWAY_ENCRYPTION_KEY (${(e as Error).message}); add the old key after the new one to rotate`);
    }
    this.#db.data = { version: 1, integrations: data.integrations, connections: data.connections };
    // Opening an existing file writes nothing (a server on a full disk still starts and serves
    // reads); a new database is written at once, so its file is there with its mode from the start.
    if (!existed) {
      await this.#persist().catch((e: NodeJS.ErrnoException) => {
        if (e?.code !== 'ENOSPC' && e?.code !== 'EDQUOT') throw e;
      });
    }
    await chmod(path, 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e?.code !== 'ENOENT') throw e; // a new database on a full disk: no file yet
    });
  }

  #connectionsOf(key: string): Map<string, Entry<Connection, StoredConnection>> {
    let m = this.#connections.get(key);
    if (!m) this.#connections.set(key, (m = new Map()));
    return m;
  }

  /** Writes the records as they are now (the Maps are the index; `Low`'s data is the file's content). */
  async #persist(): Promise<void> {
    this.#db.data = {
      version: 1,
      integrations: [...this.#integrations.values()].map((e) => e.stored),
      connections: [...this.#connections.values()].flatMap((m) => [...m.values()].map((e) => e.stored)),
    };
    await this.#db.write();
  }

  /** Applies a change, persists it, and undoes the change if the write fails. */
  async #commit(apply: () => () => void): Promise<void> {
    const undo = apply();
    try {
      await this.#persist();
    } catch (e) {
      undo();
      throw e;
    }
  }

  async getIntegration(uniqueKey: string) {
    return this.#integrations.get(uniqueKey)?.rec;
  }

  async listIntegrations() {
    return [...this.#integrations.values()].map((e) => e.rec).sort(compareIntegrations);
  }

  async putIntegration(integration: Integration) {
    const sealed = entry(integration, await this.#codec.sealIntegration(integration));
    await this.#commit(() => {
      const before = this.#integrations.get(integration.unique_key);
      this.#integrations.set(integration.unique_key, sealed);
      return () => (before ? this.#integrations.set(integration.unique_key, before) : this.#integrations.delete(integration.unique_key));
    });
  }

  async deleteIntegration(uniqueKey: string) {
    const before = this.#integrations.get(uniqueKey);
    if (!before) return false;
    await this.#commit(() => {
      const connections = this.#connections.get(uniqueKey);
      this.#integrations.delete(uniqueKey);
      this.#connections.delete(uniqueKey);
      this.#refreshIndex.delete(uniqueKey);
      return () => {
        this.#integrations.set(uniqueKey, before);
        if (connections) this.#connections.set(uniqueKey, connections);
        for (const { rec } of connections?.values() ?? []) this.#refreshIndex.set(rec);
      };
    });
    return true;
  }

  async getConnection(providerConfigKey: string, connectionId: string) {
    return this.#connections.get(providerConfigKey)?.get(connectionId)?.rec;
  }

  async listConnections(filter: ConnectionFilter) {
    const groups = filter.provider_config_key === undefined
      ? [...this.#connections.values()]
      : [this.#connections.get(filter.provider_config_key) ?? new Map()];
    const all = groups.flatMap((m) => [...m.values()].map((e) => e.rec)).filter(
      (c) =>
        (filter.connection_id === undefined || c.connection_id === filter.connection_id) &&
        (filter.end_user_id === undefined || c.end_user?.id === filter.end_user_id) &&
        (filter.tags === undefined || matchesTags(c.tags, filter.tags)) &&
        (filter.search === undefined || matchesSearch(c, filter.search)) &&
        (filter.status === undefined || connectionStatus(c) === filter.status),
    );
    all.sort(compareConnections);
    return { connections: all.slice(filter.offset, filter.offset + filter.limit), total: all.length };
  }

  writeConnection(providerConfigKey: string, connectionId: string, update: ConnectionUpdate): Promise<WriteResult> {
    return this.#writes.run(JSON.stringify([providerConfigKey, connectionId]), async (): Promise<WriteResult> => {
      const before = this.#connections.get(providerConfigKey)?.get(connectionId);
      const next = update(before?.rec);
      if (next === null) return { connection: before?.rec, result: 'unchanged' };
      if (next.provider_config_key !== providerConfigKey || next.connection_id !== connectionId) {
        throw new Error("writeConnection: the update changed the connection's identity");
      }
      const sealed = entry(next, await this.#codec.sealConnection(next));
      await this.#commit(() => {
        const group = this.#connectionsOf(providerConfigKey);
        group.set(connectionId, sealed);
        this.#refreshIndex.set(next);
        return () => {
          if (before) {
            group.set(connectionId, before);
            this.#refreshIndex.set(before.rec);
          } else {
            group.delete(connectionId);
            this.#refreshIndex.delete(providerConfigKey, connectionId);
          }
        };
      });
      return { connection: next, result: before ? 'overridden' : 'created' };
    });
  }

  async deleteConnection(providerConfigKey: string, connectionId: string) {
    const group = this.#connections.get(providerConfigKey);
    const before = group?.get(connectionId);
    if (!group || !before) return false;
    await this.#commit(() => {
      group.delete(connectionId);
      this.#refreshIndex.delete(providerConfigKey, connectionId);
      return () => {
        group.set(connectionId, before);
        this.#refreshIndex.set(before.rec);
      };
    });
    return true;
  }

  /** From the in-memory index of connections with a refresh token (RefreshIndex); nothing to decrypt. */
  async listRefreshDue(query: RefreshDueQuery) {
    return this.#refreshIndex.due(query);
  }

  // Flows, outcomes and sessions: memory only (see ShortLivedState).

  async putFlow(flow: FlowState) {
    this.#shortLived.putFlow(flow);
  }

  async takeFlow(stateHash: string) {
    return this.#shortLived.takeFlow(stateHash);
  }

  async putOutcome(outcome: FlowOutcomeRecord) {
    this.#shortLived.putOutcome(outcome);
  }

  async getOutcome(flowIdHash: string) {
    return this.#shortLived.getOutcome(flowIdHash);
  }

  async putSession(session: ConnectSession) {
    this.#shortLived.putSession(session);
  }

  async getSession(tokenHash: string) {
    return this.#shortLived.getSession(tokenHash);
  }

  async deleteSession(tokenHash: string) {
    return this.#shortLived.deleteSession(tokenHash);
  }

  async putDashboardSession(session: DashboardSession) {
    this.#shortLived.putDashboardSession(session);
  }
  async getDashboardSession(idHash: string) {
    return this.#shortLived.getDashboardSession(idHash);
  }
  async deleteDashboardSession(idHash: string) {
    return this.#shortLived.deleteDashboardSession(idHash);
  }

  /**
   * Re-seals every secret under the current key (the first of KEYWAY_ENCRYPTION_KEY), so older
   * keys can be dropped afterwards. Run with the server stopped (the file lock makes sure).
   */
  async resealAll(onProgress?: (done: number, total: number) => void): Promise<{ resealed: number; total: number }> {
    const integrations = [...this.#integrations.values()];
    const connections = [...this.#connections.values()].flatMap((m) => [...m.values()]);
    const total = integrations.length + connections.length;
    let done = 0;
    const step = () => onProgress?.(++done, total);
    for (const { rec } of integrations) {
      this.#integrations.set(rec.unique_key, entry(rec, await this.#codec.sealIntegration(rec)));
      step();
    }
    for (const { rec } of connections) {
      this.#connectionsOf(rec.provider_config_key).set(rec.connection_id, entry(rec, await this.#codec.sealConnection(rec)));
      step();
    }
    await this.#persist();
    return { resealed: done, total };
  }

  /** One process per file (see #lock), so an in-process queue is the whole lock. */
  withLock<T>(name: string, _ttlMs: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(name, fn);
  }

  async close() {
    // The file alone then holds everything (tools that read it need no journal); best effort.
    await this.#file.compact(this.#db.data).catch(() => undefined);
    await rm(this.#lockPath, { force: true });
  }
}

async function removeStaleTempFiles(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (f.startsWith(prefix) && f.endsWith('.tmp')) await rm(join(dir, f), { force: true });
  }
}

function emptyData(): FileData {
  return { version: 1, integrations: [], connections: [] };
}

function isFileData(d: unknown): d is FileData {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return o.version === 1 && Array.isArray(o.integrations) && Array.isArray(o.connections);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
