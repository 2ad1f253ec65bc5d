/**
 * The whole demo in one process: the sandbox OAuth provider, a Keyway server and the demo app
 * (JSON API + the Preact app through Vite), all on 127.0.0.1.
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeywayError, Nango, type IntegrationCredentialsInput } from '@keyway/node';
import { DEFAULT_CLIENT, startSandbox } from '@keyway/sandbox';
import { createKeyway, createLogger, loadConfig } from '@keyway/server';
import { createServer as createViteServer } from 'vite';
import { createDemoApp } from './app.ts';

/** The repository's root (where `pnpm demo` runs). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
/** examples/demo: Vite's root. */
export const DEMO_ROOT = resolve(fileURLToPath(new URL('../', import.meta.url)));

export const DEFAULT_DEMO_PORT = 3000;
export const DEFAULT_KEYWAY_PORT = 3003;
export const DEFAULT_SANDBOX_PORT = 3004;
const HOST = '127.0.0.1';

/** The integration the demo always has: the local sandbox provider. */
export const SANDBOX_CONFIG_KEY = 'keyway-sandbox';

/** Real providers the demo adds when `<PREFIX>_CLIENT_ID` and `<PREFIX>_CLIENT_SECRET` are set. */
export const OPTIONAL_PROVIDERS = [
  // Slack's v2 authorize needs at least one scope; override with SLACK_SCOPES.
  { configKey: 'slack', provider: 'slack', envPrefix: 'SLACK', defaultScopes: 'channels:read' },
  { configKey: 'github', provider: 'github', envPrefix: 'GITHUB', defaultScopes: '' },
  { configKey: 'google', provider: 'google', envPrefix: 'GOOGLE', defaultScopes: '' },
] as const;

export interface DemoStackOptions {
  /** Default 3000; 0 = a free port. */
  demoPort?: number;
  /** Default 3003; 0 = a free port. */
  keywayPort?: number;
  /** Default 3004; 0 = a free port. */
  sandboxPort?: number;
  /** Keyway's database, generated secrets and template override. Default `<repo root>/.keyway`. */
  dataDir?: string;
  /** The sandbox's flow pages send `Cross-Origin-Opener-Policy: same-origin` (the SDK must still get the result). */
  sandboxCoop?: boolean;
  /** The sandbox approves at once as its demo user, without the consent page. Default false. */
  sandboxAutoApprove?: boolean;
  /** Lifetime of the sandbox's access tokens. Default: the sandbox's (3600). */
  accessTokenTtlSeconds?: number;
  /** Merged over process.env (Keyway settings, SLACK_CLIENT_ID, ...). */
  env?: NodeJS.ProcessEnv;
  /** No logs from Keyway, Vite or the stack. */
  quiet?: boolean;
}

export interface DemoStack {
  /** The one URL a person opens, e.g. http://127.0.0.1:3000 */
  readonly demoUrl: string;
  readonly keywayUrl: string;
  readonly sandboxUrl: string;
  readonly secretKey: string;
  readonly publicKey: string;
  /** Where Keyway keeps its database and, unless given by env, its generated secrets (`secrets.json`). */
  readonly dataDir: string;
  /** Stops the demo app, Keyway and the sandbox. Safe to call twice. */
  close(): Promise<void>;
}

