/**
 * pnpm bench: what a backend feels.
 *  1. getToken for a fresh token through @keyway/node: latency over HTTP on 127.0.0.1, sequential and 10 in parallel.
 *  2. Refresh of an expired token with 100 callers waiting: time until all have the new token, and refreshes at the provider
 *     (which must be exactly one per run).
 * The Keyway server runs as its own process (as in production); the sandbox provider runs here.
 * Figures are printed as a table and written to bench-results/token.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Nango } from '../packages/node/src/index.ts';
import { startSandbox } from '../packages/sandbox/src/index.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECRET = `bench-secret-${randomBytes(8).toString('hex')}`;
const PUBLIC = `bench-public-${randomBytes(8).toString('hex')}`;
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret-value' };

const freePort = async () => {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
};
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => Math.round(n * 1000) / 1000;

/** Follows redirects with a cookie jar (enough for the sandbox's auto-approved flow). */
async function connect(url: string): Promise<void> {
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

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-bench-'));
  const keywayPort = await freePort();
  const keywayUrl = `http://127.0.0.1:${keywayPort}`;
  // Two sandbox providers: hour-long tokens for the fresh reads, 2-second tokens for the refresh runs.
  const clients = [{ ...CLIENT, redirectUris: [`${keywayUrl}/oauth/callback`] }];
  const [sandbox, shortLived] = await Promise.all([
    startSandbox({ port: 0, autoApprove: true, clients }),
    startSandbox({ port: 0, autoApprove: true, accessTokenTtlSeconds: 2, clients }),
  ]);
  const template = JSON.parse(await readFile(join(ROOT, 'templates/keyway-sandbox.json'), 'utf8'));
  await mkdir(join(dir, 'templates'));
  for (const [name, s] of [['keyway-sandbox', sandbox], ['sandbox-short', shortLived]] as const) {
    await writeFile(join(dir, `templates/${name}.json`), JSON.stringify({ ...template, authorization_url: s.authorizationUrl, token_url: s.tokenUrl, issuer: s.url }));
  }

  const server = spawn(process.execPath, [join(ROOT, 'packages/server/bin/keyway-server.js')], {
    env: {
      PATH: process.env.PATH,
      PORT: String(keywayPort),
      KEYWAY_SERVER_URL: keywayUrl,
      KEYWAY_DB_PATH: join(dir, 'db.json'),
      KEYWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYWAY_SECRET_KEY: SECRET,
      KEYWAY_PUBLIC_KEY: PUBLIC,
      KEYWAY_TEMPLATES_DIR: join(dir, 'templates'),
      KEYWAY_LOG_LEVEL: 'warn',
      KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${keywayUrl}/health`).then((r) => r.ok, () => false)) break;
      if (i > 100) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const nango = new Nango({ host: keywayUrl, secretKey: SECRET });
    for (const [key, provider] of [['sandbox', 'keyway-sandbox'], ['short', 'sandbox-short']]) {
      await nango.createIntegration({ unique_key: key!, provider: provider!, credentials: { type: 'OAUTH2', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret } });
      await connect(`${keywayUrl}/oauth/connect/${key}?connection_id=bench&public_key=${PUBLIC}`);
    }

    // 1. Fresh-token reads (an hour-long token: no refresh may happen during the run, and none is counted).
    const fresh = async (count: number, parallel: number) => {
      const grantsBefore = sandbox.tokenGrants.refresh_token;
      const samples: number[] = [];
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < count) {
            next++;
            const t = performance.now();
            await nango.getToken('sandbox', 'bench');
            samples.push(performance.now() - t);
          }
        }),
      );
      const elapsed = performance.now() - started;
      samples.sort((a, b) => a - b);
      return { calls: count, parallel, p50_ms: ms(pct(samples, 50)), p95_ms: ms(pct(samples, 95)), p99_ms: ms(pct(samples, 99)), per_second: Math.round(count / (elapsed / 1000)), refreshes_during_run: sandbox.tokenGrants.refresh_token - grantsBefore };
    };
    for (let i = 0; i < 300; i++) await nango.getToken('sandbox', 'bench'); // warm-up
    const sequential = await fresh(2000, 1);
    const parallel = await fresh(2000, 10);

    // 2. An expired token, 100 callers at once.
    const refreshRuns: { ms: number; refreshes: number; distinct_tokens: number }[] = [];
    for (let run = 0; run < 5; run++) {
      await new Promise((r) => setTimeout(r, 2100)); // let the 2 s token expire
      const grantsBefore = shortLived.tokenGrants.refresh_token;
      const t = performance.now();
      const tokens = await Promise.all(Array.from({ length: 100 }, () => nango.getToken('short', 'bench')));
      refreshRuns.push({ ms: ms(performance.now() - t), refreshes: shortLived.tokenGrants.refresh_token - grantsBefore, distinct_tokens: new Set(tokens).size });
    }
    const refreshMs = refreshRuns.map((r) => r.ms).sort((a, b) => a - b);

    const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
    const results = { date: new Date().toISOString(), machine, fresh_token: { sequential, parallel }, refresh_100_waiting: { runs: refreshRuns, median_ms: refreshMs[2] } };

    console.log(`\nKeyway bench · ${machine.cpu} · ${machine.cores} cores · ${machine.memory_gib} GiB · Node ${machine.node}\n`);
    console.table({
      'getToken fresh, 1 at a time': { p50_ms: sequential.p50_ms, p95_ms: sequential.p95_ms, p99_ms: sequential.p99_ms, 'calls/s': sequential.per_second, refreshes: sequential.refreshes_during_run },
      'getToken fresh, 10 in parallel': { p50_ms: parallel.p50_ms, p95_ms: parallel.p95_ms, p99_ms: parallel.p99_ms, 'calls/s': parallel.per_second, refreshes: parallel.refreshes_during_run },
    });
    console.table(Object.fromEntries(refreshRuns.map((r, i) => [`expired token, 100 callers (run ${i + 1})`, { ms_until_all_have_it: r.ms, refreshes_at_provider: r.refreshes, distinct_tokens: r.distinct_tokens }])));
    await mkdir(join(ROOT, 'bench-results'), { recursive: true });
    await writeFile(join(ROOT, 'bench-results/token.json'), JSON.stringify(results, null, 2) + '\n');
    console.log('written to bench-results/token.json');
  } finally {
    server.kill('SIGTERM');
    await Promise.all([sandbox.close(), shortLived.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
