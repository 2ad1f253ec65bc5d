import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { StoreError } from '../json-file.ts';
import { KeyedQueue } from '../keyed-queue.ts';

/**
 * Named locks across every instance on the database: PostgreSQL session advisory locks, each held
 * on a session of its own pool while the holder runs.
 */
export class AdvisoryLocks {
  readonly #queue = new KeyedQueue();
  /** Set while `fn` of run() executes: its reads must see every commit made before the lock was taken. */
  readonly #holding = new AsyncLocalStorage<true>();

  constructor(private readonly pool: pg.Pool) {}

  /** Whether the caller runs inside run()'s `fn` (then reads go to the database, not the cache). */
  get held(): boolean {
    return this.#holding.getStore() === true;
  }

  /**
   * Runs `fn` holding a session advisory lock on `name`, across every instance on the database.
   * Callers in this process queue locally first (one database session per name at a time). The
   * wait for another instance's holder is bounded by `ttlMs` (then a StoreError); a holder that
   * crashes loses its session, which releases the lock at once.
   */
  run<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(name, async () => {
      const client = await this.pool.connect();
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
          return await this.#holding.run(true, fn);
        } finally {
          // If the unlock fails, the session is ended below, which releases the lock as well.
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch((e: Error) => (broken = e));
        }
      } finally {
        client.release(broken);
      }
    });
  }
}
