import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nango } from '@keyway/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoStack, type DemoStack } from '../server/stack.ts';

// The whole demo on free ports: sandbox (auto-approving), Keyway, and the demo app with Vite.
const NO_PROVIDERS = { SLACK_CLIENT_ID: '', SLACK_CLIENT_SECRET: '', GITHUB_CLIENT_ID: '', GITHUB_CLIENT_SECRET: '', GOOGLE_CLIENT_ID: '', GOOGLE_CLIENT_SECRET: '' };

let dataDir: string;
let stack: DemoStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'keyway-demo-test-'));
  stack = await startDemoStack({
    demoPort: 0,
    keywayPort: 0,
    sandboxPort: 0,
    dataDir,
    quiet: true,
    sandboxAutoApprove: true,
    accessTokenTtlSeconds: 120,
    env: { ...NO_PROVIDERS, KEYWAY_SECRET_KEY: undefined, KEYWAY_PUBLIC_KEY: undefined, KEYWAY_ENCRYPTION_KEY: undefined },
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function getJson(path: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(stack.demoUrl + path);
  const text = await res.text();
  expect(text).not.toContain(stack.secretKey);
  return { status: res.status, body: JSON.parse(text), text };
}

/** Follows a browser's redirects through Keyway and the sandbox, keeping cookies per host as a browser does. */
async function runFlow(startUrl: string): Promise<number> {
  const jar = new Map<string, string>();
  let url = startUrl;
  for (let hop = 0; hop < 15; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return res.status;
    url = new URL(location.replace(/&amp;/g, '&'), url).href;
  }
  throw new Error('too many redirects');
}

describe('startDemoStack', () => {
  it('serves the config, the sandbox integration and the app on one loopback origin', async () => {
    expect(stack.demoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.keywayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.sandboxUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const config = await getJson('/api/config');
    expect(config.body).toMatchObject({ keywayHost: stack.keywayUrl, userId: 'demo-user', connectSessionToken: expect.stringMatching(/^kw_cs_/) });

    const integrations = await getJson('/api/integrations');
    expect(integrations.body.integrations).toEqual([{ uniqueKey: 'keyway-sandbox', provider: 'keyway-sandbox', displayName: 'Keyway Sandbox' }]);

    const page = await fetch(stack.demoUrl + '/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"></div>');
    const main = await fetch(stack.demoUrl + '/src/main.tsx');
    expect(main.status).toBe(200);
  });

  it('points the sandbox template at the sandbox on its free port', async () => {
    const file = join(dataDir, 'templates', 'keyway-sandbox.json');
    expect(existsSync(file)).toBe(true);
    const template = JSON.parse(await readFile(file, 'utf8'));
    expect(template.authorization_url).toBe(`${stack.sandboxUrl}/auth`);
    expect(template.token_url).toBe(`${stack.sandboxUrl}/token`);
    expect(template.issuer).toBe(stack.sandboxUrl);
  });

  it('after the OAuth flow, the backend shows the connection with a masked token', async () => {
    expect((await getJson('/api/token/keyway-sandbox')).status).toBe(404);
    // The way the page does it: with the connect session the demo backend made (the public key is refused by default).
    const { connectSessionToken } = (await getJson('/api/config')).body;
    const refused = await fetch(`${stack.keywayUrl}/oauth/connect/keyway-sandbox?public_key=${encodeURIComponent(stack.publicKey)}&connection_id=demo-user`, { headers: { accept: 'application/json' } });
    expect(refused.status).toBe(401);
    const connectUrl = `${stack.keywayUrl}/oauth/connect/keyway-sandbox?connect_session_token=${connectSessionToken}`;
    expect(await runFlow(connectUrl)).toBe(200);

    const connections = await getJson('/api/connections');
    expect(connections.body.connections).toMatchObject([{ providerConfigKey: 'keyway-sandbox', connectionId: 'demo-user' }]);

    const token = await getJson('/api/token/keyway-sandbox');
    expect(token.status).toBe(200);
    expect(token.body.connectionId).toBe('demo-user');
    expect(token.body.maskedToken).toMatch(/^.{4}….{2}$/);
    const ttl = Date.parse(token.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(121_000);

    // The full token exists only on the backend side.
    const full = await new Nango({ host: stack.keywayUrl, secretKey: stack.secretKey }).getToken('keyway-sandbox', 'demo-user');
    expect(typeof full).toBe('string');
    expect(token.text).not.toContain(full as string);
  });

  it('a second start on the same data updates the sandbox integration and adds Slack from the env', async () => {
    await stack.close();
    stack = await startDemoStack({
      demoPort: 0,
      keywayPort: 0,
      sandboxPort: 0,
      dataDir,
      quiet: true,
      env: { ...NO_PROVIDERS, SLACK_CLIENT_ID: 'slack-client-id', SLACK_CLIENT_SECRET: 'slack-client-secret' },
    });
    const keys = (await getJson('/api/integrations')).body.integrations.map((i: { uniqueKey: string }) => i.uniqueKey);
    expect(keys).toEqual(['keyway-sandbox', 'slack']);
    const nango = new Nango({ host: stack.keywayUrl, secretKey: stack.secretKey });
    const slack = await nango.getIntegration({ uniqueKey: 'slack' }, { include: ['credentials'] });
    expect(slack.data.credentials).toMatchObject({ client_id: 'slack-client-id', scopes: 'channels:read' });
  }, 60_000);
});
