import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Nango } from '@keyway/node';
import { startSandbox, type Sandbox } from '@keyway/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_TEMPLATES_DIR } from '../src/templates/catalog.ts';
import { TestBrowser } from './support/browser.ts';
import { freePort } from './support/keyway.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/**
 * Two real server processes on one PostgreSQL database, as behind a load balancer. Both name B
 * as the public URL, so the provider sends every callback to B whichever instance started the flow.
 */
const BIN = fileURLToPath(new URL('../bin/keyway-server.js', import.meta.url));
const SECRET_KEY = 'multi-instance-secret-key-0123456789';
const PUBLIC_KEY = 'multi-instance-public-key';
const CLIENT = { clientId: 'multi-instance-client', clientSecret: 'multi instance secret' };
const APP = 'http://127.0.0.1:5999';
const KEY = 'sandbox';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Instance {
  readonly url: string;
  readonly child: ChildProcess;
  readonly nango: Nango;
  output(): string;
}

let dir: string;
let postgres: TestPostgres;
let sandbox: Sandbox;
let a: Instance;
let b: Instance;

async function startInstance(port: number, env: NodeJS.ProcessEnv): Promise<Instance> {
  const child = spawn(process.execPath, [BIN], { cwd: dir, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000; // a busy machine compiles and starts slowly
  for (let i = 0; i < 3000 && Date.now() < deadline; i++) {
    if (child.exitCode !== null) throw new Error(`keyway-server exited with ${child.exitCode}: ${output}`);
    if (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) {
      return { url, child, nango: new Nango({ host: url, secretKey: SECRET_KEY, cache: false, timeoutMs: 15_000 }), output: () => output };
    }
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`keyway-server on ${url} did not become healthy: ${output}`);
}

async function stopInstance(instance: Instance | undefined): Promise<void> {
  if (!instance || instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  const exited = once(instance.child, 'exit');
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-multi-'));
  postgres = await startPostgres();
  const [portA, portB] = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${portB}`;
  sandbox = await startSandbox({
    port: 0,
    autoApprove: true,
    accessTokenTtlSeconds: 2,
    rotateRefreshTokens: true,
    clients: [{ ...CLIENT, redirectUris: [`${publicUrl}/oauth/callback`] }],
  });
  const template = JSON.parse(await readFile(join(BUILT_IN_TEMPLATES_DIR, 'keyway-sandbox.json'), 'utf8')) as Record<string, unknown>;
  await mkdir(join(dir, 'templates'));
  await writeFile(join(dir, 'templates', 'keyway-sandbox.json'), JSON.stringify({ ...template, authorization_url: sandbox.authorizationUrl, token_url: sandbox.tokenUrl, issuer: sandbox.url }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    KEYWAY_HOST: '127.0.0.1',
    KEYWAY_SERVER_URL: publicUrl,
    KEYWAY_DATABASE_URL: postgres.url,
    KEYWAY_DB_PATH: join(dir, 'unused', 'db.json'),
    KEYWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    KEYWAY_SECRET_KEY: SECRET_KEY,
    KEYWAY_PUBLIC_KEY: PUBLIC_KEY,
    KEYWAY_ALLOW_PUBLIC_KEY: 'true',
    KEYWAY_TEMPLATES_DIR: join(dir, 'templates'),
    KEYWAY_ALLOWED_ORIGINS: APP,
    KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS: '0',
    KEYWAY_LOG_LEVEL: 'warn',
    KEYWAY_ALLOW_PRIVATE_NETWORK: 'true', // the providers of these tests run on 127.0.0.1
    KEYWAY_RATE_LIMIT_FLOWS_PER_ADDRESS: '0', // many flows from one address
  };
  [a, b] = await Promise.all([startInstance(portA, env), startInstance(portB, env)]);
  await a.nango.createIntegration({ unique_key: KEY, provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret } });
}, 90_000);

afterAll(async () => {
  await Promise.all([stopInstance(a), stopInstance(b)]);
  await sandbox?.close();
  await postgres?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Starts a flow on A (as the SDK does, with a flow id) and follows it to the provider's redirect back to B's callback. */
async function startFlowOnA(connectionId: string) {
  const flowId = randomBytes(32).toString('base64url');
  const browser = new TestBrowser();
  const atCallback = await browser.follow(
    `${a.url}/oauth/connect/${KEY}?connection_id=${connectionId}&public_key=${PUBLIC_KEY}&flow_id=${flowId}&origin=${encodeURIComponent(APP)}`,
    (next) => next.startsWith(`${b.url}/oauth/callback?`),
  );
  expect(atCallback.url).toMatch(new RegExp(`^${b.url}/oauth/callback\\?`));
  return { flowId, browser, callbackUrl: atCallback.url };
}

const poll = (instance: Instance, flowId: string, wait: number) =>
  fetch(`${instance.url}/oauth/flows/${flowId}?wait=${wait}`, { headers: { origin: APP } }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));

const tokenOn = async (instance: Instance, force = false) => (await instance.nango.getToken(KEY, 'alice', force)) as string;

describe('two instances on one PostgreSQL database', () => {
  it('a flow started on A ends at the callback served by B, and the long-poll on A sees the outcome', async () => {
    const { flowId, browser, callbackUrl } = await startFlowOnA('alice');
    expect(await poll(a, flowId, 0)).toEqual({ status: 200, body: { status: 'pending' } });

    const started = Date.now();
    const waiting = poll(a, flowId, 25);
    await sleep(100);
    const page = await browser.request(callbackUrl);
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-outcome="success"');
    const outcome = await waiting;
    expect(outcome).toEqual({ status: 200, body: { status: 'success', providerConfigKey: KEY, connectionId: 'alice', operation: 'creation' } });
    expect(Date.now() - started).toBeLessThan(20_000); // A learnt it (notification or a re-read), not at the end of its 25 s wait

    // The state was single use: replaying the callback on either instance fails.
    for (const instance of [a, b]) {
      const replay = await browser.request(callbackUrl.replace(b.url, instance.url));
      expect(replay.status).toBe(400);
    }
    // Both instances serve the connection.
    expect(await tokenOn(a)).toBe(await tokenOn(b));
    expect(sandbox.tokenGrants.authorization_code).toBe(1);
  });

  it('100 concurrent getToken calls on an expired connection, over both instances: one refresh, one token', async () => {
    // Let the 2-second token expire; the refresh then gets an hour-long one, so however slow the 100 calls
    // are, none of them can find the new token due again.
    sandbox.setAccessTokenTtl(3600);
    const before = await a.nango.getConnection(KEY, 'alice');
    const expiresAt = Date.parse((before.credentials as { expires_at: string }).expires_at);
    await sleep(Math.max(0, expiresAt - Date.now() + 100));

    const refreshes = sandbox.tokenGrants.refresh_token;
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => tokenOn(i % 2 ? b : a)));
    expect(sandbox.tokenGrants.refresh_token - refreshes).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe((before.credentials as { access_token: string }).access_token);
    // The provider accepts it.
    expect((await fetch(sandbox.userinfoUrl, { headers: { authorization: `Bearer ${tokens[0]}` } })).status).toBe(200);
  });

  it('after a refresh on B, A serves the new token, never the replaced one', async () => {
    for (let round = 0; round < 10; round++) {
      const old = await tokenOn(a); // A holds the connection in memory
      const refreshes = sandbox.tokenGrants.refresh_token;
      const fresh = await tokenOn(b, true);
      expect(sandbox.tokenGrants.refresh_token - refreshes).toBe(1);
      expect(fresh).not.toBe(old);
      expect(await tokenOn(a)).toBe(fresh);
      const full = await a.nango.getConnection(KEY, 'alice', false, true);
      expect((full.credentials as { access_token: string }).access_token).toBe(fresh);
    }
    expect(a.output() + b.output()).not.toMatch(/error/i);
  });
});
