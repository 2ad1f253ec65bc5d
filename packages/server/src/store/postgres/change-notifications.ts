import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PoolClient } from 'pg';

/**
 * NOTIFY channels. Payloads: `[config key, connection id, origin]` (connection id null: all of the
 * integration's), `[unique key, origin]`, or `*` (drop everything); origin is `<instance>:<write seq>`.
 */
export const CONNECTIONS_CHANNEL = 'keyway_connections';
export const INTEGRATIONS_CHANNEL = 'keyway_integrations';
/** The LISTEN connection is checked this often; a dead one is replaced (and the caches dropped). */
const HEARTBEAT_MS = 10_000;
const LISTEN_RETRY_DELAYS_MS = [100, 500, 1000, 2000, 5000] as const;
/** NOTIFY payloads must stay under 8000 bytes; a longer one becomes `*`. */
const MAX_PAYLOAD = 7000;
/** A write waits at most this long for its own NOTIFY to come back through LISTEN (see announced). */
const ECHO_TIMEOUT_MS = 1000;

/** What the store does with other instances' changes and with the LISTEN connection's state. */
export interface ChangeHandlers {
  /** LISTEN established (true) or lost (false): caching may start from empty, or must stop. */
  listening(on: boolean): void;
  /** Connections changed elsewhere: one, all of an integration's (connectionId null), or any (both null). */
  connectionsChanged(providerConfigKey: string | null, connectionId: string | null): void;
  /** An integration changed elsewhere; null: any. */
  integrationsChanged(uniqueKey: string | null): void;
}

/** Sends a change to every instance, in the transaction of `client` (delivered at its COMMIT). */
export async function notify(client: PoolClient, channel: string, message: readonly unknown[]): Promise<void> {
  const payload = JSON.stringify(message);
  await client.query('SELECT pg_notify($1, $2)', [channel, Buffer.byteLength(payload) <= MAX_PAYLOAD ? payload : '*']);
}

/**
 * Change notifications between the instances on one database: the LISTEN connection and its
 * lifecycle (opened at start, checked by a heartbeat, replaced with backoff when lost), and the
 * echo wait that makes a write's acknowledgement follow its notification.
 */
export class ChangeNotifications {
  /** Marks this instance's own notifications, which it has already applied. */
  readonly #instance = randomBytes(12).toString('base64url');
  /** Writes waiting for their NOTIFY to come back, by sequence number. */
  readonly #echoes = new Map<number, () => void>();
  #writeSeq = 0;
  #listener: pg.Client | undefined;
  #listenRetry: NodeJS.Timeout | undefined;
  #listenAttempt = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly url: string,
    private readonly handlers: ChangeHandlers,
  ) {}

  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** Listens (failing if it cannot), then keeps listening until close(). */
  async start(): Promise<void> {
    await this.#listen();
    this.#heartbeat = setInterval(() => this.#checkListener(), HEARTBEAT_MS).unref();
  }

  /**
   * Runs a write whose NOTIFYs carry `origin` (`<instance>:<seq>`), and answers only once its
   * notification has come back through this instance's LISTEN connection (at most ECHO_TIMEOUT_MS;
   * at once when nothing was notified or nobody listens). PostgreSQL signals every listener at the
   * same commit, so when a write is acknowledged the other instances have been told as well: their
   * copy is dropped within the delivery of one message, not after the caller has moved on.
   */
  async announced<T>(work: (origin: string) => Promise<T>, notified: (value: T) => boolean = Boolean): Promise<T> {
    const seq = ++this.#writeSeq;
    let echoed!: () => void;
    const echo = new Promise<void>((resolve) => (echoed = resolve));
    // Registered before the transaction, so an echo that overtakes the COMMIT's answer is not missed.
    this.#echoes.set(seq, echoed);
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await work(`${this.#instance}:${seq}`);
      if (notified(value) && this.#listener) {
        timer = setTimeout(echoed, ECHO_TIMEOUT_MS);
        await echo;
      }
      return value;
    } finally {
      clearTimeout(timer);
      this.#echoes.delete(seq);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#listenRetry);
    const listener = this.#listener;
    this.#listener = undefined;
    this.handlers.listening(false);
    await listener?.end().catch(() => undefined);
  }

  /** Opens the LISTEN connection; caching starts once it listens (from an empty cache: notifications may have been missed). */
  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: 'keyway-listen', query_timeout: 5000 });
    client.on('error', () => this.#listenerLost(client));
    client.on('end', () => this.#listenerLost(client));
    client.on('notification', (n) => this.#onNotification(n.channel, n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONNECTIONS_CHANNEL}; LISTEN ${INTEGRATIONS_CHANNEL}`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
    this.#listenAttempt = 0;
    this.handlers.listening(true);
  }

  #listenerLost(client: pg.Client): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    // Changes made from now until LISTEN is back would go unheard: stop caching, forget everything.
    this.handlers.listening(false);
    for (const resolve of this.#echoes.values()) resolve(); // no echo will come
    void client.end().catch(() => undefined);
    this.#scheduleListen();
  }

  #scheduleListen(): void {
    if (this.#closed || this.#listenRetry) return;
    const delay = LISTEN_RETRY_DELAYS_MS[Math.min(this.#listenAttempt++, LISTEN_RETRY_DELAYS_MS.length - 1)];
    this.#listenRetry = setTimeout(() => {
      this.#listenRetry = undefined;
      this.#listen().catch(() => this.#scheduleListen());
    }, delay);
    this.#listenRetry.unref();
  }

  /** A LISTEN connection can die silently (no RST): ask it something now and then. */
  #checkListener(): void {
    const client = this.#listener;
    if (!client) return;
    client.query('SELECT 1').catch(() => this.#listenerLost(client));
  }

  #onNotification(channel: string, payload: string | undefined): void {
    let message: unknown;
    try {
      message = payload === '*' ? undefined : JSON.parse(payload ?? '');
    } catch {
      message = undefined;
    }
    const parts = Array.isArray(message) ? message : undefined;
    const origin = parts?.at(-1);
    if (typeof origin === 'string' && origin.startsWith(`${this.#instance}:`)) {
      // Our own write: already applied to the cache; it waits for this echo.
      this.#echoes.get(Number(origin.slice(this.#instance.length + 1)))?.();
      return;
    }
    if (channel === CONNECTIONS_CHANNEL) {
      const [key, id] = parts ?? [];
      if (typeof key === 'string' && typeof id === 'string') this.handlers.connectionsChanged(key, id);
      else if (typeof key === 'string' && id === null) this.handlers.connectionsChanged(key, null);
      else this.handlers.connectionsChanged(null, null);
    } else if (channel === INTEGRATIONS_CHANNEL) {
      const [key] = parts ?? [];
      this.handlers.integrationsChanged(typeof key === 'string' ? key : null);
    }
  }
}
