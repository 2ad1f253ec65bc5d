import { appendFile, open, readFile, rename } from 'node:fs/promises';
import { matches, type ActivityEntry, type ActivityQuery, type ActivityStore } from './types.ts';

/**
 * The activity log of the JSON-file store: a JSON-lines side file beside the database (never the
 * durable connections file, whose every write is a full, fsynced rewrite), with the entries kept in
 * memory for queries. Appends go to the end of the file; a trim rewrites it (to a temporary file,
 * then renamed), so the file holds at most about `maxEntries` lines plus what came since the last trim.
 * Losing the tail of this file in a crash loses log lines only, so appends are not fsynced.
 */
export class JsonLinesActivityStore implements ActivityStore {
  /** Ascending by id. */
  #entries: ActivityEntry[];
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    entries: ActivityEntry[],
    private readonly maxEntries: number,
  ) {
    this.#entries = entries;
  }

  /** The side file of a database file: `db.json` -> `db.activity.jsonl`. */
  static pathFor(dbPath: string): string {
    return `${dbPath.replace(/\.json$/, '')}.activity.jsonl`;
  }

  static async open(path: string, options: { maxEntries: number }): Promise<JsonLinesActivityStore> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const entries: ActivityEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as ActivityEntry;
        if (typeof e?.id === 'string' && typeof e.at === 'string') entries.push(e);
      } catch {
        // A line cut by a crash: skipped.
      }
    }
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return new JsonLinesActivityStore(path, entries, options.maxEntries);
  }

  append(entries: readonly ActivityEntry[]): Promise<void> {
    return this.#serial(async () => {
      const last = this.#entries.at(-1);
      this.#entries.push(...entries);
      if (last && entries.length > 0 && entries[0]!.id < last.id) this.#entries.sort((a, b) => (a.id < b.id ? -1 : 1));
      // Past the maximum by a tenth: trim now rather than wait for the timer (memory stays bounded).
      if (this.#entries.length > this.maxEntries * 1.1) {
        this.#entries = this.#entries.slice(-this.maxEntries);
        await this.#rewrite();
      } else {
        await appendFile(this.path, entries.map((e) => JSON.stringify(e) + '\n').join(''), { mode: 0o600 });
      }
    });
  }

  async query(q: ActivityQuery): Promise<ActivityEntry[]> {
    const found: ActivityEntry[] = [];
    if (q.after !== undefined) {
      // The oldest `limit` entries above the cursor, so a follower sees every one in turn.
      for (const e of this.#entries) {
        if (!matches(e, q)) continue;
        found.push(e);
        if (found.length === q.limit) break;
      }
      return found.reverse();
    }
    for (let i = this.#entries.length - 1; i >= 0 && found.length < q.limit; i--) {
      if (matches(this.#entries[i]!, q)) found.push(this.#entries[i]!);
    }
    return found;
  }

  trim(before: number, maxEntries: number): Promise<number> {
    return this.#serial(async () => {
      const kept = this.#entries.filter((e) => Date.parse(e.at) >= before).slice(-maxEntries);
      const removed = this.#entries.length - kept.length;
      this.#entries = kept;
      if (removed > 0) await this.#rewrite();
      return removed;
    });
  }

  async count(): Promise<number> {
    return this.#entries.length;
  }

  async close(): Promise<void> {
    await this.#chain;
  }

  async #rewrite(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(this.#entries.map((e) => JSON.stringify(e) + '\n').join(''));
    } finally {
      await file.close();
    }
    await rename(tmp, this.path);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
