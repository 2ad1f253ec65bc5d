import { dirname, join, resolve } from 'node:path';
import { parseEncryptionKeys } from '../crypto/keyring.ts';
import { BUILT_IN_TEMPLATES_DIR } from '../templates/catalog.ts';
import { webhookKey } from '../webhooks/signature.ts';

/**
 * The environment as a Config: a pure function (no file, no clock, no randomness), so it can be
 * run, tested and reused without side effects. Keys the environment leaves unset come from
 * `kept` (what secrets-file.ts keeps beside the database); config.ts's loadConfig composes the two.
 */

/** Everything the server needs to start, validated. Built by loadConfig, or by hand in tests. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** The public base URL, no trailing slash; the callback is `${serverUrl}/oauth/callback`. */
  readonly serverUrl: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly dbPath: string;
  /** PostgreSQL instead of the JSON file (`postgres://...`): many instances, one database. */
  readonly databaseUrl: string | null;
  /** 32-byte keys, the first one encrypts. */
  readonly encryptionKeys: readonly Uint8Array[];
  /** Built-in templates first; a later folder's template replaces one of the same name. */
  readonly templatesDirs: readonly string[];
  /** Exact origins (`https://app.example.com`) allowed to run the browser flow. */
  readonly allowedOrigins: readonly string[];
  /** Time-out of every request to a provider. */
  readonly providerTimeoutMs: number;
  /** Lifetime of a started flow's state. */
  readonly flowTtlMs: number;
  /**
   * Let requests for connections reach loopback and private addresses (a GitLab on the LAN, the
   * local sandbox). Off by default: end users choose some hosts, and these would be SSRF.
   */
  readonly allowPrivateNetwork: boolean;
  /** Flow starts (`/oauth/connect`, `/api-auth`) a minute per client address; 0 = no limit. */
  readonly flowStartsPerMinutePerAddress: number;
  /** Flow starts a minute per key (the public key, or each connect session); 0 = no limit. */
  readonly flowStartsPerMinutePerKey: number;
  /** Path of the WebSocket the official `@nangohq/frontend` opens (its `websocketsPath`; `/` as Nango). */
  readonly websocketsPath: string;
  /** Open WebSockets per client address; 0 = no limit. */
  readonly websocketsPerAddress: number;
  /** Activity log entries older than this many days are deleted (KEYWAY_LOG_RETENTION_DAYS). */
  readonly logRetentionDays: number;
  /** At most this many activity log entries are kept, newest first (KEYWAY_LOG_MAX_ENTRIES). */
  readonly logMaxEntries: number;
  /** A Bearer token that opens `GET /metrics` (and nothing else), besides the secret key; null = none. */
  readonly metricsToken?: string | null;
  /** Also serve `GET /metrics` without a token on this port, bound to 127.0.0.1; null = off. */
  readonly metricsPort?: number | null;
  /**
   * Refuse public-key flows: every flow needs a connect session from the app's backend. True unless
   * the operator opts in with KEYWAY_ALLOW_PUBLIC_KEY=true (unsafe for multi-user apps: anyone with
   * the public key picks the connection id; such flows may create connections, never replace one).
   */
  readonly requireConnectSession: boolean;
  /** Where auth webhooks go; null = none. */
  readonly webhookUrl: string | null;
  /** Signs webhooks (`whsec_...`, Standard Webhooks); never the API's secret key. */
  readonly webhookSecret: string;
  /** Also send Nango's legacy X-Nango-Signature (SHA-256 of secret + body): off unless asked for. */
  readonly webhookLegacySignature: boolean;
  /** How often the background job looks for connections to refresh; 0 = off. */
  readonly backgroundRefreshIntervalMs: number;
  /** The job refreshes connections whose credentials are older than this (keeps refresh tokens from going stale). */
  readonly backgroundRefreshAfterMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The keys the server may generate and keep when the environment sets none, by their field in secrets.json. */
