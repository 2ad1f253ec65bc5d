// The install test: Keyway as a user gets it from the registry. It imports nothing from the workspace. It packs
// every publishable package (scripts/pack.mjs, the script behind `pnpm release:check` and the Dockerfile's tarball),
// installs the tarballs with npm into a scratch project in the system's temp folder (no workspace, no links), and
// runs only what they ship: the server and sandbox bins by plain node, @keyway/node from CommonJS and ES modules,
// @keyway/frontend through Vite and through a <script> tag in Chromium, tsc on the shipped types, the CLI's doctor.
// Tools that are not Keyway (tsc, vite, Chromium) are the repository's, as a user's app would bring its own.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
const VITE = join(REPO, 'packages/frontend/node_modules/vite/bin/vite.js');
const PACKAGES = ['node', 'frontend', 'sandbox', 'server', 'cli'] as const;
const run = promisify(execFile);

/** The parent's environment without what pnpm injects (npm_*) or what would configure Keyway or the sandbox. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|KEYWAY_|SANDBOX_|PORT$|NODE_OPTIONS$|VITEST)/i.test(k)));
  return { ...env, ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `probe` resolves true (bounded), failing with what the process printed. */
async function waitFor(what: string, probe: () => Promise<boolean>, log: () => string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${ms} ms:\n${log()}`);
}

/** A bin of an installed package, started with plain node (what `npx` and the Dockerfile's CMD do). */
function startBin(file: string, cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  return { child, output: () => output };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** Serves the scratch project's files (the Vite build, the <script> page, node_modules) on one loopback origin. */
async function serveStatic(root: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root + sep) || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

// ---- the scratch project's files: what a user of the packages writes ----

const TOKEN_CJS = `const { Nango } = require('@keyway/node');
const nango = new Nango({ host: process.env.KEYWAY_URL, secretKey: process.env.KEYWAY_SECRET_KEY });
nango.getToken(process.argv[2], process.argv[3]).then((token) => {
  console.log(JSON.stringify({ token, resolved: require.resolve('@keyway/node') }));
});
`;

const TOKEN_MJS = `import { Nango } from '@keyway/node';
const nango = new Nango({ host: process.env.KEYWAY_URL, secretKey: process.env.KEYWAY_SECRET_KEY });
const token = await nango.getToken(process.argv[2], process.argv[3]);
console.log(JSON.stringify({ token, resolved: import.meta.resolve('@keyway/node') }));
`;

// Creates the integration with the installed client, for the installed sandbox's default client (its public export).
const SETUP_MJS = `import { Nango } from '@keyway/node';
import { DEFAULT_CLIENT, startSandbox } from '@keyway/sandbox';
if (typeof startSandbox !== 'function') throw new Error('startSandbox is not exported');
const nango = new Nango({ host: process.env.KEYWAY_URL, secretKey: process.env.KEYWAY_SECRET_KEY });
await nango.createIntegration({
  unique_key: 'sandbox',
  provider: 'keyway-sandbox',
  credentials: { type: 'OAUTH2', client_id: DEFAULT_CLIENT.clientId, client_secret: DEFAULT_CLIENT.clientSecret },
});
console.log('ok');
`;

// A connect session for one end user, made by the backend with the installed client.
const SESSION_MJS = `import { Nango } from '@keyway/node';
const nango = new Nango({ host: process.env.KEYWAY_URL, secretKey: process.env.KEYWAY_SECRET_KEY });
const { data } = await nango.createConnectSession({ end_user: { id: process.argv[2] }, allowed_integrations: ['sandbox'] });
console.log(data.token);
`;

// Server-side rendering: importing the browser SDK (and making a client) in Node must not touch window.
const SSR_MJS = `const { default: Nango, AuthError } = await import('@keyway/frontend');
new Nango({ host: 'http://127.0.0.1:9', publicKey: 'kw_pk_x' });
console.log(JSON.stringify({ nango: typeof Nango, authError: typeof AuthError, window: typeof window }));
`;

// The README's embedding example: Keyway mounted under /keyway of an existing Express app.
const EMBED_MJS = `import express from 'express';
import { createKeyway, loadConfig } from '@keyway/server';

const port = Number(process.env.APP_PORT);
const app = express();
app.get('/', (_req, res) => res.send('the app'));
const { config } = await loadConfig({ ...process.env, KEYWAY_SERVER_URL: \`http://127.0.0.1:\${port}/keyway\` });
const keyway = await createKeyway(config);
app.use('/keyway', keyway.app);
keyway.backgroundRefresh.start();
app.listen(port, '127.0.0.1', () => console.log('listening'));
`;

const CHECK_TS = `import { Nango, KeywayError, type Connection, type OtherCredentials } from '@keyway/node';
import Frontend, { AuthError, type AuthResult } from '@keyway/frontend';

const backend = new Nango({ host: 'http://127.0.0.1:3003', secretKey: 'kw_sk_x' });
export const token: Promise<string | OtherCredentials> = backend.getToken('slack', 'u1');
export const connection: Promise<Connection> = backend.getConnection('slack', 'u1');
export const isError = (e: unknown): boolean => e instanceof KeywayError;
// Fails to compile unless the real types resolved: with \`any\` the directive itself is an error.
// @ts-expect-error a config key is a string
backend.getToken(42, 'u1');

const browser = new Frontend({ host: 'http://127.0.0.1:3003', publicKey: 'kw_pk_x' });
export const result: Promise<AuthResult> = browser.auth('slack', 'u1');
export const isAuthError = (e: unknown): boolean => e instanceof AuthError;
// @ts-expect-error auth needs a config key
browser.auth();
`;

// CommonJS TypeScript under node16: the require condition's own declarations.
const CHECK_CTS = `import keyway = require('@keyway/node');
export const client: keyway.Nango = new keyway.Nango({ host: 'http://127.0.0.1:3003', secretKey: 'kw_sk_x' });
// @ts-expect-error a connection id is a string
client.getToken('slack', 42);
`;

const tsconfig = (resolution: 'node16' | 'bundler', files: string[]) =>
  JSON.stringify({
    compilerOptions: {
      module: resolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution: resolution,
      target: 'es2022',
      lib: ['es2022', 'dom'],
      types: ['node'],
      strict: true,
      noEmit: true,
    },
    files,
  });

const VITE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>vite app</title></head><body>
<button id="connect">Connect</button><button id="open-connect-ui">Open the Connect UI</button>
<script type="module" src="./main.js"></script></body></html>`;

const VITE_MAIN = `import Nango from '@keyway/frontend';
document.getElementById('connect').addEventListener('click', () => {
  const c = window.cfg;
  new Nango({ host: c.host, connectSessionToken: c.connectSessionToken }).auth('sandbox').then(
    (value) => { window.result = { ok: true, value }; },
    (e) => { window.result = { ok: false, type: e.type, message: e.message }; },
  );
});
// The Connect UI: a lazy chunk of the SDK, framing the page the installed server ships.
document.getElementById('open-connect-ui').addEventListener('click', () => {
  window.uiEvents = [];
  new Nango({ host: window.cfg.host, connectSessionToken: window.cfg.connectSessionToken }).openConnectUI({ onEvent: (e) => window.uiEvents.push(e) });
});
`;

const IIFE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>script tag</title></head><body>
<button id="connect">Connect</button>
<script src="/node_modules/@keyway/frontend/dist/keyway-frontend.iife.js"></script>
<script>
document.getElementById('connect').addEventListener('click', function () {
  var c = window.cfg;
  new Nango({ host: c.host, connectSessionToken: c.connectSessionToken }).auth('sandbox').then(
    function (value) { window.result = { ok: true, value: value }; },
    function (e) { window.result = { ok: false, type: e.type, message: e.message, isAuthError: e instanceof Nango.AuthError }; }
  );
});
</script></body></html>`;

// ---- the run ----

let scratch: string;
let tarballs: Record<string, string>;
let serverBin: string;
let server: ReturnType<typeof startBin>;
let sandbox: ReturnType<typeof startBin>;
let keywayUrl: string;
let sandboxUrl: string;
let secretKey: string;
let web: Server;
let webUrl: string;
let browser: Browser;

const node = (script: string, args: string[] = [], env: Record<string, string> = {}) =>
  run(process.execPath, [script, ...args], { cwd: scratch, env: cleanEnv({ KEYWAY_URL: keywayUrl, KEYWAY_SECRET_KEY: secretKey, ...env }) });

beforeAll(async () => {
  // Pack (and check) what the test command's build produced.
  await run(process.execPath, [join(REPO, 'scripts/pack.mjs')], { cwd: REPO, env: process.env });
  tarballs = Object.fromEntries(PACKAGES.map((p) => [p, join(REPO, 'release', `keyway-${p}.tgz`)]));

  scratch = realpathSync(await mkdtemp(join(tmpdir(), 'keyway-install-')));
  expect(scratch.startsWith(REPO)).toBe(false);
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'keyway-install-check', private: true, type: 'module' }));
  // All five tarballs in one install: their dependencies on each other resolve to these files, never the registry.
  const [keywayPort, sandboxPort, webPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const installed = Promise.all([
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...Object.values(tarballs), '@types/node@20.19.43'], { cwd: scratch, env: cleanEnv() }),
    launchChromium().then((b) => (browser = b)),
  ]);
  await installed;

  // The sandbox provider from its installed bin, sending its consent page to Keyway's callback.
  keywayUrl = `http://127.0.0.1:${keywayPort}`;
  sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  sandbox = startBin(realpathSync(join(scratch, 'node_modules/.bin/keyway-sandbox')), scratch, cleanEnv({ SANDBOX_PORT: String(sandboxPort), SANDBOX_REDIRECT_URIS: `${keywayUrl}/oauth/callback` }));

  // The server from its installed bin on an empty machine: no keys, no database; only its port, the page origin
  // and the sandbox template pointed at this sandbox's port (the shipped template, patched).
  const template = JSON.parse(await readFile(join(scratch, 'node_modules/@keyway/server/templates/keyway-sandbox.json'), 'utf8')) as Record<string, unknown>;
  await mkdir(join(scratch, 'templates'));
  await writeFile(join(scratch, 'templates/keyway-sandbox.json'), JSON.stringify({ ...template, authorization_url: `${sandboxUrl}/auth`, token_url: `${sandboxUrl}/token`, issuer: sandboxUrl }));
  webUrl = `http://127.0.0.1:${webPort}`;
  serverBin = realpathSync(join(scratch, 'node_modules/.bin/keyway-server'));
  // The sandbox provider runs on loopback: the documented opt-in for private targets.
  server = startBin(serverBin, scratch, cleanEnv({ PORT: String(keywayPort), KEYWAY_TEMPLATES_DIR: 'templates', KEYWAY_ALLOWED_ORIGINS: webUrl, KEYWAY_ALLOW_PRIVATE_NETWORK: 'true', KEYWAY_LOG_LEVEL: 'warn' }));

  await Promise.all([
    waitFor('keyway-server', async () => (await fetch(`${keywayUrl}/health`)).ok, server.output),
    waitFor('keyway-sandbox', async () => (await fetch(`${sandboxUrl}/.well-known/openid-configuration`)).ok, sandbox.output),
  ]);
  const secrets = JSON.parse(await readFile(join(scratch, '.keyway/secrets.json'), 'utf8')) as { secret_key: string };
  secretKey = secrets.secret_key;

  // The files a user writes, and the Vite build of the small app.
  await Promise.all([
    writeFile(join(scratch, 'token.cjs'), TOKEN_CJS),
    writeFile(join(scratch, 'token.mjs'), TOKEN_MJS),
    writeFile(join(scratch, 'setup.mjs'), SETUP_MJS),
    writeFile(join(scratch, 'ssr.mjs'), SSR_MJS),
    writeFile(join(scratch, 'session.mjs'), SESSION_MJS),
    writeFile(join(scratch, 'embed.mjs'), EMBED_MJS),
    writeFile(join(scratch, 'check.ts'), CHECK_TS),
    writeFile(join(scratch, 'check.cts'), CHECK_CTS),
    writeFile(join(scratch, 'tsconfig.node16.json'), tsconfig('node16', ['check.ts', 'check.cts'])),
    writeFile(join(scratch, 'tsconfig.bundler.json'), tsconfig('bundler', ['check.ts'])),
    writeFile(join(scratch, 'iife.html'), IIFE_HTML),
    mkdir(join(scratch, 'app')).then(() => Promise.all([writeFile(join(scratch, 'app/index.html'), VITE_HTML), writeFile(join(scratch, 'app/main.js'), VITE_MAIN)])),
  ]);
  await run(process.execPath, [VITE, 'build', '--base', '/app/dist/', '--logLevel', 'error'], { cwd: join(scratch, 'app'), env: cleanEnv() });
  web = await serveStatic(scratch, webPort);
  await node('setup.mjs');
}, 240_000);

