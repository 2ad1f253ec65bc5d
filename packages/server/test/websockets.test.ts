import { mkdtemp } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config.ts';
import { flowIdOfWsClient } from '../src/flows/websockets.ts';
import { sha256 } from '../src/primitives.ts';
import { SECRET_KEY, sessionToken, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * The WebSocket channel of the official `@nangohq/frontend`, with a plain `ws` client: who may open a
 * socket, how many, that it is kept alive, and that a socket hears only of its own flow.
 */
const APP = 'http://127.0.0.1:5998';
const PATH = '/nango-ws';
let kw: TestKeyway;
let wsUrl: string;

beforeAll(async () => {
  kw = await startKeyway({ config: { allowedOrigins: [APP], websocketsPath: PATH, websocketsPerAddress: 3 }, overrides: { websocketPingMs: 50 } });
  wsUrl = `${kw.url.replace('http:', 'ws:')}${PATH}`;
});
afterAll(() => kw?.close());

interface Client {
  readonly ws: WebSocket;
  readonly messages: Record<string, unknown>[];
  /** Resolves with the acknowledgement's ws_client_id. */
  readonly ack: Promise<string>;
  readonly closed: Promise<number>;
}

function open(url = wsUrl, options: WebSocket.ClientOptions = { origin: APP }): Client {
  const ws = new WebSocket(url, options);
  const messages: Record<string, unknown>[] = [];
  const ack = new Promise<string>((resolve, reject) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      messages.push(m);
      if (m.message_type === 'connection_ack') resolve(String(m.ws_client_id));
    });
    ws.on('error', reject);
  });
  ack.catch(() => undefined);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return { ws, messages, ack, closed };
}

