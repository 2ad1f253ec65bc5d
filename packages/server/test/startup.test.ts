import { oauth2 } from './support/keyway.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { Keyring } from '../src/crypto/keyring.ts';
import { JsonFileStore } from '../src/store/json-file.ts';
import type { Connection } from '../src/store/types.ts';

const BIN = fileURLToPath(new URL('../bin/keyway-server.js', import.meta.url));
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-start-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Runs the real keyway-server binary with a clean environment; it must exit at once with one line. */
async function startFails(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [BIN], { cwd: dir, env: { PATH: process.env.PATH!, PORT: '0', KEYWAY_DB_PATH: join(dir, 'db.json'), ...env }, timeout: 20_000 });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

describe('a wrong configuration stops the start with one clear line', () => {
  it('an encryption key of the wrong length', async () => {
    const { code, stderr } = await startFails({ KEYWAY_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^keyway-server: KEYWAY_ENCRYPTION_KEY: key 1 decodes to 16 bytes, expected 32/)]);
  });

  it('a template with a missing field names the file and the field', async () => {
    await mkdir(join(dir, 'tpl'));
    await writeFile(join(dir, 'tpl', 'broken.json'), JSON.stringify({ display_name: 'Broken', categories: ['other'], docs: 'https://x.example', auth_mode: 'OAUTH2', authorization_url: 'https://x.example/a' }));
    const { code, stderr } = await startFails({ KEYWAY_TEMPLATES_DIR: join(dir, 'tpl') });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^keyway-server: template .*broken\.json: field `token_url` is missing$/);
  });

  it('an unreadable database file', async () => {
    await writeFile(join(dir, 'db.json'), '{ not json');
    const { code, stderr } = await startFails({});
    expect(code).toBe(1);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^keyway-server: KEYWAY_DB_PATH .*db\.json is not a readable Keyway database/);
  });

  it('an allowed origin that is not an origin', async () => {
    const { code, stderr } = await startFails({ KEYWAY_ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path' });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('keyway-server: KEYWAY_ALLOWED_ORIGINS: "https://bad.example/path" is not an origin like https://app.example.com');
  });
});

describe('logs and metrics settings', () => {
  it('refuses a log format other than json or pretty', async () => {
    const { code, stderr } = await startFails({ KEYWAY_LOG_FORMAT: 'xml' });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('keyway-server: KEYWAY_LOG_FORMAT: "xml" must be json or pretty');
  });

  it('checks the metrics token and port', async () => {
    const env = { KEYWAY_DB_PATH: join(dir, 'db.json'), KEYWAY_SECRET_KEY: 'secret-key-0123456789', KEYWAY_PUBLIC_KEY: 'public-key-0123456789', PORT: '3003' };
    await expect(loadConfig({ ...env, KEYWAY_METRICS_TOKEN: 'short' }, dir)).rejects.toThrow(/^KEYWAY_METRICS_TOKEN: must be at least 16 characters/);
    await expect(loadConfig({ ...env, KEYWAY_METRICS_TOKEN: env.KEYWAY_PUBLIC_KEY }, dir)).rejects.toThrow(/^KEYWAY_METRICS_TOKEN: must differ from KEYWAY_PUBLIC_KEY/);
    await expect(loadConfig({ ...env, KEYWAY_METRICS_PORT: '3003' }, dir)).rejects.toThrow(/^KEYWAY_METRICS_PORT: must differ from PORT/);
    await expect(loadConfig({ ...env, KEYWAY_METRICS_PORT: 'nine' }, dir)).rejects.toThrow(/^KEYWAY_METRICS_PORT: "nine" is not a port number/);
    const { config } = await loadConfig({ ...env, KEYWAY_METRICS_TOKEN: 'metrics-token-0123456789', KEYWAY_METRICS_PORT: '9464' }, dir);
    expect([config.metricsToken, config.metricsPort]).toEqual(['metrics-token-0123456789', 9464]);
    const none = await loadConfig(env, dir);
    expect([none.config.metricsToken, none.config.metricsPort]).toEqual([null, null]);
  });
});

describe('webhook settings', () => {
  it('refuses a webhook secret that is not whsec_ and base64 of at least 24 bytes', async () => {
    await expect(loadConfig({ KEYWAY_DB_PATH: join(dir, 'db.json'), KEYWAY_WEBHOOK_SECRET: 'plain-secret' }, dir)).rejects.toThrow(/^KEYWAY_WEBHOOK_SECRET: must be whsec_/);
    await expect(loadConfig({ KEYWAY_DB_PATH: join(dir, 'db.json'), KEYWAY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(8).toString('base64')}` }, dir)).rejects.toThrow(/KEYWAY_WEBHOOK_SECRET/);
    const ok = await loadConfig({ KEYWAY_DB_PATH: join(dir, 'db.json'), KEYWAY_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}`, KEYWAY_WEBHOOK_LEGACY_SIGNATURE: 'true' }, dir);
    expect(ok.config.webhookLegacySignature).toBe(true);
  });
});