export const GENERATED_SECRETS = {
  encryption_key: 'KEYWAY_ENCRYPTION_KEY',
  secret_key: 'KEYWAY_SECRET_KEY',
  public_key: 'KEYWAY_PUBLIC_KEY',
  webhook_secret: 'KEYWAY_WEBHOOK_SECRET',
} as const;
export type SecretName = keyof typeof GENERATED_SECRETS;
export type KeptSecrets = Partial<Record<SecretName, string>>;

/** The database path: KEYWAY_DB_PATH, resolved against `cwd`. */
export function dbPathOf(env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, env.KEYWAY_DB_PATH || './.keyway/db.json');
}

/** Where generated keys are kept: `secrets.json` beside the database. */
export function secretsPathOf(env: NodeJS.ProcessEnv, cwd: string): string {
  return join(dirname(dbPathOf(env, cwd)), 'secrets.json');
}

/** The keys the environment leaves unset (in the order of GENERATED_SECRETS): these come from secrets.json. */
export function unsetSecrets(env: NodeJS.ProcessEnv): SecretName[] {
  return (Object.keys(GENERATED_SECRETS) as SecretName[]).filter((name) => env[GENERATED_SECRETS[name]] === undefined);
}

/**
 * Reads the environment into a Config. Anything wrong stops here with one ConfigError naming the
 * variable and the problem (Nango's #914: a bad key must not become a crash loop). A key the
 * environment does not set is taken from `kept`; one in neither is an error.
 */
