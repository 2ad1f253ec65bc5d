import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyway, type Keyway, type KeywayOverrides } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { createLogger, type LogFormat } from '../../src/log.ts';
import { BUILT_IN_TEMPLATES_DIR } from '../../src/templates/catalog.ts';

export const SECRET_KEY = 'test-secret-key-0123456789';
export const PUBLIC_KEY = 'test-public-key-0123';
/** Config that opts in to public-key flows (KEYWAY_ALLOW_PUBLIC_KEY=true): tests of the public key's behaviour. */
export const ALLOW_PUBLIC_KEY = { requireConnectSession: false } as const;
/** The webhook signing secret of test servers (`whsec_` + base64 of 32 bytes). */
export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

export interface TestKeyway {
  readonly keyway: Keyway;
  readonly url: string;
  readonly config: Config;
  readonly dir: string;
  /** Fetch against the backend API with the secret key. */
  api(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A real Keyway server on 127.0.0.1 (ephemeral port) with its own DB and extra templates. */
export async function startKeyway(
  options: { templates?: Record<string, unknown>; config?: Partial<Config>; dir?: string; logs?: string[]; logFormat?: LogFormat; overrides?: KeywayOverrides } = {},
): Promise<TestKeyway> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'keyway-test-')));
  const templatesDir = join(dir, 'templates');
  await mkdir(templatesDir, { recursive: true });
  for (const [name, t] of Object.entries(options.templates ?? {})) await writeFile(join(templatesDir, `${name}.json`), JSON.stringify(t));
  // The server must know its public URL before it listens: a free port is picked first. Another
  // process (test files run in parallel) may bind it before we do: then we try again on a new one.
  for (let attempt = 1; ; attempt++) {
    const port = options.config?.port ?? (await freePort());
    try {
      return await startOn(port, dir, templatesDir, options);
    } catch (e) {
      if (options.config?.port !== undefined || attempt >= 5 || (e as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') throw e;
    }
  }
}

async function startOn(
  port: number,
  dir: string,
  templatesDir: string,
  options: { config?: Partial<Config>; dir?: string; logs?: string[]; logFormat?: LogFormat; overrides?: KeywayOverrides },
): Promise<TestKeyway> {
  const config: Config = {
    port,
    host: '127.0.0.1',
    serverUrl: `http://127.0.0.1:${port}`,
    secretKey: SECRET_KEY,
    publicKey: PUBLIC_KEY,
    dbPath: join(dir, 'db.json'),
    databaseUrl: null,
    encryptionKeys: [randomBytes(32)],
    templatesDirs: [BUILT_IN_TEMPLATES_DIR, templatesDir],
    allowedOrigins: [],
    websocketsPath: '/',
    websocketsPerAddress: 0,
    providerTimeoutMs: 2000,
    flowTtlMs: 10 * 60_000,
    // The tests' providers (the sandbox, fake providers) run on 127.0.0.1: the explicit opt-in.
    allowPrivateNetwork: true,
    // Tests start many flows from 127.0.0.1; the rate-limit tests set their own limits.
    flowStartsPerMinutePerAddress: 0,
    flowStartsPerMinutePerKey: 0,
    requireConnectSession: true, // the default; tests of public-key flows opt in with ALLOW_PUBLIC_KEY
    webhookUrl: null,
    webhookSecret: WEBHOOK_SECRET,
    webhookLegacySignature: false,
    backgroundRefreshIntervalMs: 0,
    backgroundRefreshAfterMs: 7 * 24 * 3_600_000,
    logRetentionDays: 14,
    logMaxEntries: 50_000,
    ...options.config,
  };
  const logs = options.logs;
  const keyway = await createKeyway(config, createLogger('debug', (line) => logs?.push(line), { format: options.logFormat ?? 'pretty' }), options.overrides);
  const { url } = await keyway.listen().catch(async (e: unknown) => {
    await keyway.close();
    throw e;
  });
  return {
    keyway,
    url,
    config,
    dir,
    async api(path, init = {}) {
      const res = await fetch(url + path, {
        ...init,
        headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body };
    },
    async close() {
      await keyway.close();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A connect session token made by the backend (secret key): its flows connect `endUserId`. */
export async function sessionToken(url: string, endUserId: string): Promise<string> {
  return postSession(url, '/connect/sessions', { end_user: { id: endUserId } });
}

/** A reconnect session token: its flows may replace the credentials of this one existing connection. */
export async function reconnectToken(url: string, integrationId: string, connectionId: string): Promise<string> {
  return postSession(url, '/connect/sessions/reconnect', { integration_id: integrationId, connection_id: connectionId });
}

async function postSession(url: string, path: string, body: unknown): Promise<string> {
  const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as { data?: { token: string } };
  if (res.status !== 201 || !answer.data) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer.data.token;
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The OAuth 2.0 credentials of a stored connection (tests know which kind they made). */
export const oauth2 = (c: { credentials: unknown }) => c.credentials as import('../../src/store/types.ts').OAuth2Credentials;
