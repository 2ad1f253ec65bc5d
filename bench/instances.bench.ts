/**
 * Two Keyway server processes on one PostgreSQL database (as behind a load balancer), one sandbox
 * connection with 2-second tokens. 5 runs of: let the token expire, then 100 concurrent getToken
 * calls (@keyway/node, cache off) alternating between the instances. Reported: the time until all
 * 100 callers have the new token, refreshes at the provider (should be exactly 1) and distinct tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Nango } from '../packages/node/src/index.ts';
import { startSandbox } from '../packages/sandbox/src/index.ts';
import { startPostgres } from '../packages/server/test/support/postgres.ts';
import { connect, freePort, machine, round, ROOT, waitForHealth, writeResults } from './support.ts';

const RUNS = 5;
const CALLERS = 100;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function instancesBench() {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-instances-bench-'));
  const postgres = await startPostgres();
  const children: ChildProcess[] = [];
  const [portA, portB] = [await freePort(), await freePort()];
  const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const secretKey = `bench-secret-${randomBytes(8).toString('hex')}`;
  const publicKey = `bench-public-${randomBytes(8).toString('hex')}`;
  const client = { clientId: 'bench-client', clientSecret: 'bench-secret-value' };
  // Both instances name B as the public URL: the provider sends the callback to B.
  const sandbox = await startSandbox({ port: 0, autoApprove: true, accessTokenTtlSeconds: 2, clients: [{ ...client, redirectUris: [`${urlB}/oauth/callback`] }] });
  try {
    const template = JSON.parse(await readFile(join(ROOT, 'templates/keyway-sandbox.json'), 'utf8'));
    await mkdir(join(dir, 'templates'));
    await writeFile(join(dir, 'templates/keyway-sandbox.json'), JSON.stringify({ ...template, authorization_url: sandbox.authorizationUrl, token_url: sandbox.tokenUrl, issuer: sandbox.url }));
    const env = {
      PATH: process.env.PATH,
      KEYWAY_HOST: '127.0.0.1',
      KEYWAY_SERVER_URL: urlB,
      KEYWAY_DATABASE_URL: postgres.url,
      KEYWAY_DB_PATH: join(dir, 'unused/db.json'),
      KEYWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      KEYWAY_SECRET_KEY: secretKey,
      KEYWAY_PUBLIC_KEY: publicKey,
      KEYWAY_TEMPLATES_DIR: join(dir, 'templates'),
      KEYWAY_ALLOWED_ORIGINS: 'http://127.0.0.1:1',
      KEYWAY_LOG_LEVEL: 'warn',
      KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS: '0',
    };
    for (const port of [portA, portB]) {
      children.push(spawn(process.execPath, [join(ROOT, 'packages/server/bin/keyway-server.js')], { cwd: dir, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    await Promise.all([waitForHealth(urlA), waitForHealth(urlB)]);
    const [a, b] = [urlA, urlB].map((host) => new Nango({ host, secretKey, cache: false, timeoutMs: 15_000 })) as [Nango, Nango];
    await a.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: client.clientId, client_secret: client.clientSecret } });
    const { data } = await a.createConnectSession({ end_user: { id: 'bench' }, allowed_integrations: ['sandbox'] });
    await connect(`${urlA}/oauth/connect/sandbox?connect_session_token=${data.token}`);
    if ((await a.getToken('sandbox', 'bench')) !== (await b.getToken('sandbox', 'bench'))) throw new Error('the instances disagree on the token');

    const runs: { ms_until_all_have_it: number; refreshes_at_provider: number; distinct_tokens: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      await new Promise((r) => setTimeout(r, 2100)); // let the 2 s token expire
      const grantsBefore = sandbox.tokenGrants.refresh_token;
      const t = performance.now();
      const tokens = await Promise.all(Array.from({ length: CALLERS }, (_, i) => (i % 2 ? b : a).getToken('sandbox', 'bench')));
      runs.push({ ms_until_all_have_it: round(performance.now() - t, 1), refreshes_at_provider: sandbox.tokenGrants.refresh_token - grantsBefore, distinct_tokens: new Set(tokens).size });
    }
    console.table(Object.fromEntries(runs.map((r, i) => [`2 instances, expired token, ${CALLERS} callers (run ${i + 1})`, r])));
    const results = { date: new Date().toISOString(), machine: machine(), instances: 2, callers: CALLERS, refresh_100_waiting_two_instances: runs };
    await writeResults('instances', results);
    return results;
  } finally {
    await Promise.all(children.map(stop));
    await sandbox.close();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
