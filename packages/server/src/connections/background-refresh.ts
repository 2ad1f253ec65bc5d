import type { Logger } from '../log.ts';
import { refreshStale } from '../store/status.ts';
import type { RefreshCursor, Store } from '../store/types.ts';
import type { ConnectionService } from './service.ts';

/** Connections chosen (and decrypted) per store query. */
const BATCH = 500;

export interface PassResult {
  readonly refreshed: number;
  readonly failed: number;
  /** Chosen, but refreshed meanwhile by another instance (or a read): left alone. */
  readonly skipped: number;
  /** Connections the store chose and decrypted for this pass. */
  readonly examined: number;
}

/**
 * Refreshes connections whose credentials have not been renewed for a while, so refresh tokens
 * that expire when unused (Google after months, Xero after 60 days, ...) stay alive even when the
 * app reads no token. One pass at a time, one connection at a time, off when the interval is 0.
 *
 * The store picks the due connections by index, in batches (connections that are not due are
 * never decrypted). Several instances may run passes at once: each connection is refreshed under
 * its refresh lock after re-checking that it is still due, so one pass (on any instance) renews it
 * and the others skip it; nothing is forced.
 */
export class BackgroundRefresh {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PassResult> | undefined;

  constructor(
    private readonly store: Store,
    private readonly connections: ConnectionService,
    private readonly options: { readonly intervalMs: number; readonly afterMs: number; readonly log: Logger; readonly now?: () => number },
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.runOnce(), this.options.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass; returns what it did. A pass already running is joined, not doubled. */
  runOnce(): Promise<PassResult> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #pass(): Promise<PassResult> {
    const now = this.options.now ?? Date.now;
    // Fixed for the pass: what this pass renews is no longer due by it, so a batch never repeats.
    const obtainedBefore = now() - this.options.afterMs;
    let refreshed = 0;
    let failed = 0;
    let skipped = 0;
    let examined = 0;
    let after: RefreshCursor | null = null;
    do {
      const batch = await this.store.listRefreshDue({ obtainedBefore, now: now(), after, limit: BATCH });
      examined += batch.connections.length;
      for (const c of batch.connections) {
        try {
          const done = await this.connections.refreshIfDue(c.provider_config_key, c.connection_id, (latest) => refreshStale(latest, obtainedBefore, now()));
          if (done === 'refreshed') refreshed++;
          else skipped++;
        } catch {
          failed++; // recorded on the connection (and reported by webhook) by the refresh itself
        }
      }
      after = batch.next;
    } while (after);
    if (refreshed + failed > 0) this.options.log.info('background refresh', { refreshed, failed, skipped });
    return { refreshed, failed, skipped, examined };
  }
}
