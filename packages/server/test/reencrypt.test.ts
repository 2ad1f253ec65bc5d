import { oauth2 } from './support/keyway.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keyring, keyId } from '../src/crypto/keyring.ts';
import { JsonFileStore } from '../src/store/json-file.ts';
import type { Connection } from '../src/store/types.ts';

const BIN = fileURLToPath(new URL('../bin/keyway-server.js', import.meta.url));
const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

let dir: string;
let dbPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-reencrypt-'));
  dbPath = join(dir, 'db.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Runs the real binary with a clean environment (no .env: cwd is the temp dir). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, timeout: 20_000, env: { PATH: process.env.PATH!, KEYWAY_DB_PATH: dbPath, KEYWAY_SECRET_KEY: 'reencrypt-secret-key-0123', KEYWAY_PUBLIC_KEY: 'reencrypt-public', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const now = () => new Date().toISOString();
const connection = (id: string): Connection => ({
  id: `id-${id}`,
  provider_config_key: 'app',
  connection_id: id,
  provider: 'github',
  credentials: { type: 'OAUTH2', access_token: `access-${id}`, refresh_token: `refresh-${id}`, raw: { access_token: `access-${id}` } },
  connection_config: {},
  metadata: { n: id },
  end_user: null,
  last_refresh_failure: null,
  created_at: now(),
  updated_at: now(),
});

/** Fills a store under key A alone: one integration, 25 connections (flows live in memory: none in the file). */
async function fillUnderKeyA(): Promise<string[]> {
  const store = await JsonFileStore.open(dbPath, new Keyring([KEY_A]));
  await store.putIntegration({ unique_key: 'app', provider: 'github', display_name: 'App', client_id: 'cid', client_secret: 'client-secret-A', scopes: [], created_at: now(), updated_at: now() });
  const ids = Array.from({ length: 25 }, (_, i) => `c${i}`);
  for (const id of ids) await store.writeConnection('app', id, () => connection(id));
  await store.close();
  return ids;
}

/** The `kid` of every sealed value in the file. */
async function kidsOnDisk(): Promise<string[]> {
  const data = JSON.parse(await readFile(dbPath, 'utf8')) as {
    integrations: { client_secret: string }[];
    connections: { credentials: string }[];
  };
  const sealed = [
    ...data.integrations.map((i) => i.client_secret),
    ...data.connections.map((c) => c.credentials),
  ];
  return sealed.map((jwe) => (JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid);
}

describe('keyway-server reencrypt', () => {
  it('re-seals every record under the new key, after which the old key can be dropped', async () => {
    const ids = await fillUnderKeyA();
    expect(new Set(await kidsOnDisk())).toEqual(new Set([keyId(KEY_A)]));

    const { code, stdout, stderr } = await run(['reencrypt'], { KEYWAY_ENCRYPTION_KEY: `${b64(KEY_B)},${b64(KEY_A)}` });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`^Re-encrypted \\d+ records under key ${keyId(KEY_B)}$`));
    expect(stdout).toMatch(/Re-encrypting: \d+\/\d+/);

    const kids = await kidsOnDisk();
    expect(kids).toHaveLength(1 + 25);
    expect(kids.every((k) => k === keyId(KEY_B))).toBe(true);

    // Key B alone opens it and every secret reads back.
    const store = await JsonFileStore.open(dbPath, new Keyring([KEY_B]));
    try {
      expect((await store.getIntegration('app'))?.client_secret).toBe('client-secret-A');
      for (const id of ids) expect(oauth2((await store.getConnection('app', id))!).refresh_token).toBe(`refresh-${id}`);
    } finally {
      await store.close();
    }
  });

  it('refuses while a server holds the database, with one line and exit 1', async () => {
    await fillUnderKeyA();
    const holder = await JsonFileStore.open(dbPath, new Keyring([KEY_A])); // this process stands in for the server
    try {
      const { code, stdout, stderr } = await run(['reencrypt'], { KEYWAY_ENCRYPTION_KEY: `${b64(KEY_B)},${b64(KEY_A)}` });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`in use by another Keyway server \\(pid ${process.pid}\\)`))]);
    } finally {
      await holder.close();
    }
    expect(new Set(await kidsOnDisk())).toEqual(new Set([keyId(KEY_A)]));
  });

  it('fails with one line when the old key is missing', async () => {
    await fillUnderKeyA();
    const { code, stderr } = await run(['reencrypt'], { KEYWAY_ENCRYPTION_KEY: b64(KEY_B) });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^keyway-server reencrypt: .*cannot decrypt its records with KEYWAY_ENCRYPTION_KEY/)]);
    expect(new Set(await kidsOnDisk())).toEqual(new Set([keyId(KEY_A)]));
  });

  it('fails with one line when there is no database, and creates none', async () => {
    const { code, stderr } = await run(['reencrypt'], { KEYWAY_ENCRYPTION_KEY: b64(KEY_B) });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([`keyway-server reencrypt: KEYWAY_DB_PATH ${dbPath} does not exist: nothing to re-encrypt`]);
    expect(existsSync(dbPath)).toBe(false);
  });
});

describe('keyway-server --help', () => {
  it('lists the commands and the environment variables', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['reencrypt', 'PORT', 'KEYWAY_DB_PATH', 'KEYWAY_ENCRYPTION_KEY', 'KEYWAY_SERVER_URL', 'KEYWAY_LOG_LEVEL']) expect(stdout).toContain(word);
  });

  it('rejects an unknown command', async () => {
    const { code, stderr } = await run(['frobnicate']);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('keyway-server: unknown command "frobnicate" (see keyway-server --help)');
  });
});