afterAll(async () => {
  server?.child.kill('SIGTERM');
  sandbox?.child.kill('SIGTERM');
  await browser?.close();
  await new Promise((r) => (web ? web.close(r) : r(undefined)));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Opens `path` of the app origin, clicks Connect, approves in the sandbox's consent form; returns the outcome. */
async function connectInBrowser(path: string, connectionId: string): Promise<{ ok: boolean; value?: unknown; type?: string; message?: string }> {
  const page: Page = await browser.newPage();
  try {
    await page.goto(`${webUrl}${path}`);
    // As an app's backend does: a connect session for this end user (the default; no public key).
    const res = await fetch(`${keywayUrl}/connect/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ end_user: { id: connectionId }, allowed_integrations: ['sandbox'] }),
    });
    const connectSessionToken = ((await res.json()) as { data: { token: string } }).data.token;
    await page.evaluate((cfg) => Object.assign(window, { cfg }), { host: keywayUrl, connectSessionToken });
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')]);
    await popup.click('#approve');
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
    return await page.evaluate(() => (window as unknown as { result: never }).result);
  } finally {
    await page.close();
  }
}

/** getToken from a script using the installed @keyway/node; the sandbox must accept the token. */
async function tokenFrom(script: 'token.cjs' | 'token.mjs', connectionId: string): Promise<string> {
  const { stdout } = await node(script, ['sandbox', connectionId]);
  const { token, resolved } = JSON.parse(stdout) as { token: string; resolved: string };
  expect(resolved).toMatch(script === 'token.cjs' ? /node_modules\/@keyway\/node\/dist\/cjs\/index\.js$/ : /node_modules\/@keyway\/node\/dist\/esm\/index\.js$/);
  const me = await fetch(`${sandboxUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);
  return token;
}

describe('installed from the packed tarballs', () => {
  it('installs no workspace link and no TypeScript runtime: every package is a copy with compiled bins', async () => {
    for (const p of PACKAGES) {
      const dir = join(scratch, 'node_modules/@keyway', p);
      expect((await stat(dir)).isDirectory() && realpathSync(dir) === dir).toBe(true); // a copy, not a link
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const range of Object.values(pkg.dependencies ?? {})) expect(range).not.toMatch(/^workspace:/);
    }
    expect(existsSync(join(scratch, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(scratch, 'node_modules/typescript'))).toBe(false);
    expect(serverBin).toBe(join(scratch, 'node_modules/@keyway/server/dist/bin.js'));
    // The server found its built-in templates, Connect UI and dashboard inside its own package.
    expect((await fetch(`${keywayUrl}/connect/ui/`)).status).toBe(200);
    expect((await fetch(`${keywayUrl}/dashboard/`)).status).toBe(200);
    const providers = (await (await fetch(`${keywayUrl}/providers`, { headers: { authorization: `Bearer ${secretKey}` } })).json()) as { data: unknown[] };
    expect(providers.data.length).toBeGreaterThan(300);
  });

  it('the Vite app completes nango.auth() through the consent form; CommonJS and ESM scripts then get the token', async () => {
    expect(await connectInBrowser('/app/dist/index.html', 'user-vite')).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'user-vite' } });
    const fromCjs = await tokenFrom('token.cjs', 'user-vite');
    const fromEsm = await tokenFrom('token.mjs', 'user-vite');
    expect(fromEsm).toBe(fromCjs); // one connection, one fresh token (served from the server's cache)
  });

  it('a plain page with the IIFE <script> tag (global Nango) completes nango.auth()', async () => {
    expect(await connectInBrowser('/iife.html', 'user-iife')).toEqual({ ok: true, value: { providerConfigKey: 'sandbox', connectionId: 'user-iife' } });
    await tokenFrom('token.mjs', 'user-iife');
  });

  it('the Vite build took the lazy chunks (Connect UI, credentials form) from the package as files of their own', async () => {
    const { stdout } = await run('ls', [join(scratch, 'app/dist/assets')]);
    expect(stdout).toMatch(/^connect-ui-[\w-]+\.js$/m);
    expect(stdout).toMatch(/^api-auth-[\w-]+\.js$/m);
  });

  it('the Vite app opens the Connect UI (lazy chunk + the page the installed server ships) and connects through it', async () => {
    const connectSessionToken = (await node('session.mjs', ['ui-user'])).stdout.trim();
    const page = await browser.newPage();
    try {
      await page.goto(`${webUrl}/app/dist/index.html`);
      await page.evaluate((cfg) => Object.assign(window, { cfg }), { host: keywayUrl, connectSessionToken });
      await page.click('#open-connect-ui');
      // One allowed integration: the UI opens on it directly.
      const ui = page.frameLocator('iframe');
      await expect.poll(() => ui.locator('h1').textContent(), { timeout: 10_000 }).toBe('Connect Keyway Sandbox');
      const [popup] = await Promise.all([page.waitForEvent('popup'), ui.getByRole('button', { name: 'Connect' }).click()]);
      await popup.click('#approve');
      const events = () => page.evaluate(() => (window as unknown as { uiEvents: unknown[] }).uiEvents);
      await expect.poll(events, { timeout: 15_000 }).toContainEqual({ type: 'connect', payload: { providerConfigKey: 'sandbox', connectionId: 'ui-user' } });
    } finally {
      await page.close();
    }
    await tokenFrom('token.cjs', 'ui-user');
  });

  it('imports @keyway/frontend in Node (server-side rendering) without touching window', async () => {
    const { stdout } = await node('ssr.mjs');
    expect(JSON.parse(stdout)).toEqual({ nango: 'function', authError: 'function', window: 'undefined' });
  });

  it('type-checks an app using both SDKs under moduleResolution node16 and bundler', async () => {
    const configs = ['tsconfig.node16.json', 'tsconfig.bundler.json'];
    const errors = await Promise.all(configs.map((config) => run(process.execPath, [TSC, '-p', config], { cwd: scratch }).then(() => '', (e: { stdout: string }) => e.stdout)));
    expect(Object.fromEntries(configs.map((c, i) => [c, errors[i]]))).toEqual({ 'tsconfig.node16.json': '', 'tsconfig.bundler.json': '' });
  });

  it('embeds in an Express app under /keyway with createKeyway(loadConfig())', async () => {
    const port = await freePort();
    // Its own database: one server per JSON file.
    const embedded = startBin(join(scratch, 'embed.mjs'), scratch, cleanEnv({ APP_PORT: String(port), KEYWAY_DB_PATH: '.keyway-embedded/db.json', KEYWAY_LOG_LEVEL: 'warn' }));
    try {
      await waitFor('the embedding app', async () => (await fetch(`http://127.0.0.1:${port}/keyway/health`)).ok, embedded.output);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('the app');
      const { secret_key } = JSON.parse(await readFile(join(scratch, '.keyway-embedded/secrets.json'), 'utf8')) as { secret_key: string };
      const providers = await fetch(`http://127.0.0.1:${port}/keyway/providers`, { headers: { authorization: `Bearer ${secret_key}` } });
      expect(providers.status).toBe(200);
    } finally {
      embedded.child.kill('SIGTERM');
    }
  });

  it('keyway doctor --json from the installed CLI passes against the installed server', async () => {
    const cli = realpathSync(join(scratch, 'node_modules/.bin/keyway'));
    expect(cli).toBe(join(scratch, 'node_modules/@keyway/cli/dist/bin.js'));
    const { stdout } = await run(process.execPath, [cli, 'doctor', '--json', '--host', keywayUrl], { cwd: scratch, env: cleanEnv({ KEYWAY_TEMPLATES_DIR: 'templates', KEYWAY_ALLOWED_ORIGINS: webUrl }) }).catch(
      (e: { stdout: string; stderr: string }) => ({ stdout: e.stdout || e.stderr }),
    );
    const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; status: string; message: string }[] };
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['server']));
  });
});

