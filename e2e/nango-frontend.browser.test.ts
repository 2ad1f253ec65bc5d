import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/index.ts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '../packages/node/src/index.ts';
import { BUILT_IN_TEMPLATES_DIR } from '../packages/server/src/templates/catalog.ts';
import { freePort, SECRET_KEY, startKeyway, type TestKeyway } from '../packages/server/test/support/keyway.ts';
import { SANDBOX_CLIENT } from '../packages/server/test/support/sandbox-stack.ts';
import { startPostgres, type TestPostgres } from '../packages/server/test/support/postgres.ts';
import { launchChromium } from './support/chromium.ts';

/**
 * The official `@nangohq/frontend` (0.71.10, unchanged: bundled from node_modules by this test) in Chromium, against
 * two Keyway instances on one PostgreSQL. Both name B as the public URL, so every provider callback lands on B: a page
 * whose host is B runs the whole flow on one instance, a page whose host is A holds its socket on A while B serves the
 * callback.
 */
const FRONTEND = fileURLToPath(new URL('../packages/frontend/', import.meta.url));

let browser: Browser;
let postgres: TestPostgres;
let plain: Sandbox;
let coop: Sandbox;
let a: TestKeyway;
let b: TestKeyway;
let app: { url: string; server: Server };
/** The TWO_STEP provider's token endpoint, on 127.0.0.1: a token for the right password, 401 otherwise. */
let tokenServer: { url: string; server: Server; issued: string[] };
let node: KeywayNode;

/** The official package's own dist, bundled as a script the page loads (`window.NangoOfficial.default` is its `Nango`). */
async function bundleOfficialSdk(): Promise<string> {
  const vite = (await import(join(FRONTEND, 'node_modules/vite/dist/node/index.js'))) as typeof import('vite');
  const out = await vite.build({
    configFile: false,
    logLevel: 'error',
    root: FRONTEND,
    build: { write: false, minify: false, lib: { entry: join(FRONTEND, 'node_modules/@nangohq/frontend/dist/index.js'), formats: ['iife'], name: 'NangoOfficial' } },
  });
  const [first] = (Array.isArray(out) ? out : [out]) as { output: { code?: string }[] }[];
  return first!.output[0]!.code!;
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body><script src="/nango.js"></script></body></html>`;

async function startApp(sdk: string, port: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/nango.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, server };
}

async function startTokenServer(): Promise<{ url: string; server: Server; issued: string[] }> {
  const issued: string[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { username?: string; password?: string };
      if (req.url !== '/token' || body.password !== 'right-password') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_login"}');
      issued.push(`ts-${randomBytes(8).toString('hex')}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: issued.at(-1), expires_in: 3600 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, issued };
}