describe('generated keys', () => {
  it('are made once, kept in a 0600 file beside the DB, and reused', async () => {
    const env = { KEYWAY_DB_PATH: join(dir, 'data', 'db.json') };
    const first = await loadConfig(env, dir);
    expect(first.notices.join('\n')).toMatch(/Generated an encryption key/);
    expect(first.notices.join('\n')).toContain(first.config.secretKey);
    const file = join(dir, 'data', 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const second = await loadConfig(env, dir);
    expect(second.notices).toEqual([]);
    expect(second.config.secretKey).toBe(first.config.secretKey);
    expect(second.config.publicKey).toBe(first.config.publicKey);
    // The webhook signing secret is a key of its own, kept the same way.
    expect(first.config.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(first.config.webhookSecret).not.toContain(first.config.secretKey);
    expect(JSON.parse(await readFile(file, 'utf8')).webhook_secret).toBe(first.config.webhookSecret);
    expect(second.config.webhookSecret).toBe(first.config.webhookSecret);
    expect(second.config.webhookLegacySignature).toBe(false);
    expect(Buffer.from(second.config.encryptionKeys[0]!).equals(Buffer.from(first.config.encryptionKeys[0]!))).toBe(true);
  });
});

const connection = (id: string, token: string): Connection => ({
  id: `id-${id}`,
  provider_config_key: 'app',
  connection_id: id,
  provider: 'github',
  credentials: { type: 'OAUTH2', access_token: token, raw: { access_token: token } },
  connection_config: {},
  metadata: {},
  end_user: null,
  last_refresh_failure: null,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
});

describe('the JSON store', () => {
  it('refuses a second process (or instance) on the same file', async () => {
    const path = join(dir, 'db.json');
    const keyring = new Keyring([randomBytes(32)]);
    const a = await JsonFileStore.open(path, keyring);
    await expect(JsonFileStore.open(path, keyring)).rejects.toThrow(/in use by another Keyway server \(pid \d+\)/);
    await a.close();
    const b = await JsonFileStore.open(path, keyring); // the lock is released on close
    await b.close();
  });

  it('reads back what it wrote, rotates keys, and refuses a ciphertext moved to another row', async () => {
    const path = join(dir, 'db.json');
    const oldKey = randomBytes(32);
    const store = await JsonFileStore.open(path, new Keyring([oldKey]));
    await store.writeConnection('app', 'alice', () => connection('alice', 'token-of-alice'));
    await store.writeConnection('app', 'bob', () => connection('bob', 'token-of-bob'));
    await store.close();
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('token-of-alice');

    // Rotation: a new current key, the old one still decrypts.
    const rotated = await JsonFileStore.open(path, new Keyring([randomBytes(32), oldKey]));
    expect(oauth2((await rotated.getConnection('app', 'alice'))!).access_token).toBe('token-of-alice');
    await rotated.close();

    // Without the old key the start fails clearly instead of serving nothing.
    await expect(JsonFileStore.open(path, new Keyring([randomBytes(32)]))).rejects.toThrow(/cannot decrypt its records with KEYWAY_ENCRYPTION_KEY/);

    // Bob's ciphertext pasted into Alice's row is refused, not served as Alice's token.
    const data = JSON.parse(text);
    const bob = data.connections.find((c: { connection_id: string }) => c.connection_id === 'bob');
    data.connections.find((c: { connection_id: string }) => c.connection_id === 'alice').credentials = bob.credentials;
    await writeFile(path, JSON.stringify(data));
    await expect(JsonFileStore.open(path, new Keyring([oldKey]))).rejects.toThrow(/another record/);
  });

  it('serialises concurrent writes to one connection so none is lost', async () => {
    const store = await JsonFileStore.open(join(dir, 'db.json'), new Keyring([randomBytes(32)]));
    await store.writeConnection('app', 'c', () => connection('c', 't'));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.writeConnection('app', 'c', (cur) => ({ ...cur!, metadata: { ...cur!.metadata, [`k${i}`]: i } })),
      ),
    );
    expect(Object.keys((await store.getConnection('app', 'c'))!.metadata)).toHaveLength(50);
    await store.close();
    const again = await JsonFileStore.open(join(dir, 'db.json'), new Keyring([randomBytes(32)])).catch((e: Error) => e);
    expect(again).toBeInstanceOf(Error); // other key: sanity check that the file really was written encrypted
  });
});
