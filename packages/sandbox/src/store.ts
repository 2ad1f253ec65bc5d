// A small in-memory storage adapter, one per sandbox instance.
//
// oidc-provider ships its own in-memory adapter; this one exists so that each sandbox owns its data
// (close() drops it), nothing is evicted by a size cap during a long demo, and the provider does not
// print its "development-only adapter" warning. Entries expire exactly at their TTL (the sandbox
// runs with clockTolerance 0).
import type { Adapter, AdapterPayload } from 'oidc-provider';

/** Models whose entries belong to a grant and are removed by revokeByGrantId. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

interface Entry {
  payload: AdapterPayload;
  expiresAt: number; // epoch ms, Infinity when the entry has no TTL
}

export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #byUid = new Map<string, string>(); // Session uid -> Session id
  readonly #byUserCode = new Map<string, string>(); // userCode -> DeviceCode id
  readonly #grants = new Map<string, Set<string>>(); // grantId -> entry keys
  readonly #sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 60_000) {
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.#sweeper.unref();
  }

  /** A factory in the form oidc-provider's `adapter` option expects. */
  readonly factory = (model: string): Adapter => this.#adapter(model);

  get size(): number {
    return this.#entries.size;
  }

  /** Removes expired entries. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#delete(key);
    }
  }

  /** Drops everything and stops the sweeper. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#entries.clear();
    this.#byUid.clear();
    this.#byUserCode.clear();
    this.#grants.clear();
  }

  #get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#delete(key);
      return undefined;
    }
    return entry;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    const { payload } = entry;
    if (payload.uid !== undefined && this.#byUid.get(payload.uid) === key) this.#byUid.delete(payload.uid);
    if (payload.userCode !== undefined && this.#byUserCode.get(payload.userCode) === key) {
      this.#byUserCode.delete(payload.userCode);
    }
    if (payload.grantId !== undefined) {
      const members = this.#grants.get(payload.grantId);
      members?.delete(key);
      if (members?.size === 0) this.#grants.delete(payload.grantId);
    }
  }

  #adapter(model: string): Adapter {
    const keyFor = (id: string) => `${model}:${id}`;
    const read = (key: string | undefined): AdapterPayload | undefined => {
      if (key === undefined) return undefined;
      const entry = this.#get(key);
      // A copy, as a database would return: the provider must not change stored data by accident.
      return entry === undefined ? undefined : structuredClone(entry.payload);
    };

    return {
      upsert: async (id, payload, expiresIn) => {
        const key = keyFor(id);
        this.#delete(key);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
        this.#entries.set(key, { payload: structuredClone(payload), expiresAt });
        if (model === 'Session' && payload.uid !== undefined) this.#byUid.set(payload.uid, key);
        if (payload.userCode !== undefined) this.#byUserCode.set(payload.userCode, key);
        if (GRANTABLE.has(model) && payload.grantId !== undefined) {
          let members = this.#grants.get(payload.grantId);
          if (members === undefined) {
            members = new Set();
            this.#grants.set(payload.grantId, members);
          }
          members.add(key);
        }
      },
      find: async (id) => read(keyFor(id)),
      findByUid: async (uid) => read(this.#byUid.get(uid)),
      findByUserCode: async (userCode) => read(this.#byUserCode.get(userCode)),
      consume: async (id) => {
        const entry = this.#get(keyFor(id));
        if (entry !== undefined) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#delete(keyFor(id));
      },
      revokeByGrantId: async (grantId) => {
        const members = this.#grants.get(grantId);
        if (members === undefined) return;
        for (const key of [...members]) this.#delete(key);
        this.#grants.delete(grantId);
      },
    };
  }
}