beforeAll(async () => {
  const [appPort, portA, portB] = [await freePort(), await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${portB}`;
  const clients = [{ ...SANDBOX_CLIENT, redirectUris: [`${publicUrl}/oauth/callback`] }];
  let sdk: string;
  [sdk, postgres, plain, coop, browser] = await Promise.all([
    bundleOfficialSdk(),
    startPostgres(),
    startSandbox({ port: 0, clients }),
    startSandbox({ port: 0, clients, crossOriginOpenerPolicy: true }),
    launchChromium(),
  ]);
  app = await startApp(sdk, appPort);
  tokenServer = await startTokenServer();
  const base = JSON.parse(await readFile(join(BUILT_IN_TEMPLATES_DIR, 'keyway-sandbox.json'), 'utf8')) as Record<string, unknown>;
  const pointedAt = (s: Sandbox, name: string) => ({ ...base, display_name: name, authorization_url: s.authorizationUrl, token_url: s.tokenUrl, issuer: s.url });
  const templates = {
    'sandbox-plain': pointedAt(plain, 'Sandbox'),
    'sandbox-coop': pointedAt(coop, 'Sandbox COOP'),
    'key-api': { display_name: 'Key API', categories: ['dev-tools'], docs: 'https://example.com/docs', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'API key', pattern: 'key_[a-z0-9]{8,}' } } },
    'two-step-api': {
      display_name: 'Two-step API',
      categories: ['hr'],
      docs: 'https://example.com/docs',
      auth_mode: 'TWO_STEP',
      credentials: { username: { title: 'User' }, password: { title: 'Password', secret: true } },
      token_url: `${tokenServer.url}/token`,
      token_params: { username: '${credentials.username}', password: '${credentials.password}' },
      token_response: { token: 'token', expires_in: 'expires_in' },
    },
  };
  const databaseUrl = await postgres.createDatabase('nango_frontend');
  const shared = { databaseUrl, encryptionKeys: [randomBytes(32)], serverUrl: publicUrl, allowedOrigins: [app.url] };
  b = await startKeyway({ templates, config: { ...shared, port: portB } });
  a = await startKeyway({ templates, config: { ...shared, port: portA } });
  node = new KeywayNode({ host: b.url, secretKey: SECRET_KEY });
  const oauth = { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } as const;
  await node.createIntegration({ unique_key: 'sandbox', provider: 'sandbox-plain', credentials: oauth });
  await node.createIntegration({ unique_key: 'sandbox-coop', provider: 'sandbox-coop', credentials: oauth });
  await node.createIntegration({ unique_key: 'key-api', provider: 'key-api' });
  await node.createIntegration({ unique_key: 'two-step', provider: 'two-step-api' });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.close(), b?.close(), plain?.close(), coop?.close()]);
  for (const s of [app?.server, tokenServer?.server]) {
    s?.closeAllConnections();
    await new Promise((r) => (s ? s.close(r) : r(undefined)));
  }
  await postgres?.stop();
});

type Outcome = { ok: true; value: { providerConfigKey: string; connectionId: string; isPending?: boolean } } | { ok: false; type: string; message: string };

interface Run {
  page: Page;
  popup: Page;
  /** Every WebSocket frame the page received, parsed. */
  frames: Record<string, unknown>[];
  result(): Promise<Outcome>;
}

async function session(endUser: string, allowed?: string[]): Promise<string> {
  return (await node.createConnectSession({ end_user: { id: endUser }, ...(allowed && { allowed_integrations: allowed }) })).data.token;
}

/** The app page calls the official `nango.auth(key)` with a connect session; returns its popup and what settled. */
async function startAuth(host: string, key: string, endUser: string): Promise<Run> {
  const token = await session(endUser);
  const page = await browser.newPage();
  const frames: Record<string, unknown>[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(JSON.parse(String(f.payload)) as Record<string, unknown>)));
  await page.goto(app.url);
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.evaluate(
      ({ host, key, token }) => {
        const w = window as unknown as { NangoOfficial: { default: new (c: object) => { auth(k: string): Promise<unknown> } }; result?: unknown };
        new w.NangoOfficial.default({ host, connectSessionToken: token }).auth(key).then(
          (value) => (w.result = { ok: true, value }),
          (e: { type: string; message: string }) => (w.result = { ok: false, type: e.type, message: e.message }),
        );
      },
      { host, key, token },
    ),
  ]);
  return {
    page,
    popup,
    frames,
    result: async () => {
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
      return page.evaluate(() => (window as unknown as { result: Outcome }).result);
    },
  };
}

describe('the official @nangohq/frontend against Keyway', () => {
  it('auth() resolves after the user approves: acknowledgement, then the outcome on the socket', async () => {
    const run = await startAuth(b.url, 'sandbox', 'nf-approve');
    await run.popup.click('#approve');
    const outcome = await run.result();
    expect(outcome).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: expect.any(String), isPending: false } });
    const connectionId = (outcome as { value: { connectionId: string } }).value.connectionId;
    expect(run.frames).toEqual([
      { message_type: 'connection_ack', ws_client_id: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      { message_type: 'success', provider_config_key: 'sandbox', connection_id: connectionId, is_pending: false },
    ]);
    expect((await node.getConnection('sandbox', connectionId)).connection_id).toBe(connectionId);
    await run.page.close();
  });

  it('auth() rejects with the error type when the user denies', async () => {
    const run = await startAuth(b.url, 'sandbox', 'nf-deny');
    await run.popup.click('#deny');
    expect(await run.result()).toMatchObject({ ok: false, type: 'access_denied' });
    expect(run.frames[1]).toMatchObject({ message_type: 'error', provider_config_key: 'sandbox', error_type: 'access_denied', error_desc: expect.any(String) });
    await run.page.close();
  });

  it('auth() rejects with the error /oauth/connect raised itself', async () => {
    const run = await startAuth(b.url, 'no-such-integration', 'nf-unknown');
    expect(await run.result()).toMatchObject({ ok: false, type: 'unknown_config_key' });
    expect(run.frames[1]).toMatchObject({ message_type: 'error', provider_config_key: 'no-such-integration', error_type: 'unknown_config_key' });
    await run.page.close();
  });

  it('auth() resolves when the consent page cuts the opener with COOP', async () => {
    const run = await startAuth(b.url, 'sandbox-coop', 'nf-coop');
    await run.popup.waitForSelector('#approve');
    expect(await run.popup.evaluate(() => window.opener)).toBeNull(); // COOP cut the link to the app
    await run.popup.click('#approve');
    expect(await run.result()).toMatchObject({ ok: true, value: { providerConfigKey: 'sandbox-coop' } });
    await run.page.close();
  });

  it('auth() resolves when the callback lands on another instance than the one holding the socket', async () => {
    const run = await startAuth(a.url, 'sandbox', 'nf-other');
    const callback = run.popup.waitForRequest((r) => r.url().startsWith(`${b.url}/oauth/callback`));
    await run.popup.click('#approve');
    await callback; // served by B
    expect(await run.result()).toMatchObject({ ok: true, value: { providerConfigKey: 'sandbox' } });
    expect(run.frames.map((f) => f.message_type)).toEqual(['connection_ack', 'success']);
    await run.page.close();
  });

  it('auth(key, { credentials: { type: \'TWO_STEP\', ...fields } }) resolves with the pair, and rejects a wrong password with invalid_credentials', async () => {
    const page = await browser.newPage();
    await page.goto(app.url);
    const twoStep = async (endUser: string, password: string) =>
      page.evaluate(
        async ({ host, token, password }) => {
          const w = window as unknown as { NangoOfficial: { default: new (c: object) => { auth(k: string, o: object): Promise<unknown> } } };
          try {
            return { ok: true, value: await new w.NangoOfficial.default({ host, connectSessionToken: token }).auth('two-step', { credentials: { type: 'TWO_STEP', username: 'ana', password } }) };
          } catch (e) {
            return { ok: false, type: (e as { type: string }).type, message: (e as Error).message, name: (e as Error).constructor.name };
          }
        },
        { host: b.url, token: await session(endUser), password },
      );
    expect(await twoStep('nf-two-step', 'right-password')).toEqual({ ok: true, value: { providerConfigKey: 'two-step', connectionId: 'nf-two-step' } });
    const { credentials } = await node.getConnection('two-step', 'nf-two-step');
    expect(credentials).toMatchObject({ type: 'TWO_STEP', token: tokenServer.issued.at(-1), username: 'ana', password: 'right-password' });

    const issued = tokenServer.issued.length;
    expect(await twoStep('nf-two-step-wrong', 'wrong-password')).toEqual({ ok: false, type: 'invalid_credentials', message: expect.any(String), name: 'AuthError' });
    expect(tokenServer.issued.length).toBe(issued);
    await expect(node.getConnection('two-step', 'nf-two-step-wrong')).rejects.toMatchObject({ code: 'unknown_connection' });
    await page.close();
  });

  /** The official package's openConnectUI() on the app's page, its events collected in `window.uiEvents`. */
  const openConnectUI = (page: Page, token: string) =>
    page.evaluate(
      ({ host, token }) => {
        const w = window as unknown as { NangoOfficial: { default: new (c: object) => { openConnectUI(p: object): unknown } }; uiEvents: unknown[] };
        w.uiEvents = [];
        new w.NangoOfficial.default({ connectSessionToken: token }).openConnectUI({ baseURL: `${host}/connect/ui`, apiURL: host, onEvent: (e: unknown) => w.uiEvents.push(e) });
      },
      { host: b.url, token },
    );

  it('openConnectUI({ baseURL, apiURL }) connects one OAuth and one API-key integration in Keyway\'s Connect UI', async () => {
    const token = await session('nf-ui', ['sandbox', 'key-api']);
    const page = await browser.newPage();
    await page.goto(app.url);
    await openConnectUI(page, token);
    const events = () => page.evaluate(() => (window as unknown as { uiEvents: { type: string; payload?: unknown }[] }).uiEvents.map(({ type, payload }) => ({ type, payload })));
    await expect.poll(events, { timeout: 10_000 }).toContainEqual({ type: 'ready', payload: undefined });
    const ui = page.frameLocator('iframe#connect-ui');
    await ui.getByRole('button', { name: /Sandbox/ }).click();
    const [popup] = await Promise.all([page.waitForEvent('popup'), ui.getByRole('button', { name: 'Connect' }).click()]);
    await popup.click('#approve');
    await expect.poll(events, { timeout: 15_000 }).toContainEqual({ type: 'connect', payload: { providerConfigKey: 'sandbox', connectionId: 'nf-ui' } });

    await page.evaluate(() => document.getElementById('connect-ui')?.remove()); // a fresh Connect UI for the next integration
    await openConnectUI(page, token);
    await ui.getByRole('button', { name: /Key API/ }).click();
    await ui.getByLabel(/API key/).fill('key_abcdefgh1');
    await ui.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(events, { timeout: 10_000 }).toContainEqual({ type: 'connect', payload: { providerConfigKey: 'key-api', connectionId: 'nf-ui' } });
    expect(await node.getToken('key-api', 'nf-ui')).toEqual({ type: 'API_KEY', apiKey: 'key_abcdefgh1' });
    await page.close();
  });
});
