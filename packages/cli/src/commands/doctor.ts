import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { KeywayError, Nango } from '@keyway/node';
import { DEFAULT_HOST, stringFlag, type CommandSpec, type Context } from '../context.ts';
import { dbPathOf, secretsPathOf } from '../environment.ts';
import { loadLocalConfig, type LocalConfig } from '../local-config.ts';
import { BUILT_IN_TEMPLATES_DIR, FILE_COLLECTIONS, JournaledJsonFile, Keyring, keyId, RecordCodec, TemplateCatalog, type StoredConnection, type StoredIntegration } from '../server-internals.ts';

export interface Check {
  readonly name: string;
  readonly status: 'ok' | 'fail' | 'skip';
  readonly message: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

interface Db {
  readonly integrations: StoredIntegration[];
  readonly connections: StoredConnection[];
}

const DOCTOR_TIMEOUT_SECONDS = 5;
const SYMBOL = { ok: '✓', fail: '✗', skip: '-' } as const;

export const doctor: CommandSpec = {
  path: ['doctor'],
  summary: 'check the configuration, database, encryption key, templates and the server',
  details:
    'Reads the configuration as keyway-server would here (environment and ./.env) without generating\n' +
    'anything, opens nothing for writing, and asks the server GET /health and GET /integrations.\n' +
    'Exit 0 when every check passes, 1 otherwise. With --json: { ok, checks: [{ name, status, message, fix }] }.',
  examples: ['keyway doctor', 'KEYWAY_DB_PATH=/var/lib/keyway/db.json keyway doctor --host https://keyway.example.com'],
  async run(ctx) {
    const checks = await diagnose(ctx);
    const ok = checks.every((c) => c.status !== 'fail');
    if (ctx.json) {
      ctx.out.data({ ok, checks });
      return ok ? 0 : 1;
    }
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) ctx.out.line(`${SYMBOL[c.status]} ${c.name.padEnd(width)}  ${c.message}${c.fix ? ` → ${c.fix}` : ''}`);
    const failed = checks.filter((c) => c.status === 'fail').length;
    ctx.out.line(ok ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
    return ok ? 0 : 1;
  },
};

async function diagnose(ctx: Context): Promise<Check[]> {
  const checks: Check[] = [];
  const loaded = await loadLocalConfig(ctx.env, ctx.io.cwd);
  checks.push(configCheck(ctx, loaded));

  let db: Db | undefined;
  if (loaded.ok && loaded.config.databaseUrl) {
    // The file checks do not apply; never print the URL (it may hold a password).
    const why = `not checked: KEYWAY_DATABASE_URL is set (PostgreSQL at ${hostOf(loaded.config.databaseUrl)}); the doctor checks the JSON file store only`;
    checks.push({ name: 'database', status: 'skip', message: why }, { name: 'encryption key', status: 'skip', message: why });
  } else {
    const dbPath = loaded.ok ? loaded.config.dbPath : dbPathOf(ctx.env, ctx.io.cwd);
    const database = await databaseCheck(dbPath, secretsPathOf(ctx.env, ctx.io.cwd));
    db = database.db;
    checks.push(database.check);
    checks.push(await encryptionCheck(loaded, dbPath, db));
  }
  checks.push(await templatesCheck(ctx, loaded, db));

  const explicitHost = stringFlag(ctx.flags, 'host') ?? (ctx.env.KEYWAY_SERVER_URL || undefined);
  const host = explicitHost ?? (loaded.ok ? loaded.config.serverUrl : DEFAULT_HOST);
  const timeoutMs = ctx.timeoutMs(DOCTOR_TIMEOUT_SECONDS);
  const server = await serverCheck(host, timeoutMs);
  checks.push(server);
  checks.push(server.status === 'ok' ? await secretKeyCheck(ctx, host, timeoutMs) : { name: 'secret key', status: 'skip', message: 'not checked (the server is not reachable)' });
  return checks;
}

function configCheck(ctx: Context, loaded: LocalConfig): Check {
  const name = 'configuration';
  const dotenv = ctx.loaded.dotenvPath;
  if (ctx.loaded.dotenvError) return { name, status: 'fail', message: `cannot read ${ctx.loaded.dotenvError}`, fix: 'make .env readable, or remove it' };
  if (!loaded.ok) return { name, status: 'fail', message: loaded.error, fix: `correct that variable (in the environment${dotenv ? ` or ${dotenv}` : ''})` };
  const from = dotenv ? `environment + ${dotenv}` : 'environment';
  const generate = loaded.wouldGenerate.length > 0 ? `; the server will generate ${loaded.wouldGenerate.join(', ')} into secrets.json at its next start` : '';
  return { name, status: 'ok', message: `loads (${from}); server URL ${loaded.config.serverUrl}${generate}` };
}

async function databaseCheck(dbPath: string, secretsPath: string): Promise<{ check: Check; db?: Db }> {
  const name = 'database';
  let info;
  try {
    info = await stat(dbPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { check: { name, status: 'fail', message: `${dbPath} does not exist`, fix: 'start the server once to create it, or set KEYWAY_DB_PATH to the existing file' } };
    return { check: { name, status: 'fail', message: `${dbPath}: ${code ?? (e as Error).message}`, fix: 'run as the user the server runs as' } };
  }
  try {
    await readFile(dbPath); // readable by this user
  } catch (e) {
    return { check: { name, status: 'fail', message: `${dbPath} is not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix: 'run as the user the server runs as, or fix the owner of the file' } };
  }
  let data: unknown;
  try {
    // The file with its journal applied, as the server reads it (recent changes are in the journal).
    data = await new JournaledJsonFile<object>(dbPath, FILE_COLLECTIONS).read();
  } catch (e) {
    return { check: { name, status: 'fail', message: `${dbPath} is not valid JSON (${(e as Error).message})`, fix: 'restore it from a backup' } };
  }
  if (!isDb(data)) return { check: { name, status: 'fail', message: `${dbPath} is not a Keyway database (unexpected content)`, fix: 'point KEYWAY_DB_PATH at the Keyway database' } };
  const db: Db = data;
  if (process.platform !== 'win32') {
    for (const [path, mode] of [[dbPath, info.mode], [secretsPath, await stat(secretsPath).then((s) => s.mode, () => undefined)]] as const) {
      if (mode !== undefined && (mode & 0o004) !== 0) {
        return { check: { name, status: 'fail', message: `${path} is readable by every user (mode ${octal(mode)})`, fix: `chmod 600 ${path}` }, db };
      }
    }
  }
  return {
    check: { name, status: 'ok', message: `${dbPath} (${count(db.integrations.length, 'integration')}, ${count(db.connections.length, 'connection')}, mode ${octal(info.mode)})` },
    db,
  };
}

async function encryptionCheck(loaded: LocalConfig, dbPath: string, db: Db | undefined): Promise<Check> {
  const name = 'encryption key';
  if (!loaded.ok) return { name, status: 'skip', message: 'not checked (the configuration does not load)' };
  if (!db) return { name, status: 'skip', message: 'not checked (no usable database)' };
  const records = db.integrations.length + db.connections.length;
  if (loaded.wouldGenerate.includes('KEYWAY_ENCRYPTION_KEY')) {
    if (records === 0) return { name, status: 'ok', message: 'none yet; the server will generate one (nothing is stored yet)' };
    return {
      name,
      status: 'fail',
      message: `no key: neither KEYWAY_ENCRYPTION_KEY nor secrets.json has one, and ${count(records, 'record')} are sealed`,
      fix: 'set KEYWAY_ENCRYPTION_KEY to the key the database was written with, or restore secrets.json beside it',
    };
  }
  const pid = await lockHolder(dbPath);
  if (pid !== undefined) return { name, status: 'ok', message: `in use by the server (pid ${pid}): decryption not checked` };

  const keyring = new Keyring(loaded.config.encryptionKeys);
  const codec = new RecordCodec(keyring);
  let failed = 0;
  let stale = 0;
  let firstError = '';
  const attempt = async (sealed: string, open: () => Promise<unknown>) => {
    try {
      await open();
      if (isStale(keyring, sealed)) stale++;
    } catch (e) {
      failed++;
      firstError ||= (e as Error).message;
    }
  };
  for (const s of db.integrations) await attempt(s.client_secret, () => codec.openIntegration(s));
  for (const s of db.connections) await attempt(s.credentials, () => codec.openConnection(s));
  const current = keyId(loaded.config.encryptionKeys[0]!);
  if (failed > 0) {
    return {
      name,
      status: 'fail',
      message: `KEYWAY_ENCRYPTION_KEY (key id ${current}) cannot decrypt ${failed} of ${count(records, 'record')}: ${firstError}`,
      fix: 'set KEYWAY_ENCRYPTION_KEY to the key the database was written with; after a change of key give "new,old"',
    };
  }
  const staleNote = stale > 0 ? `; ${stale} sealed with an older key: run keyway reencrypt (server stopped) before dropping it` : '';
  return { name, status: 'ok', message: `decrypts all ${count(records, 'record')} (current key id ${current})${staleNote}` };
}

async function templatesCheck(ctx: Context, loaded: LocalConfig, db: Db | undefined): Promise<Check> {
  const name = 'templates';
  const extraDir = ctx.env.KEYWAY_TEMPLATES_DIR ? resolve(ctx.io.cwd, ctx.env.KEYWAY_TEMPLATES_DIR) : undefined;
  const dirs = loaded.ok ? loaded.config.templatesDirs : [BUILT_IN_TEMPLATES_DIR, ...(extraDir ? [extraDir] : [])];
  let catalog: TemplateCatalog;
  let overridden: string[];
  try {
    ({ catalog, overridden } = await TemplateCatalog.load(dirs));
  } catch (e) {
    return { name, status: 'fail', message: (e as Error).message, fix: 'fix or remove the template named above' };
  }
  const missing = (db?.integrations ?? []).filter((i) => catalog.get(i.provider) === undefined);
  if (missing.length > 0) {
    const list = missing.map((i) => `"${i.unique_key}" uses "${i.provider}"`).join(', ');
    return { name, status: 'fail', message: `integrations use templates that are not installed: ${list}`, fix: 'put those templates in KEYWAY_TEMPLATES_DIR, or delete the integrations' };
  }
  const where = extraDir ? `built-in + ${extraDir}` : 'built-in';
  const replaced = overridden.length > 0 ? `; ${overridden.join(', ')} replaced by KEYWAY_TEMPLATES_DIR` : '';
  return { name, status: 'ok', message: `${count(catalog.list().length, 'template')} load (${where})${replaced}` };
}

async function serverCheck(host: string, timeoutMs: number): Promise<Check> {
  const name = 'server';
  let url: URL;
  try {
    url = new URL(`${host.replace(/\/+$/, '')}/health`);
  } catch {
    return { name, status: 'fail', message: `"${host}" is not a URL`, fix: 'pass --host http://127.0.0.1:3003 or set KEYWAY_SERVER_URL' };
  }
  const fix = 'start it (pnpm server, or keyway-server), or pass --host / set KEYWAY_SERVER_URL to where it listens';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    const body = (await res.json().catch(() => undefined)) as { status?: unknown } | undefined;
    if (!res.ok || body?.status !== 'ok') return { name, status: 'fail', message: `${url.href} answered ${res.status}, not a Keyway server's { status: "ok" }`, fix };
    return { name, status: 'ok', message: `reachable at ${url.origin}${url.pathname.replace(/\/health$/, '')} (GET /health)` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { name, status: 'fail', message: `cannot reach ${url.origin}: ${why}`, fix };
  }
}

async function secretKeyCheck(ctx: Context, host: string, timeoutMs: number): Promise<Check> {
  const name = 'secret key';
  const secret = ctx.secretKey();
  if (!secret) return { name, status: 'fail', message: 'none to check', fix: 'set KEYWAY_SECRET_KEY (the one the server runs with) or pass --secret-key' };
  try {
    const { configs } = await new Nango({ host, secretKey: secret.key, timeoutMs }).listIntegrations();
    return { name, status: 'ok', message: `accepted (GET /integrations: ${count(configs.length, 'integration')}; from ${secret.source})` };
  } catch (e) {
    if (e instanceof KeywayError && e.status !== 0) {
      return { name, status: 'fail', message: `refused (${e.code}: ${e.message}); from ${secret.source}`, fix: 'use the KEYWAY_SECRET_KEY the server runs with' };
    }
    return { name, status: 'fail', message: `GET /integrations failed: ${(e as Error).message}`, fix: 'check the server' };
  }
}

/** The pid in the database's lock file, if that process is alive (a running server). */
async function lockHolder(dbPath: string): Promise<number | undefined> {
  const pid = Number((await readFile(`${dbPath}.lock`, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function isStale(keyring: Keyring, sealed: string): boolean {
  try {
    return keyring.isStale(sealed);
  } catch {
    return false;
  }
}

function isDb(d: unknown): d is Db {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return o.version === 1 && Array.isArray(o.integrations) && Array.isArray(o.connections);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
