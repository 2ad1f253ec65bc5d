import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadedEnv {
  /** The `.env` of the working directory under the real environment (real variables win, as in keyway-server). */
  readonly env: Env;
  /** Path of the `.env` read, if any. */
  readonly dotenvPath: string | undefined;
  /** Why the `.env` could not be read, if it exists but could not be. */
  readonly dotenvError: string | undefined;
}

export function loadEnv(env: Env, cwd: string): LoadedEnv {
  const path = join(cwd, '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { env, dotenvPath: undefined, dotenvError: code === 'ENOENT' ? undefined : `${path}: ${code ?? (e as Error).message}` };
  }
  return { env: { ...parseEnv(text), ...definedOnly(env) }, dotenvPath: path, dotenvError: undefined };
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The database path exactly as the server's loadConfig resolves it. */
export function dbPathOf(env: Env, cwd: string): string {
  return resolve(cwd, env.KEYWAY_DB_PATH || './.keyway/db.json');
}

/** `secrets.json` beside the database: where the server keeps the keys it generated. */
export function secretsPathOf(env: Env, cwd: string): string {
  return join(dirname(dbPathOf(env, cwd)), 'secrets.json');
}

export interface GeneratedSecrets {
  readonly encryption_key?: string;
  readonly secret_key?: string;
  readonly public_key?: string;
  readonly webhook_secret?: string;
}

/** The keys the server generated, read only; `undefined` when the file is absent or unusable. */
export function readSecretsFile(path: string): GeneratedSecrets | undefined {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
    const pick = (k: string) => {
      const v = (data as Record<string, unknown>)[k];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const secrets: { -readonly [K in keyof GeneratedSecrets]: GeneratedSecrets[K] } = {};
    const encryptionKey = pick('encryption_key');
    const secretKey = pick('secret_key');
    const publicKey = pick('public_key');
    if (encryptionKey !== undefined) secrets.encryption_key = encryptionKey;
    if (secretKey !== undefined) secrets.secret_key = secretKey;
    if (publicKey !== undefined) secrets.public_key = publicKey;
    const webhookSecret = pick('webhook_secret');
    if (webhookSecret !== undefined) secrets.webhook_secret = webhookSecret;
    return secrets;
  } catch {
    return undefined;
  }
}

/** The variables the server generates into secrets.json when they are unset, and the file's field for each. */
export const GENERATED = [
  ['KEYWAY_ENCRYPTION_KEY', 'encryption_key'],
  ['KEYWAY_SECRET_KEY', 'secret_key'],
  ['KEYWAY_PUBLIC_KEY', 'public_key'],
  ['KEYWAY_WEBHOOK_SECRET', 'webhook_secret'],
] as const;

/** Stand-ins given to loadConfig for keys that are nowhere yet, so that it has nothing to generate (and so nothing to write). */
const PLACEHOLDERS: Record<(typeof GENERATED)[number][0], string> = {
  KEYWAY_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
  KEYWAY_SECRET_KEY: 'kw_sk_placeholder_of_keyway_cli',
  KEYWAY_PUBLIC_KEY: 'kw_pk_placeholder_of_keyway_cli',
  KEYWAY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32).toString('base64')}`,
};

export interface ConfigInput {
  /** The environment to give loadConfig: every generated key is set, so loadConfig cannot write secrets.json. */
  readonly env: Env;
  /** Variables set neither in the environment nor in secrets.json: the server would generate them at its next start. */
  readonly wouldGenerate: readonly string[];
}

/**
 * Prepares a side-effect-free loadConfig: a key found in secrets.json is passed as is (the same
 * value loadConfig would read there), one found nowhere gets a stand-in and is reported instead
 * of generated. loadConfig only writes when it generates, so with all three set it only reads.
 */
export function configInput(env: Env, cwd: string): ConfigInput {
  const secrets = readSecretsFile(secretsPathOf(env, cwd)) ?? {};
  const filled: Record<string, string | undefined> = { ...env };
  const wouldGenerate: string[] = [];
  for (const [name, field] of GENERATED) {
    if (filled[name] !== undefined) continue;
    const kept = secrets[field];
    if (kept !== undefined) filled[name] = kept;
    else {
      filled[name] = PLACEHOLDERS[name];
      wouldGenerate.push(name);
    }
  }
  return { env: filled, wouldGenerate };
}