/** A port that was free a moment ago: Keyway needs its URL, and the sandbox its redirect URI, before they listen. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createNetServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  // A port picked for us (0) is free when picked but bound only later: another process may take it
  // meanwhile (tests start stacks in parallel). Then the whole start is tried again on new ports.
  const picked = options.demoPort === 0 || options.keywayPort === 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (!picked || attempt >= 5 || (e as { code?: unknown })?.code !== 'EADDRINUSE') throw e;
    }
  }
}

async function startOnce(options: DemoStackOptions): Promise<DemoStack> {
  const quiet = options.quiet ?? false;
  const say = (line: string) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  };
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  const dataDir = resolve(options.dataDir ?? join(REPO_ROOT, '.keyway'));

  const pickPort = async (given: number | undefined, fallback: number, name: string) => {
    const port = given ?? fallback;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`${name} must be a port number (0 = any free port), got ${String(port)}`);
    return port === 0 ? freePort() : port;
  };
  const demoPort = await pickPort(options.demoPort, DEFAULT_DEMO_PORT, 'demoPort');
  const keywayPort = await pickPort(options.keywayPort, DEFAULT_KEYWAY_PORT, 'keywayPort');
  const sandboxPort = options.sandboxPort ?? DEFAULT_SANDBOX_PORT; // the sandbox takes 0 itself
  const demoUrl = `http://${HOST}:${demoPort}`;
  const keywayUrl = `http://${HOST}:${keywayPort}`;
  // Keyway's public URL: local by default; an https tunnel to keywayPort when a provider (Slack)
  // accepts only https redirect URLs. The browser and the providers use it; the backend stays local.
  const publicKeywayUrl = env.KEYWAY_SERVER_URL?.trim().replace(/\/+$/, '') || keywayUrl;

  // Closed in reverse order on close() or when a later step fails.
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const stop of closers.reverse()) {
        try {
          await stop();
        } catch {
          /* keep stopping the others */
        }
      }
    })());

  try {
    // 1. The sandbox provider, redirecting only to this Keyway's callback.
    const sandbox = await startSandbox({
      port: sandboxPort,
      host: HOST,
      clients: [{ clientId: DEFAULT_CLIENT.clientId, clientSecret: DEFAULT_CLIENT.clientSecret, redirectUris: [`${publicKeywayUrl}/oauth/callback`] }],
      ...(options.accessTokenTtlSeconds !== undefined && { accessTokenTtlSeconds: options.accessTokenTtlSeconds }),
      crossOriginOpenerPolicy: options.sandboxCoop ?? false,
      autoApprove: options.sandboxAutoApprove ?? false,
    }).catch((e: unknown) => {
      throw portError(e, sandboxPort, 'the sandbox');
    });
    closers.push(() => sandbox.close());

    // 2. Keyway, allowing the browser flow from the demo's origin.
    const keywayEnv: NodeJS.ProcessEnv = {
      ...env,
      PORT: String(keywayPort),
      KEYWAY_HOST: HOST,
      KEYWAY_SERVER_URL: publicKeywayUrl,
      KEYWAY_DB_PATH: join(dataDir, 'db.json'),
      KEYWAY_ALLOWED_ORIGINS: demoUrl,
      // The sandbox provider runs on 127.0.0.1: the demo opts in to loopback targets, which Keyway
      // refuses by default (SSRF guard). A real deployment leaves this off.
      KEYWAY_ALLOW_PRIVATE_NETWORK: 'true',
    };
    if (sandbox.port !== DEFAULT_SANDBOX_PORT) {
      keywayEnv.KEYWAY_TEMPLATES_DIR = await writeSandboxTemplate(dataDir, sandbox, env.KEYWAY_TEMPLATES_DIR);
    }
    const { config, notices } = await loadConfig(keywayEnv, REPO_ROOT);
    // The generated secret key is printed by `pnpm server`; the demo only says where it is kept.
    for (const notice of notices) say(notice.split(config.secretKey).join('<hidden>'));
    const level = quiet ? 'silent' : ((env.KEYWAY_LOG_LEVEL as Parameters<typeof createLogger>[0]) ?? 'info');
    const keyway = await createKeyway(config, createLogger(level));
    closers.push(() => keyway.close());
    await keyway.listen().catch((e: unknown) => {
      throw portError(e, keywayPort, 'Keyway');
    });

    // 3. The integrations, through Keyway's backend API like any app would.
    const nango = new Nango({ host: keywayUrl, secretKey: config.secretKey });
    const sandboxResult = await upsertIntegration(nango, SANDBOX_CONFIG_KEY, 'keyway-sandbox', {
      type: 'OAUTH2',
      client_id: DEFAULT_CLIENT.clientId,
      client_secret: DEFAULT_CLIENT.clientSecret,
    });
    if (sandboxResult === 'created') say(`Created the "${SANDBOX_CONFIG_KEY}" integration.`);
    for (const p of OPTIONAL_PROVIDERS) {
      const clientId = env[`${p.envPrefix}_CLIENT_ID`]?.trim();
      const clientSecret = env[`${p.envPrefix}_CLIENT_SECRET`]?.trim();
      if (!clientId && !clientSecret) continue;
      if (!clientId || !clientSecret) {
        say(`Skipping ${p.configKey}: set both ${p.envPrefix}_CLIENT_ID and ${p.envPrefix}_CLIENT_SECRET.`);
        continue;
      }
      const scopes = env[`${p.envPrefix}_SCOPES`]?.trim() || p.defaultScopes;
      const result = await upsertIntegration(nango, p.configKey, p.provider, {
        type: 'OAUTH2',
        client_id: clientId,
        client_secret: clientSecret,
        ...(scopes && { scopes }),
      });
      say(`${result === 'created' ? 'Created' : 'Updated'} the "${p.configKey}" integration from ${p.envPrefix}_CLIENT_ID / ${p.envPrefix}_CLIENT_SECRET.`);
    }

    // 4. The demo app: one origin for the API and the Preact app (Vite in middleware mode).
    const server: Server = createHttpServer();
    const vite = await createViteServer({
      root: DEMO_ROOT,
      configFile: join(DEMO_ROOT, 'vite.config.ts'),
      // Per data folder, so stacks started in parallel (tests) do not share an optimizer cache.
      cacheDir: join(dataDir, 'vite-cache'),
      appType: 'spa',
      clearScreen: false,
      logLevel: quiet ? 'silent' : 'warn',
      // HMR's websocket on the demo's own server: no second port.
      server: { middlewareMode: true, ws: { server } },
    });
    closers.push(() => vite.close());
    const app = createDemoApp({ keywayHost: publicKeywayUrl, secretKey: config.secretKey, frontend: vite.middlewares });
    server.on('request', app);
    await new Promise<void>((ok, fail) => {
      server.once('error', (e) => fail(portError(e, demoPort, 'the demo')));
      server.listen(demoPort, HOST, () => ok());
    });
    closers.push(
      () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    );

    return {
      demoUrl,
      keywayUrl,
      sandboxUrl: sandbox.url,
      secretKey: config.secretKey,
      publicKey: config.publicKey,
      dataDir,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Creates the integration, or updates its credentials when it exists. */
async function upsertIntegration(nango: Nango, uniqueKey: string, provider: string, credentials: IntegrationCredentialsInput): Promise<'created' | 'updated'> {
  try {
    await nango.createIntegration({ unique_key: uniqueKey, provider, credentials });
    return 'created';
  } catch (e) {
    if (!(e instanceof KeywayError) || e.code !== 'duplicate_provider_config') throw e;
  }
  await nango.updateIntegration({ uniqueKey }, { credentials });
  return 'updated';
}

/**
 * `<dataDir>/templates/keyway-sandbox.json`: the built-in template pointed at a sandbox that is not
 * on 3004. Templates of an existing KEYWAY_TEMPLATES_DIR are copied along, since Keyway reads one such folder.
 */
async function writeSandboxTemplate(
  dataDir: string,
  sandbox: { url: string; authorizationUrl: string; tokenUrl: string },
  userTemplatesDir: string | undefined,
): Promise<string> {
  const dir = join(dataDir, 'templates');
  await mkdir(dir, { recursive: true });
  if (userTemplatesDir) {
    const from = resolve(REPO_ROOT, userTemplatesDir);
    if (from !== dir) {
      for (const file of await readdir(from)) {
        if (file.endsWith('.json') && file !== 'keyway-sandbox.json') await copyFile(join(from, file), join(dir, file));
      }
    }
  }
  const builtIn = join(REPO_ROOT, 'templates', 'keyway-sandbox.json');
  const text = (await readFile(builtIn, 'utf8')).split(`http://${HOST}:${DEFAULT_SANDBOX_PORT}`).join(sandbox.url);
  const template = JSON.parse(text) as Record<string, unknown>;
  template.authorization_url = sandbox.authorizationUrl;
  template.token_url = sandbox.tokenUrl;
  template.issuer = sandbox.url;
  await writeFile(join(dir, 'keyway-sandbox.json'), `${JSON.stringify(template, null, 2)}\n`);
  return dir;
}

/** EADDRINUSE becomes a sentence naming the port and who wanted it. */
function portError(e: unknown, port: number, who: string): unknown {
  if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    return Object.assign(new Error(`Port ${port} (${who}) is already in use on ${HOST}. Stop what uses it, or pass another port.`, { cause: e }), { code: 'EADDRINUSE' });
  }
  return e;
}
