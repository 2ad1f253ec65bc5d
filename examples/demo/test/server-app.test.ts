import { request, type Server } from 'node:http';
import { KeywayError, type Connection } from '@keyway/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoApp, maskToken, type DemoKeywayClient } from '../server/app.ts';

const SECRET = 'kw_sk_never-in-a-response-0123456789';
const ACCESS_TOKEN = 'abcdEFGH-the-full-access-token-xyz';

const connection: Connection = {
  id: 'c1',
  connection_id: 'demo-user',
  provider_config_key: 'keyway-sandbox',
  provider: 'keyway-sandbox',
  connection_config: { region: 'eu' },
  metadata: { plan: 'free' },
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
  last_fetched_at: null,
  errors: [],
  end_user: null,
  tags: {},
  credentials: {
    type: 'OAUTH2',
    access_token: ACCESS_TOKEN,
    refresh_token: 'refresh-token-secret',
    expires_at: '2030-01-01T01:00:00.000Z',
    raw: { access_token: ACCESS_TOKEN, refresh_token: 'refresh-token-secret' },
  },
};

function fakeKeyway(overrides: Partial<DemoKeywayClient> = {}): DemoKeywayClient & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    listIntegrations: async () => ({
      configs: [
        { unique_key: 'github', provider: 'github', display_name: 'GitHub', logo: '', created_at: '', updated_at: '' },
        { unique_key: 'keyway-sandbox', provider: 'keyway-sandbox', display_name: 'Keyway Sandbox', logo: '', created_at: '', updated_at: '' },
      ],
    }),
    listConnections: (async (...args: unknown[]) => {
      calls.push(['listConnections', ...args]);
      return {
        connections: [
          { id: 'c1', connection_id: 'demo-user', provider_config_key: 'keyway-sandbox', provider: 'keyway-sandbox', created: '2030-01-01T00:00:00.000Z', metadata: null, errors: [], end_user: null, tags: {} },
        ],
      };
    }) as DemoKeywayClient['listConnections'],
    createConnectSession: async (...args: unknown[]) => {
      calls.push(['createConnectSession', ...args]);
      return { data: { token: 'kw_cs_demo', connect_link: 'http://127.0.0.1:3003/connect/ui/#session_token=kw_cs_demo', expires_at: '2030-01-01T00:30:00.000Z' } };
    },
    getConnection: async (...args: unknown[]) => {
      calls.push(['getConnection', ...args]);
      return connection;
    },
    ...overrides,
  };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

async function start(keyway: DemoKeywayClient): Promise<(path: string, host?: string) => Promise<{ status: number; text: string; body: any }>> {
  const app = createDemoApp({ keywayHost: 'http://127.0.0.1:3003', secretKey: SECRET, keyway, log: () => {} });
  const s = app.listen(0, '127.0.0.1');
  server = s;
  await new Promise<void>((ok) => s.once('listening', () => ok()));
  const { port } = s.address() as { port: number };
  // node:http, not fetch: fetch does not let a test choose the Host header.
  return (path, host) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          expect(text).not.toContain(SECRET);
          resolve({ status: res.statusCode ?? 0, text, body: JSON.parse(text) });
        });
      });
      req.on('error', reject);
      req.end();
    });
}

describe('demo backend API', () => {
  it('GET /api/config: host, user and a connect session made for that user by the backend, no secret', async () => {
    const keyway = fakeKeyway();
    const get = await start(keyway);
    const { status, body } = await get('/api/config');
    expect(status).toBe(200);
    expect(body).toEqual({ keywayHost: 'http://127.0.0.1:3003', userId: 'demo-user', connectSessionToken: 'kw_cs_demo', sessionExpiresAt: '2030-01-01T00:30:00.000Z' });
    expect(keyway.calls).toContainEqual(['createConnectSession', { end_user: { id: 'demo-user' } }]);
  });

  it('GET /api/integrations: display names, the sandbox first', async () => {
    const { body } = await (await start(fakeKeyway()))('/api/integrations');
    expect(body.integrations).toEqual([
      { uniqueKey: 'keyway-sandbox', provider: 'keyway-sandbox', displayName: 'Keyway Sandbox' },
      { uniqueKey: 'github', provider: 'github', displayName: 'GitHub' },
    ]);
  });

  it('GET /api/connections: the demo user\'s, by connection id', async () => {
    const keyway = fakeKeyway();
    const { body } = await (await start(keyway))('/api/connections');
    expect(keyway.calls).toEqual([['listConnections', { connectionId: 'demo-user' }]]);
    expect(body.connections).toEqual([{ providerConfigKey: 'keyway-sandbox', connectionId: 'demo-user', provider: 'keyway-sandbox', createdAt: '2030-01-01T00:00:00.000Z' }]);
  });

  it('GET /api/token/:key: expiry, metadata, config and a masked token; never the token itself', async () => {
    const keyway = fakeKeyway();
    const { status, body, text } = await (await start(keyway))('/api/token/keyway-sandbox');
    expect(status).toBe(200);
    expect(keyway.calls).toEqual([['getConnection', 'keyway-sandbox', 'demo-user']]);
    expect(body).toEqual({
      connectionId: 'demo-user',
      expiresAt: '2030-01-01T01:00:00.000Z',
      metadata: { plan: 'free' },
      connectionConfig: { region: 'eu' },
      maskedToken: 'abcd…yz',
    });
    expect(text).not.toContain(ACCESS_TOKEN);
    expect(text).not.toContain('refresh-token-secret');
  });

  it('errors from @keyway/node keep their code, message and status', async () => {
    const get = await start(
      fakeKeyway({
        getConnection: async () => {
          throw new KeywayError('unknown_connection', 'There is no connection "demo-user"', { status: 404 });
        },
        listIntegrations: async () => {
          throw new KeywayError('network_error', 'Could not reach the server', { cause: new Error('ECONNREFUSED') });
        },
        listConnections: (async () => {
          throw new Error('boom');
        }) as DemoKeywayClient['listConnections'],
      }),
    );
    expect(await get('/api/token/keyway-sandbox')).toMatchObject({ status: 404, body: { error: { code: 'unknown_connection', message: 'There is no connection "demo-user"' } } });
    expect(await get('/api/integrations')).toMatchObject({ status: 502, body: { error: { code: 'network_error' } } });
    expect(await get('/api/connections')).toMatchObject({ status: 500, body: { error: { code: 'server_error' } } });
    expect(await get('/api/unknown')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('answers only loopback host names (no DNS rebinding)', async () => {
    const get = await start(fakeKeyway());
    expect((await get('/api/config', 'evil.example:3000')).status).toBe(403);
    expect((await get('/api/config', 'localhost:3000')).status).toBe(200);
  });
});

describe('maskToken', () => {
  it('keeps the first 4 and last 2 characters', () => {
    expect(maskToken('abcdefghijklmnopqrstuvwxyz')).toBe('abcd…yz');
  });
  it('hides a short token entirely', () => {
    expect(maskToken('short')).toBe('…');
    expect(maskToken('')).toBe('…');
  });
});