/**
 * No Docker engine runs here: what can be checked without one. The Dockerfile installs release/keyway-server.tgz,
 * the tarball the tests above installed, and runs the bin they started, with plain node.
 */
describe('the Dockerfile ships the tested bundle', () => {
  it('copies only files that exist, the tarball installed above, and runs the started bin with node', async () => {
    const dockerfile = await readFile(join(REPO, 'Dockerfile'), 'utf8');
    // One instruction per line (continuations joined), comments dropped.
    const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const copies = lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const args = copy.split(/\s+/).slice(1).filter((a) => !a.startsWith('--'));
      for (const source of args.slice(0, -1)) expect(existsSync(join(REPO, source)), source).toBe(true);
    }
    const sources = copies.flatMap((c) => c.split(/\s+/).slice(1, -1).filter((a) => !a.startsWith('--')));
    expect(sources).toEqual(['release/keyway-server.tgz']);
    const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
    expect(await sha(join(REPO, 'release/keyway-server.tgz'))).toBe(await sha(tarballs.server!));
    // It installs that tarball the way this test did (npm, production dependencies), in its WORKDIR.
    expect(dockerfile).toMatch(/npm install --omit=dev [^\n]*keyway-server\.tgz/);

    const cmd = lines.findLast((l) => /^CMD\s/i.test(l));
    const argv = JSON.parse(cmd!.replace(/^CMD\s+/i, '')) as string[];
    expect(argv[0]).toBe('node');
    expect(join(scratch, argv[1]!)).toBe(serverBin); // the file the test started
    expect(await readFile(serverBin, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    const instructions = lines.join('\n');
    expect(instructions).toMatch(/^USER\s+(?!root)\S+/m);
    expect(instructions).toMatch(/^HEALTHCHECK\s[^\n]*\/health/m);
    expect(instructions).toMatch(/^VOLUME\s+\["?\/data"?\]?/m);
    expect(instructions).toMatch(/^ENV\s[^\n]*KEYWAY_DB_PATH=\/data\//m);
    expect(lines.filter((l) => /^FROM\s/i.test(l)).length).toBeGreaterThanOrEqual(2);
  });
});
