import type { Logger } from '../log.ts';
import type { Connection, Store } from '../store/types.ts';
import { EXHAUSTED_AFTER_DAYS, type ConnectionService } from './service.ts';

/**
 * Refreshes connections whose credentials have not been renewed for a while, so refresh tokens
 * that expire when unused (Google after months, Xero after 60 days, ...) stay alive even when the
 * app reads no token. One pass at a time, one connection at a time, off when the interval is 0.
 */
export class BackgroundRefresh {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(
    private readonly store: Store,
    private readonly connections: ConnectionService,
    private readonly options: { readonly intervalMs: number; readonly afterMs: number; readonly log: Logger },
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
  runOnce(): Promise<{ refreshed: number; failed: number }> {
    const pass = (this.#running as Promise<{ refreshed: number; failed: number }> | undefined) ?? this.#pass().finally(() => (this.#running = undefined));
    this.#running = pass;
    return pass;
  }

  async #pass(): Promise<{ refreshed: number; failed: number }> {
    const due = (await this.store.listConnections({ limit: Number.MAX_SAFE_INTEGER, offset: 0 })).connections.filter((c) => this.#due(c));
    let refreshed = 0;
    let failed = 0;
    for (const c of due) {
      try {
        await this.connections.getFresh(c.provider_config_key, c.connection_id, true);
        refreshed++;
      } catch {
        failed++; // recorded on the connection (and reported by webhook) by the refresh itself
      }
    }
    if (due.length > 0) this.options.log.info('background refresh', { refreshed, failed });
    return { refreshed, failed };
  }

  #due(c: Connection): boolean {
    const f = c.last_refresh_failure;
    const creds = c.credentials;
    // Only refresh tokens go stale unused; client-credentials tokens are minted on demand.
    if (creds.type !== 'OAUTH2' || !creds.refresh_token) return false;
    if (f && (f.days.length >= EXHAUSTED_AFTER_DAYS || Date.parse(f.backoff_until) > Date.now())) return false;
    const obtained = Date.parse(creds.obtained_at ?? c.updated_at);
    return Date.now() - obtained >= this.options.afterMs;
  }
}
