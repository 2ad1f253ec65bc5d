import { randomBytes } from 'node:crypto';
import { currentRequestId, type Logger } from '../log.ts';
import { activityId, type ActivityEntry, type ActivityQuery, type ActivityStore, type NewActivity } from './types.ts';

export interface ActivityLogOptions {
  /** Entries older than this are deleted (KEYWAY_LOG_RETENTION_DAYS). */
  readonly retentionMs: number;
  /** At most this many entries are kept (KEYWAY_LOG_MAX_ENTRIES). */
  readonly maxEntries: number;
  /** Entries waiting to be written beyond which new ones are dropped (and counted). Default 10 000. */
  readonly maxQueue?: number;
  /** Wait between a first queued entry and its write, gathering a batch. Default 100 ms. */
  readonly flushDelayMs?: number;
  /** How often old entries are deleted. Default one minute. */
  readonly trimEveryMs?: number;
  /** The clock of entries and of retention; injected by tests. */
  readonly now?: () => number;
  readonly log: Logger;
}

/** Longest message or error text kept: an entry is a line for a person, not a dump. */
const MAX_TEXT = 500;
/** Tells apart the entries of instances sharing one database (made once: per entry it would cost more than the rest). */
const INSTANCE = randomBytes(3).toString('hex');
const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);

/** A path as the log shows it: no query string, no fragment (either may carry a key). */
export function pathOnly(path: string): string {
  return path.split(/[?#]/, 1)[0]!;
}

/** Nothing to record: the log when no store is wired (embedders, unit tests of other modules). */
export interface ActivitySink {
  record(entry: NewActivity): void;
}
export const NO_ACTIVITY: ActivitySink = { record: () => undefined };

/**
 * The activity log: `record` is synchronous and O(1) (it only queues), so no request or flow waits
 * on a write. A background flush writes the queue in batches; when the writer falls behind (a slow
 * disk, a database outage) the queue stays bounded and new entries are dropped and counted rather
 * than held in memory. A timer deletes what is past retention.
 */
export class ActivityLog implements ActivitySink {
  readonly #store: ActivityStore;
  readonly #options: Required<Omit<ActivityLogOptions, 'log'>> & { log: Logger };
  #queue: ActivityEntry[] = [];
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #trimTimer: NodeJS.Timeout | undefined;
  #dropped = 0;
  #lastMs = 0;
  #seq = 0;
  #closed = false;
  /** Entries dropped since the writer last succeeded: one warning per outage, not one per batch. */
  #failedSince = 0;

  constructor(store: ActivityStore, options: ActivityLogOptions) {
    this.#store = store;
    this.#options = { maxQueue: 10_000, flushDelayMs: 100, trimEveryMs: 60_000, now: Date.now, ...options };
  }

  /** Entries dropped because the queue was full or their write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Entries waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Starts the periodic deletion of old entries (the first one at once). */
  start(): void {
    if (this.#trimTimer) return;
    void this.trim();
    this.#trimTimer = setInterval(() => void this.trim(), this.#options.trimEveryMs).unref();
  }

  record(entry: NewActivity): void {
    try {
      if (this.#closed) return;
      if (this.#queue.length >= this.#options.maxQueue) {
        this.#dropped++;
        return;
      }
      this.#queue.push(this.#complete(entry));
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#options.flushDelayMs).unref();
    } catch {
      // Recording never fails a caller.
    }
  }

  /** Writes everything queued so far; resolves when it is stored (or counted as dropped). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#flushing = this.#store.append(batch).then(
      () => {
        if (this.#failedSince === 0) return;
        this.#options.log.info('activity log writes again', { dropped: this.#failedSince });
        this.#failedSince = 0;
      },
      (e: unknown) => {
        this.#dropped += batch.length;
        if (this.#failedSince === 0) this.#options.log.warn('activity entries dropped: the write failed', { entries: batch.length, error: String((e as Error).message) });
        this.#failedSince += batch.length;
      },
    );
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Deletes entries past retention and beyond the maximum count. */
  async trim(): Promise<number> {
    try {
      return await this.#store.trim(this.#options.now() - this.#options.retentionMs, this.#options.maxEntries);
    } catch (e) {
      this.#options.log.warn('activity trim failed', { error: String((e as Error).message) });
      return 0;
    }
  }

  query(q: ActivityQuery): Promise<ActivityEntry[]> {
    return this.#store.query(q);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#trimTimer);
    await this.flush();
    await this.#store.close();
  }

  #complete(e: NewActivity): ActivityEntry {
    // Ids increase within this process even when the clock stands still or steps back.
    const now = this.#options.now();
    const ms = Math.max(now, this.#lastMs);
    this.#seq = ms === this.#lastMs ? this.#seq + 1 : 0;
    this.#lastMs = ms;
    const tail = `${this.#seq.toString(36).padStart(4, '0')}${INSTANCE}`;
    const requestId = currentRequestId();
    return {
      id: activityId(ms, tail),
      at: new Date(now).toISOString(),
      type: e.type,
      action: e.action,
      outcome: e.outcome,
      provider_config_key: e.provider_config_key ?? null,
      connection_id: e.connection_id ?? null,
      ...(requestId !== undefined && { request_id: requestId }),
      message: clip(e.message),
      ...(e.error && {
        error: { code: e.error.code, message: clip(e.error.message), ...(e.error.provider_error !== undefined && { provider_error: clip(e.error.provider_error) }) },
      }),
      ...(e.http && { http: { ...e.http, path: clip(pathOnly(e.http.path)) } }),
    };
  }
}