export function parseConfig(env: NodeJS.ProcessEnv, cwd: string, kept: KeptSecrets = {}): Config {
  const port = parsePort(env.PORT ?? '3003');
  const host = env.KEYWAY_HOST ?? '127.0.0.1';
  const serverUrl = parseServerUrl(env.KEYWAY_SERVER_URL ?? `http://127.0.0.1:${port}`);
  const dbPath = dbPathOf(env, cwd);
  const keptSecret = (name: SecretName): string => {
    const value = kept[name];
    if (!value) throw new ConfigError(`${GENERATED_SECRETS[name]}: not set`);
    return value;
  };

  // Several instances on one database must share their keys: none may make its own.
  if (env.KEYWAY_DATABASE_URL && (!env.KEYWAY_ENCRYPTION_KEY || !env.KEYWAY_SECRET_KEY || !env.KEYWAY_PUBLIC_KEY)) {
    throw new ConfigError('KEYWAY_DATABASE_URL: set KEYWAY_ENCRYPTION_KEY, KEYWAY_SECRET_KEY and KEYWAY_PUBLIC_KEY explicitly; every instance must share them');
  }
  let encryptionKeys: Uint8Array[];
  if (env.KEYWAY_ENCRYPTION_KEY !== undefined) {
    try {
      encryptionKeys = parseEncryptionKeys(env.KEYWAY_ENCRYPTION_KEY);
    } catch (e) {
      throw new ConfigError(`KEYWAY_ENCRYPTION_KEY: ${(e as Error).message} (give base64 of 32 random bytes, e.g. from \`openssl rand -base64 32\`)`);
    }
  } else {
    try {
      encryptionKeys = parseEncryptionKeys(keptSecret('encryption_key'));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`KEYWAY_ENCRYPTION_KEY: the key kept in secrets.json: ${(e as Error).message}`);
    }
  }

  const secretKey = env.KEYWAY_SECRET_KEY ?? keptSecret('secret_key');
  const publicKey = env.KEYWAY_PUBLIC_KEY ?? keptSecret('public_key');
  if (secretKey.length < 16) throw new ConfigError('KEYWAY_SECRET_KEY: must be at least 16 characters');
  if (publicKey.length < 8) throw new ConfigError('KEYWAY_PUBLIC_KEY: must be at least 8 characters');
  if (secretKey === publicKey) throw new ConfigError('KEYWAY_PUBLIC_KEY: must differ from KEYWAY_SECRET_KEY');
  // Instances behind one database must sign webhooks alike: none may make its own secret.
  if (env.KEYWAY_DATABASE_URL && env.KEYWAY_WEBHOOK_URL && !env.KEYWAY_WEBHOOK_SECRET) {
    throw new ConfigError('KEYWAY_WEBHOOK_SECRET: set it explicitly with KEYWAY_DATABASE_URL and KEYWAY_WEBHOOK_URL; every instance must sign webhooks with it');
  }
  const webhookSecret = env.KEYWAY_WEBHOOK_SECRET ?? keptSecret('webhook_secret');
  try {
    webhookKey(webhookSecret);
  } catch (e) {
    throw new ConfigError(`KEYWAY_WEBHOOK_SECRET: ${(e as Error).message}`);
  }

  // Whether the folder exists is checked by loadConfig (a file-system question, not a parse).
  const templatesDirs = [BUILT_IN_TEMPLATES_DIR];
  if (env.KEYWAY_TEMPLATES_DIR) templatesDirs.push(resolve(cwd, env.KEYWAY_TEMPLATES_DIR));

  return {
    port,
    host,
    serverUrl,
    secretKey,
    publicKey,
    dbPath,
    databaseUrl: env.KEYWAY_DATABASE_URL ? parseDatabaseUrl(env.KEYWAY_DATABASE_URL) : null,
    encryptionKeys,
    templatesDirs,
    allowedOrigins: parseOrigins(env.KEYWAY_ALLOWED_ORIGINS ?? ''),
    providerTimeoutMs: parsePositiveInt('KEYWAY_PROVIDER_TIMEOUT_MS', env.KEYWAY_PROVIDER_TIMEOUT_MS ?? '10000'),
    flowTtlMs: 10 * 60_000,
    allowPrivateNetwork: parseBoolean('KEYWAY_ALLOW_PRIVATE_NETWORK', env.KEYWAY_ALLOW_PRIVATE_NETWORK ?? 'false'),
    flowStartsPerMinutePerAddress: parseWholeNumber('KEYWAY_RATE_LIMIT_FLOWS_PER_ADDRESS', env.KEYWAY_RATE_LIMIT_FLOWS_PER_ADDRESS ?? '60'),
    flowStartsPerMinutePerKey: parseWholeNumber('KEYWAY_RATE_LIMIT_FLOWS_PER_KEY', env.KEYWAY_RATE_LIMIT_FLOWS_PER_KEY ?? '600'),
    websocketsPath: parseWebsocketsPath(env.KEYWAY_WEBSOCKETS_PATH ?? '/'),
    websocketsPerAddress: parseWholeNumber('KEYWAY_WEBSOCKETS_PER_ADDRESS', env.KEYWAY_WEBSOCKETS_PER_ADDRESS ?? '20'),
    logRetentionDays: parsePositiveInt('KEYWAY_LOG_RETENTION_DAYS', env.KEYWAY_LOG_RETENTION_DAYS ?? '14'),
    logMaxEntries: parsePositiveInt('KEYWAY_LOG_MAX_ENTRIES', env.KEYWAY_LOG_MAX_ENTRIES ?? '50000'),
    metricsToken: parseMetricsToken(env.KEYWAY_METRICS_TOKEN, secretKey, publicKey),
    metricsPort: env.KEYWAY_METRICS_PORT ? parseMetricsPort(env.KEYWAY_METRICS_PORT, port) : null,
    requireConnectSession: parseSessionRequirement(env),
    webhookUrl: env.KEYWAY_WEBHOOK_URL ? parseWebhookUrl(env.KEYWAY_WEBHOOK_URL) : null,
    webhookSecret,
    webhookLegacySignature: parseBoolean('KEYWAY_WEBHOOK_LEGACY_SIGNATURE', env.KEYWAY_WEBHOOK_LEGACY_SIGNATURE ?? 'false'),
    backgroundRefreshIntervalMs: parseWholeNumber('KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS', env.KEYWAY_BACKGROUND_REFRESH_INTERVAL_SECONDS ?? '3600') * 1000,
    backgroundRefreshAfterMs: parsePositiveInt('KEYWAY_BACKGROUND_REFRESH_AFTER_HOURS', env.KEYWAY_BACKGROUND_REFRESH_AFTER_HOURS ?? '168') * 3_600_000,
  };
}

