/** A decrypted record and the ciphertext it came from (every write seals anew: same ciphertext, same row). */
export interface Cached<T> {
  readonly rec: T;
  readonly sealed: string;
}

/** A read or write in flight whose result may go into the cache; stale once the key was invalidated meanwhile. */
export interface Fill {
  stale: boolean;
}

/**
 * Decrypted records by key, bounded (least recently used dropped first), and only kept while the
 * store LISTENs for other instances' changes (a connection is also confirmed on each read: see
 * PostgresConnections.get).
 *
 * A result enters the cache only if nothing invalidated its key since the read (or write) began:
 * a notification that overtakes a slow read must not be undone by that read's older row.
 */
export class RecordCache<T> {
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
