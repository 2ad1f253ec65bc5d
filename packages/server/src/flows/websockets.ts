import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { FlowResult } from '../store/types.ts';
import type { FlowOutcomes } from './outcomes.ts';

/** The ids we hand out (`randomUUID`); anything else in `ws_client_id` is refused by /oauth/connect. */
export const WS_CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The flow id a `ws_client_id` stands for: an HMAC under the secret key, so every instance derives the
 * same id (the outcome is stored under it wherever the callback lands) and nobody else can, so the
 * long-poll cannot be pointed at a socket's flow.
 */
export function flowIdOfWsClient(secretKey: string, wsClientId: string): string {
  return createHmac('sha256', secretKey).update(`ws_client_id:${wsClientId}`).digest('base64url');
}

/** Nango's messages (`@nangohq/frontend`'s AuthorizationModal reads `message_type`). */
export function wsMessageOf(result: FlowResult, fallback: { providerConfigKey?: string; connectionId?: string } = {}): Record<string, unknown> {
  if (result.status === 'success') {
    return { message_type: 'success', provider_config_key: result.providerConfigKey, connection_id: result.connectionId, is_pending: false };
  }
  return {
    message_type: 'error',
    provider_config_key: result.providerConfigKey ?? fallback.providerConfigKey ?? null,
    connection_id: result.connectionId ?? fallback.connectionId ?? null,
    error_type: result.error.code,
    error_desc: result.error.message,
  };
}

export interface FlowSocketOptions {
  /** The path the SDK opens (`websocketsPath`, default `/`). */
  readonly path: string;
  /** Origins whose pages may open a socket (KEYWAY_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[];
  /** Open sockets per client address; 0 = no limit. */
  readonly perAddress: number;
  readonly secretKey: string;
  /** How long a socket waits for its flow's outcome: the flow's own lifetime. */
  readonly waitMs: number;
  /** Ping period; a socket that did not answer the previous ping is dropped. */
  readonly pingIntervalMs: number;
  readonly outcomes: FlowOutcomes;
  readonly log: Logger;
  /** Told when a socket opens (+1) and closes (-1): the `keyway_open_websockets` gauge. */
  readonly onOpenChange?: (delta: 1 | -1) => void;
}

/**
 * The WebSocket channel of the official `@nangohq/frontend`: on connect, `connection_ack` with a fresh
 * `ws_client_id`; the page then starts `/oauth/connect?...&ws_client_id=`, and the flow's outcome (read
 * from the store, as the long-poll does, so it arrives whichever instance served the callback) is sent
 * on that socket alone, which is then closed. Pings keep idle proxies from dropping the socket during
 * a slow consent screen.
 */
export class FlowSockets {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: true });
  readonly #perAddress = new Map<string, number>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #pinger: NodeJS.Timeout;

  constructor(private readonly options: FlowSocketOptions) {
    this.#pinger = setInterval(() => this.#ping(), options.pingIntervalMs).unref();
  }

  /**
   * Takes the HTTP server's `upgrade` requests for the configured path. Another path is refused, unless
   * the server has other `upgrade` listeners (an embedding app's own sockets): then it is theirs.
   */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== this.options.path) {
        if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
        return;
      }
      this.#upgrade(req, socket, head);
    });
  }

  close(): void {
    clearInterval(this.#pinger);
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const origin = req.headers.origin;
    if (!origin || !this.options.allowedOrigins.includes(origin)) {
      this.options.log.info('websocket refused', { reason: 'origin_not_allowed', origin: origin ?? 'none' });
      return refuse(socket, 403, 'Forbidden');
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    const open = this.#perAddress.get(address) ?? 0;
    if (this.options.perAddress > 0 && open >= this.options.perAddress) {
      this.options.log.info('websocket refused', { reason: 'too_many_sockets' });
      return refuse(socket, 429, 'Too Many Requests');
    }
    this.#perAddress.set(address, open + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.#perAddress.set(address, n);
      else this.#perAddress.delete(address);
    };
    socket.once('close', release);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, release));
  }

  #serve(ws: WebSocket, release: () => void): void {
    const wsClientId = randomUUID();
    const gone = new AbortController();
    this.#alive.add(ws);
    this.options.onOpenChange?.(1);
    ws.on('pong', () => this.#alive.add(ws));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      gone.abort();
      release();
      this.options.onOpenChange?.(-1);
    });
    // The page sends nothing: any message is ignored (maxPayload bounds it).
    ws.send(JSON.stringify({ message_type: 'connection_ack', ws_client_id: wsClientId }));
    const flowId = flowIdOfWsClient(this.options.secretKey, wsClientId);
    this.options.outcomes.wait(flowId, this.options.waitMs, gone.signal).then(
      (result) => {
        if (gone.signal.aborted) return;
        if (result) ws.send(JSON.stringify(wsMessageOf(result)), () => ws.close(1000));
        else ws.close(1000, 'flow expired');
      },
      () => ws.close(1011),
    );
  }

  #ping(): void {
    for (const ws of this.#wss.clients) {
      if (!this.#alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      ws.ping();
    }
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
