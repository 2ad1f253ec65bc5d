import { open as openFile, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { GroupCommit } from './group-commit.ts';
import { MemoizedJson } from './json-pieces.ts';

/** Bytes per write when the text comes in pieces. */
const CHUNK_BYTES = 1024 * 1024;

/** The part of `fs/promises.open` the adapter uses; tests inject a handle that writes short. */
export type OpenFile = (path: string, flags: string, mode?: number) => Promise<Pick<FileHandle, 'write' | 'sync' | 'stat' | 'close'>>;

/**
 * A lowdb adapter for a JSON file whose acknowledged writes survive a crash or a power loss.
 *
 * lowdb's DataFile (steno) writes a temp file and renames it without fsync: after a power loss the
 * rename may reach the disk before the data (an empty or torn file) or not at all (an acknowledged
 * write is gone), and its temp name is the same for every process. Here each write goes to a
 * per-process temp file, is fsynced, renamed over the target, and the directory is fsynced.
 *
 * Group commit: while one write runs, the writes asked for meanwhile wait and go to disk together
 * as one (the latest data), so a burst of N changes costs about two file writes, not N.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly #path: string;
  readonly #tmp: string;
  readonly #commits = new GroupCommit<T>((data) => this.#writeSynced(this.#serialize(data)));

  readonly #serialize: (data: T) => string | Iterable<string | Uint8Array>;
  readonly #open: OpenFile;

  /**
   * `serialize` defaults to MemoizedJson: the text of JSON.stringify in pieces, each record of the
   * data's top-level arrays encoded once per object (so the data's records must never be changed in
   * place). Pieces are written in chunks, so no write builds one huge string (a long, blocking
   * encode and a large garbage collection) however big the store grows.
   */
  constructor(path: string, options: { serialize?: (data: T) => string | Iterable<string | Uint8Array>; open?: OpenFile } = {}) {
    this.#path = path;
    this.#open = options.open ?? openFile;
    const json = new MemoizedJson();
    this.#serialize = options.serialize ?? ((data) => json.pieces(data));
    this.#tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return JSON.parse(text) as T;
  }

  /** Group commit (as steno): while a write runs, later calls wait and only the latest data is written next. */
  write(data: T): Promise<void> {
    return this.#commits.write(data);
  }

  async #writeSynced(text: string | Iterable<string | Uint8Array>): Promise<void> {
    try {
      const file = await this.#open(this.#tmp, 'w', 0o600); // the mode the target gets by the rename
      try {
        let written = 0;
        if (typeof text === 'string') written = await writeAll(file, Buffer.from(text, 'utf8'));
        else {
          // Pieces are copied into one buffer and written a chunk at a time.
          const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
          let filled = 0;
          const flush = async () => {
            if (filled > 0) written += await writeAll(file, chunk.subarray(0, filled));
            filled = 0;
          };
          for (const piece of text) {
            const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
            if (filled + bytes.length > CHUNK_BYTES) await flush();
            if (bytes.length > CHUNK_BYTES) written += await writeAll(file, bytes);
            else {
              chunk.set(bytes, filled);
              filled += bytes.length;
            }
          }
          await flush();
        }
        await file.sync(); // the bytes are on disk before any name points at them
        // The file that replaces the database must be whole: a full disk must never rename a short file into place.
        const { size } = await file.stat();
        if (size !== written) throw Object.assign(new Error(`${this.#tmp}: ${size} bytes on disk, ${written} written`), { code: 'EIO' });
      } finally {
        await file.close();
      }
      await rename(this.#tmp, this.#path); // readers see the old file or the new one, never a mix
    } catch (e) {
      await rm(this.#tmp, { force: true }).catch(() => undefined);
      throw e;
    }
    await syncDir(dirname(this.#path)); // the rename itself is durable only once its directory is
  }
}

/**
 * Writes every byte of `bytes`. A write may report fewer bytes than asked (a full disk often does
 * this once, before it answers ENOSPC) without throwing; the rest is written by the next call.
 */
export async function writeAll(file: Pick<FileHandle, 'write'>, bytes: Uint8Array, position?: number): Promise<number> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset, position === undefined ? null : position + offset);
    if (bytesWritten <= 0) throw Object.assign(new Error('No space left on device (a write made no progress)'), { code: 'ENOSPC' });
    offset += bytesWritten;
  }
  return bytes.length;
}

export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // a directory cannot be opened for fsync there
  const handle = await openFile(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