function parseMetricsToken(value: string | undefined, secretKey: string, publicKey: string): string | null {
  if (value === undefined || value === '') return null;
  if (value.length < 16) throw new ConfigError('KEYWAY_METRICS_TOKEN: must be at least 16 characters');
  if (value === publicKey) throw new ConfigError('KEYWAY_METRICS_TOKEN: must differ from KEYWAY_PUBLIC_KEY (the public key is in every browser)');
  return value === secretKey ? null : value;
}

function parseMetricsPort(value: string, apiPort: number): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`KEYWAY_METRICS_PORT: "${value}" is not a port number`);
  if (port === apiPort) throw new ConfigError('KEYWAY_METRICS_PORT: must differ from PORT');
  return port;
}

function parseWebsocketsPath(value: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(value)) throw new ConfigError(`KEYWAY_WEBSOCKETS_PATH: "${value}" is not a path like / or /ws`);
  return value;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT: "${value}" is not a port number`);
  return port;
}

function parsePositiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name}: "${value}" is not a positive whole number`);
  return n;
}

function parseWholeNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}: "${value}" is not a whole number (0 turns it off)`);
  return n;
}

function parseBoolean(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0' || value === '') return false;
  throw new ConfigError(`${name}: "${value}" must be true or false`);
}

/**
 * Connect sessions are required unless KEYWAY_ALLOW_PUBLIC_KEY=true. The older switch,
 * KEYWAY_REQUIRE_CONNECT_SESSION, may still say true; saying false alone no longer opens the public
 * key (a configuration written for the old default must opt in by name).
 */
function parseSessionRequirement(env: NodeJS.ProcessEnv): boolean {
  const allowPublicKey = parseBoolean('KEYWAY_ALLOW_PUBLIC_KEY', env.KEYWAY_ALLOW_PUBLIC_KEY ?? 'false');
  const require = env.KEYWAY_REQUIRE_CONNECT_SESSION;
  if (require !== undefined && require !== '') {
    const required = parseBoolean('KEYWAY_REQUIRE_CONNECT_SESSION', require);
    if (required && allowPublicKey) throw new ConfigError('KEYWAY_ALLOW_PUBLIC_KEY: true contradicts KEYWAY_REQUIRE_CONNECT_SESSION=true; set one of them');
    if (!required && !allowPublicKey) {
      throw new ConfigError('KEYWAY_REQUIRE_CONNECT_SESSION: false no longer allows public-key flows; set KEYWAY_ALLOW_PUBLIC_KEY=true to accept them (unsafe for multi-user apps)');
    }
  }
  return !allowPublicKey;
}

function parseDatabaseUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    /* reported below */
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw new ConfigError('KEYWAY_DATABASE_URL: must be a postgres:// URL (postgres://user:password@host:5432/database)');
  }
  return value;
}

function parseWebhookUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`KEYWAY_WEBHOOK_URL: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('KEYWAY_WEBHOOK_URL: must be http(s)');
  return url.href;
}

function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`KEYWAY_SERVER_URL: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('KEYWAY_SERVER_URL: must be http(s)');
  if (url.search || url.hash || url.username) throw new ConfigError('KEYWAY_SERVER_URL: must be a base URL without query, fragment or credentials');
  return url.href.replace(/\/+$/, '');
}

/** Exact origins only: a scheme, a host and an optional port; no wildcard, no path. */
export function parseOrigins(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let url: URL | undefined;
      try {
        url = new URL(s);
      } catch {
        /* reported below */
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== s.replace(/\/$/, '')) {
        throw new ConfigError(`KEYWAY_ALLOWED_ORIGINS: "${s}" is not an origin like https://app.example.com`);
      }
      return url.origin;
    });
}
