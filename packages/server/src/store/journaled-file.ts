import { randomBytes } from 'node:crypto';
import { open as openFile, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { DurableJsonFile, syncDir, writeAll } from './durable-file.ts';
import { GroupCommit } from './group-commit.ts';
import { MemoizedJson } from './json-pieces.ts';

/** How to name the records of each journaled collection (a top-level array of the data). */
export type CollectionKeys = Readonly<Record<string, (record: never) => string>>;

/** The field of the file that names its journal (the adapter's, never in the data it returns). */
const JOURNAL_FIELD = 'journal';

/** The journal may grow to this many bytes, or the main file's size if larger, before a full rewrite. */
const MIN_JOURNAL_BYTES = 1024 * 1024;

type Line = { readonly c: string; readonly k: string; readonly v: object | null };
/** One collection as it is on disk: by key, and the set of its record objects (for identity checks). */
type OnDisk = { readonly byKey: Map<string, object>; readonly objects: Set<object> };

/**
 * A lowdb adapter that writes a change as a short, fsynced append to a journal beside the file,
 * not as a rewrite of the whole file: at 10,000 connections an upsert appends ~1 KB instead of
 * rewriting ~8 MB. The file is rewritten whole (DurableJsonFile: temp file, fsync, rename) when the
 * journal outgrows it, after a failed append, and at close.
 *
 * - What changed is found by identity: the records of the journaled collections must be immutable
 *   (a changed record is a new object), as MemoizedJson needs too.
 * - Each rewrite gives the file a new random name for its journal (the `journal` field, removed on
 *   read) and the journal's first line repeats it: a journal left by a crash between a rewrite and
 *   the journal's reset names another file and is ignored, and copies (a backup of both) still match.
 * - A journal line counts once it ends with a newline: the torn tail of a crashed append was never
 *   acknowledged and is dropped; any other damage makes read() fail.
 * - Group commit as DurableJsonFile: changes given while a write runs go out together next.
 */
export class JournaledJsonFile<T extends object> implements Adapter<T> {
  readonly #path: string;
  readonly #journalPath: string;
  readonly #tmp: string;
  readonly #keys: CollectionKeys;
  readonly #json = new MemoizedJson();
  readonly #main: DurableJsonFile<T>;
  /** The records on disk (file + journal), per collection; null until read or written whole. */
  #last: Map<string, OnDisk> | null = null;
  /** The JSON of the data's fields that are not journaled collections (a change rewrites the file). */
  #rest = '';
  #mainBytes = 0;
  #journalBytes = 0;
  /** Changes in the journal (none: the file alone holds everything). */
  #entries = 0;
  /**
   * 'rewrite': the journal may end with a torn line (or the data's other fields changed), so the
   * next write rewrites the file whole; 'start': no journal for this file yet (missing or stale),
   * so the next write starts one; 'append': the journal is good.
   */
  #state: 'rewrite' | 'start' | 'append' = 'rewrite';
  /** The file's name for its journal (see JOURNAL_FIELD); empty for a file written without one. */
  #name = '';
  readonly #commits = new GroupCommit<T>((data) => this.#writeOnce(data));

  constructor(path: string, keys: CollectionKeys) {
    this.#path = path;
    this.#journalPath = `${path}.journal`;
    this.#tmp = join(dirname(path), `.${basename(path)}.journal.${process.pid}.tmp`);
    this.#keys = keys;
    this.#main = new DurableJsonFile<T>(path, { serialize: (data) => this.#json.pieces({ ...data, [JOURNAL_FIELD]: this.#name }) });
  }

  /** The journal's path, for tools that copy or remove the database. */
  get journalPath(): string {
    return this.#journalPath;
  }

  async read(): Promise<T | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return null; // a journal without its file is stale by construction (it is made after the file)
    }
    const data = JSON.parse(bytes.toString('utf8')) as T & { [JOURNAL_FIELD]?: unknown };
    this.#mainBytes = bytes.length;
    this.#name = typeof data[JOURNAL_FIELD] === 'string' ? data[JOURNAL_FIELD] : '';
    delete data[JOURNAL_FIELD];
    const journal = await readFile(this.#journalPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const end = journal.lastIndexOf('\n') + 1; // a torn last line was never acknowledged
    const lines = journal.slice(0, end).split('\n').slice(0, -1);
    const header = lines.length > 0 ? (JSON.parse(lines[0]!) as { base?: unknown }) : undefined;
    const current = this.#name !== '' && header?.base === this.#name;
    const maps = new Map<string, Map<string, object>>();
    for (const [name, key] of Object.entries(this.#keys) as [string, (record: object) => string][]) {
      maps.set(name, new Map((((data as Record<string, unknown>)[name] ?? []) as object[]).map((r) => [key(r), r])));
    }
    if (current) {
      for (let i = 1; i < lines.length; i++) {
        let line: Line;
        try {
          line = JSON.parse(lines[i]!) as Line;
        } catch (e) {
          throw new Error(`${this.#journalPath} line ${i + 1}: ${(e as Error).message}`);
        }
        const records = maps.get(line.c);
        if (!records) throw new Error(`${this.#journalPath} line ${i + 1}: unknown collection ${JSON.stringify(line.c)}`);
        if (line.v === null) records.delete(line.k);
        else records.set(line.k, line.v);
      }
      for (const [name, records] of maps) (data as Record<string, unknown>)[name] = [...records.values()];
    }
    this.#last = this.#index(data);
    this.#rest = this.#restOf(data);
    this.#journalBytes = current ? end : 0;
    this.#entries = current ? lines.length - 1 : 0;
    this.#state = this.#name === '' || (current && end !== journal.length) ? 'rewrite' : current ? 'append' : 'start';
    return data;
  }

  /** Group commit, as DurableJsonFile: while a write runs, later calls wait and only the latest data is written next. */
  write(data: T): Promise<void> {
    return this.#commits.write(data);
  }

  /** Rewrites the file whole and starts an empty journal (at close: the file alone then holds everything). */
  async compact(data: T): Promise<void> {
    if (this.#commits.busy || this.#entries === 0) return;
    await this.#rewrite(data);
  }

  async #writeOnce(data: T): Promise<void> {
    const changes = this.#state === 'rewrite' || this.#restOf(data) !== this.#rest ? null : this.#changes(data);
    if (changes === null || this.#journalBytes + changes.lines.length > Math.max(MIN_JOURNAL_BYTES, this.#mainBytes)) await this.#rewrite(data);
    else if (changes.lines.length > 0) {
      if (!(await this.#roomForRewriteAfter(changes.lines.length))) await this.#rewrite(data);
      else {
        if (this.#state === 'start') await this.#startJournal();
        await this.#append(changes.lines);
        changes.applied();
      }
    }
  }

  /**
   * The journal lines that turn what is on disk into `data`, as UTF-8 (empty when nothing changed),
   * and how to update the picture of the disk once they are written. Identity only, one pass over
   * the records: an object already on disk is unchanged; one that is not is new or replaces its key's
   * record; only when records went missing is there a second pass, to find the deleted keys.
   */
  #changes(data: T): { lines: Buffer; applied: () => void } {
    const out: string[] = [];
    const updates: [OnDisk, string, object | null][] = [];
    for (const [name, disk] of this.#last!) {
      const key = this.#keys[name]! as (record: object) => string;
      const rows = ((data as Record<string, unknown>)[name] ?? []) as object[];
      let unchanged = 0;
      let replaced = 0;
      const written = new Set<string>();
      for (const record of rows) {
        if (disk.objects.has(record)) {
          unchanged++;
          continue;
        }
        const k = key(record);
        written.add(k);
        if (disk.byKey.has(k)) replaced++;
        updates.push([disk, k, record]);
        out.push(JSON.stringify({ c: name, k, v: record }));
      }
      if (unchanged + replaced < disk.byKey.size) {
        const given = new Set(rows);
        for (const [k, record] of disk.byKey) {
          if (given.has(record) || written.has(k)) continue;
          updates.push([disk, k, null]);
          out.push(JSON.stringify({ c: name, k, v: null }));
        }
      }
    }
    return {
      lines: Buffer.from(out.length > 0 ? `${out.join('\n')}\n` : '', 'utf8'),
      applied: () => {
        for (const [disk, k, record] of updates) {
          const old = disk.byKey.get(k);
          if (old) disk.objects.delete(old);
          if (record) {
            disk.byKey.set(k, record);
            disk.objects.add(record);
          } else disk.byKey.delete(k);
        }
      },
    };
  }

  /**
   * Whether the disk keeps room for a rewrite after appending `bytes`. A rewrite is what frees the
   * journal's space; appending into that room would leave a full disk that deleting records cannot
   * free (a delete is an append too). Without that room, the write is a rewrite instead (which
   * fits, or fails with ENOSPC and changes nothing). As with whole-file writes, a full disk keeps
   * one file's worth of space free.
   */
  async #roomForRewriteAfter(bytes: number): Promise<boolean> {
    const fs = await statfs(dirname(this.#path)).catch(() => undefined);
    if (!fs) return true;
    return fs.bavail * fs.bsize - bytes >= this.#mainBytes + this.#journalBytes + bytes;
  }

  async #append(lines: Buffer): Promise<void> {
    const file = await openFile(this.#journalPath, 'r+');
    try {
      await writeAll(file, lines, this.#journalBytes);
      await file.datasync();
    } catch (e) {
      // A partial line must never have a later line glued to it: cut it off, or rewrite next time.
      await file.truncate(this.#journalBytes).catch(() => (this.#state = 'rewrite'));
      throw e;
    } finally {
      await file.close();
    }
    this.#journalBytes += lines.length;
    this.#entries += 1;
  }

  async #rewrite(data: T): Promise<void> {
    this.#state = 'rewrite'; // until the new journal is in place
    this.#name = randomBytes(12).toString('base64url');
    await this.#main.write(data);
    this.#mainBytes = (await stat(this.#path)).size;
    this.#last = this.#index(data);
    this.#rest = this.#restOf(data);
    this.#state = 'start';
    // The file now holds everything. An old journal names the old file and is ignored from here on;
    // if the new one cannot be made (a full disk), the next write tries again.
    await this.#startJournal().catch(() => undefined);
  }

  /** A new, empty journal for the file as it is (temp file, fsync, rename: never a journal without its header). */
  async #startJournal(): Promise<void> {
    const header = Buffer.from(`${JSON.stringify({ base: this.#name })}\n`, 'utf8');
    try {
      const file = await openFile(this.#tmp, 'w', 0o600);
      try {
        await writeAll(file, header, 0);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(this.#tmp, this.#journalPath);
    } catch (e) {
      await rm(this.#tmp, { force: true }).catch(() => undefined);
      throw e;
    }
    await syncDir(dirname(this.#path));
    this.#journalBytes = header.length;
    this.#entries = 0;
    this.#state = 'append';
  }

  #index(data: T): Map<string, OnDisk> {
    const index = new Map<string, OnDisk>();
    for (const [name, key] of Object.entries(this.#keys) as [string, (record: object) => string][]) {
      const rows = ((data as Record<string, unknown>)[name] ?? []) as object[];
      index.set(name, { byKey: new Map(rows.map((r) => [key(r), r])), objects: new Set(rows) });
    }
    return index;
  }

  #restOf(data: T): string {
    return JSON.stringify(Object.entries(data).filter(([k]) => !Object.hasOwn(this.#keys, k)));
  }
}
