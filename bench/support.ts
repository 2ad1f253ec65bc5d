/** Shared pieces of the benchmarks: machine figures, percentiles, a Keyway server process with one sandbox connection. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Nango } from '../packages/node/src/index.ts';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/index.ts';
import type { Connection } from '../packages/server/src/store/types.ts';
import { freePort } from '../packages/server/test/support/keyway.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const machine = () => ({ cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version });
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export { freePort } from '../packages/server/test/support/keyway.ts';

/** A realistic connection for the store benchmarks (token sizes like GitHub's). */
export const benchConnection = (i: number, now = new Date().toISOString()): Connection => ({
  id: `id-${i}`,
  provider_config_key: 'app',
  connection_id: `user-${i}`,
  provider: 'github',
  credentials: { type: 'OAUTH2', access_token: `gho_${randomBytes(18).toString('hex')}`, refresh_token: `ghr_${randomBytes(30).toString('hex')}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), raw: { token_type: 'bearer', scope: 'repo,user' } },
  connection_config: {},
  metadata: { plan: 'pro', seats: i % 50 },
  end_user: { id: `user-${i}`, email: `user-${i}@example.com` },
  last_refresh_failure: null,
  created_at: now,
  updated_at: now,
});

export async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not start`);
}

/** Follows redirects with a cookie jar (enough for the sandbox's auto-approved flow). */
export async function connect(url: string): Promise<void> {
  const jar = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (!location) {
      if (res.status !== 200) throw new Error(`connect flow ended with ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return;
    }
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

export interface BenchStack {
  readonly keywayUrl: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly nango: Nango;
  /** By template name: `keyway-sandbox` (hour-long tokens), `sandbox-short` (2-second tokens). */
  readonly sandboxes: Record<'long' | 'short', Sandbox>;
  readonly server: ChildProcess;
  close(): Promise<void>;
}

/**
 * A Keyway server in its own process (as in production) with two integrations on two sandbox
 * providers: `sandbox` (hour-long tokens) and `short` (2-second tokens), each with a connection `bench`.
 */
export async function startBenchStack(env: Record<string, string> = {}): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-bench-'));
  const port = await freePort();
  const keywayUrl = `http://127.0.0.1:${port}`;
  const secretKey = `bench-secret-${randomBytes(8).toString('hex')}`;
  const publicKey = `bench-public-${randomBytes(8).toString('hex')}`;
  const client = { clientId: 'bench-client', clientSecret: 'bench-secret-value' };
  const clients = [{ ...client, redirectUris: [`${keywayUrl}/oauth/callback`] }];
  const [long, short] = await Promise.all([
    startSandbox({ port: 0, autoApprove: true, clients }),
    startSandbox({ port: 0, autoApprove: true, accessTokenTtlSeconds: 2, clients }),
  ]);
  const template = JSON.parse(await readFile(join(ROOT, 'templates/keyway-sandbox.json'), 'utf8'));
  await mkdir(join(dir, 'templates'));
  for (const [name, s] of [['keyway-sandbox', long], ['sandbox-short', short]] as const) {
    await writeFile(join(dir, `templates/${name}.json`), JSON.stringify({ ...template, authorization_url: s.authorizationUrl, token_url: s.tokenUrl, issuer: s.url }));
  }
  const server = spawn(process.execPath, [join(ROOT, 'packages/server/bin/keyway-server.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      KEYWAY_SERVER_URL: keywayUrl,
      KEYWAY_DB_PATH: join(dir, 'db.json'),
      KEYWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYWAY_SECRET_KEY: secretKey,
      KEYWAY_PUBLIC_KEY: publicKey,
      KEYWAY_TEMPLATES_DIR: join(dir, 'templates'),
      KEYWAY_ALLOWED_ORIGINS: 'http://127.0.0.1:1',
      KEYWAY_LOG_LEVEL: 'warn',
      KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS: '0',
      KEYWAY_ALLOW_PRIVATE_NETWORK: 'true', // the sandboxes run on loopback
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForHealth(keywayUrl);
  const nango = new Nango({ host: keywayUrl, secretKey, cache: false });
  for (const [key, provider] of [['sandbox', 'keyway-sandbox'], ['short', 'sandbox-short']] as const) {
    await nango.createIntegration({ unique_key: key, provider, credentials: { type: 'OAUTH2', client_id: client.clientId, client_secret: client.clientSecret } });
    // A connect session, as an app would make (public-key flows are off by default).
    const { data } = await nango.createConnectSession({ end_user: { id: 'bench' }, allowed_integrations: [key] });
    await connect(`${keywayUrl}/oauth/connect/${key}?connect_session_token=${data.token}`);
  }
  return {
    keywayUrl,
    secretKey,
    publicKey,
    nango,
    sandboxes: { long, short },
    server,
    async close() {
      server.kill('SIGTERM');
      await Promise.all([long.close(), short.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function writeResults(name: string, results: unknown): Promise<void> {
  await mkdir(join(ROOT, 'bench-results'), { recursive: true });
  await writeFile(join(ROOT, `bench-results/${name}.json`), JSON.stringify(results, null, 2) + '\n');
  console.log(`written to bench-results/${name}.json`);
}