/** The HTTP status the server refused the upgrade with. */
function refusal(url: string, options: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('open', () => reject(new Error('the socket opened')));
    ws.on('error', () => undefined);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the WebSocket of the official SDK', () => {
  it('acknowledges with a fresh ws_client_id on the configured path', async () => {
    const [one, two] = [open(), open()];
    const [id1, id2] = await Promise.all([one.ack, two.ack]);
    expect(id1).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(id2).not.toBe(id1);
    expect(one.messages).toEqual([{ message_type: 'connection_ack', ws_client_id: id1 }]);
    const gauge = async () => (await kw.keyway.metrics.openWebSockets.get()).values[0]?.value;
    expect(await gauge()).toBe(2); // keyway_open_websockets
    one.ws.close();
    two.ws.close();
    await Promise.all([one.closed, two.closed]);
    for (const deadline = Date.now() + 10_000; (await gauge()) !== 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(await gauge()).toBe(0);
  });

  it('refuses another path, a page of an origin not allowed, and a client that sends no origin', async () => {
    expect(await refusal(`${kw.url.replace('http:', 'ws:')}/`, { origin: APP })).toBe(404);
    expect(await refusal(wsUrl, { origin: 'http://127.0.0.1:5997' })).toBe(403);
    expect(await refusal(wsUrl, {})).toBe(403);
  });

  it('caps the sockets open from one address, and frees a place when one closes', async () => {
    const clients = [open(), open(), open()];
    await Promise.all(clients.map((c) => c.ack));
    expect(await refusal(wsUrl, { origin: APP })).toBe(429);
    clients[0]!.ws.close();
    await clients[0]!.closed;
    // The server counts the close when its side of the socket ends: retry (bounded) until a new socket is accepted.
    let fourth = open();
    for (let i = 0; i < 200 && !(await fourth.ack.then(() => true, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 25));
      fourth = open();
    }
    await fourth.ack;
    for (const c of [...clients.slice(1), fourth]) c.ws.close();
    await Promise.all([...clients.slice(1), fourth].map((c) => c.closed));
  });

  it('pings the socket, and drops one that stops answering', async () => {
    const live = open();
    await live.ack;
    let pings = 0;
    live.ws.on('ping', () => pings++);
    await until(() => pings >= 2, 'two pings');
    const silent = open(wsUrl, { origin: APP, autoPong: false });
    await silent.ack;
    expect(await silent.closed).toBe(1006); // terminated by the server, no closing handshake
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    live.ws.close();
    await live.closed;
  });

  it("sends a flow's outcome to its own socket only, then closes it", async () => {
    const [mine, other] = [open(), open()];
    const [id] = await Promise.all([mine.ack, other.ack]);
    // Refused before authorisation (no connect session): the socket still hears of it.
    const res = await fetch(`${kw.url}/oauth/connect/sandbox?connection_id=u1&ws_client_id=${id}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(await mine.closed).toBe(1000);
    expect(mine.messages.slice(1)).toEqual([
      { message_type: 'error', provider_config_key: 'sandbox', connection_id: 'u1', error_type: 'connect_session_required', error_desc: expect.any(String) },
    ]);
    expect(other.messages).toHaveLength(1); // its acknowledgement only
    // An unauthenticated caller writes nothing: the refusal went to this process's socket alone.
    expect(await kw.keyway.store.getOutcome(sha256(flowIdOfWsClient(SECRET_KEY, id)))).toBeUndefined();
    other.ws.close();
    await other.closed;
  });

  it('stores a refusal after authorisation (any instance can deliver it), and refuses a ws_client_id it did not issue', async () => {
    const client = open();
    const id = await client.ack;
    const token = await sessionToken(kw.url, 'ws-user');
    await fetch(`${kw.url}/oauth/connect/missing?connect_session_token=${token}&ws_client_id=${id}`, { headers: { accept: 'application/json' } });
    await client.closed;
    expect(client.messages[1]).toMatchObject({ message_type: 'error', provider_config_key: 'missing', error_type: 'unknown_config_key' });
    expect((await kw.keyway.store.getOutcome(sha256(flowIdOfWsClient(SECRET_KEY, id))))?.result).toMatchObject({ status: 'error', error: { code: 'unknown_config_key' } });
    const bad = await fetch(`${kw.url}/oauth/connect/missing?connect_session_token=${token}&ws_client_id=not-ours`, { headers: { accept: 'application/json' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_flow_id');
  });
});

describe('an embedded Keyway', () => {
  it("serves the socket on the embedding server once attachWebSockets is called, leaving the app's own sockets alone", async () => {
    const server = createServer(kw.keyway.handler);
    kw.keyway.attachWebSockets(server); // first: Keyway's listener must leave another path alone
    const own = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/app-ws') own.handleUpgrade(req, socket, head, (ws) => ws.send('hello from the app'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const client = open(`ws://127.0.0.1:${port}${PATH}`);
    expect(await client.ack).toMatch(/^[0-9a-f-]{36}$/);
    const app = new WebSocket(`ws://127.0.0.1:${port}/app-ws`);
    expect(String((await once(app, 'message'))[0])).toBe('hello from the app');
    for (const ws of [client.ws, app]) ws.close();
    await client.closed;
    own.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});

describe('KEYWAY_WEBSOCKETS_PATH and KEYWAY_WEBSOCKETS_PER_ADDRESS', () => {
  it('default to / (as Nango) and 20; a path must start with /', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyway-ws-config-'));
    const env = { KEYWAY_DB_PATH: join(dir, 'db.json'), KEYWAY_SECRET_KEY: SECRET_KEY };
    const { config } = await loadConfig(env, dir);
    expect([config.websocketsPath, config.websocketsPerAddress]).toEqual(['/', 20]);
    expect((await loadConfig({ ...env, KEYWAY_WEBSOCKETS_PATH: '/ws', KEYWAY_WEBSOCKETS_PER_ADDRESS: '0' }, dir)).config).toMatchObject({ websocketsPath: '/ws', websocketsPerAddress: 0 });
    await expect(loadConfig({ ...env, KEYWAY_WEBSOCKETS_PATH: 'ws' }, dir)).rejects.toThrow(/^KEYWAY_WEBSOCKETS_PATH/);
    await expect(loadConfig({ ...env, KEYWAY_WEBSOCKETS_PER_ADDRESS: '-1' }, dir)).rejects.toThrow(/^KEYWAY_WEBSOCKETS_PER_ADDRESS/);
  });
});
