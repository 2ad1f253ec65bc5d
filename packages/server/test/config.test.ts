import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseConfig, secretsPathOf, unsetSecrets } from '../src/config/environment.ts';
import { SecretsFile } from '../src/config/secrets-file.ts';

/**
 * Configuration in its two parts: the pure parser (environment -> Config or one ConfigError, no
 * I/O) and the secrets file (keys generated on first start, 0600, reused). startup.test.ts covers
 * loadConfig and the binary end to end.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-config-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const KEPT = {
  encryption_key: randomBytes(32).toString('base64'),
  secret_key: 'kw_sk_kept_secret_key_0123',
  public_key: 'kw_pk_kept_public',
  webhook_secret: `whsec_${randomBytes(32).toString('base64')}`,
};

describe('parseConfig (pure)', () => {
  it('reads the environment, taking unset keys from the kept ones, and touches no file', async () => {
    const env = { KEYWAY_DB_PATH: 'data/db.json', KEYWAY_SECRET_KEY: 'kw_sk_from_the_environment', PORT: '4000', KEYWAY_TEMPLATES_DIR: 'missing-templates' };
    const config = parseConfig(env, dir, KEPT);
    expect(config.port).toBe(4000);
    expect(config.dbPath).toBe(join(dir, 'data', 'db.json'));
    expect(config.secretKey).toBe('kw_sk_from_the_environment');
    expect(config.publicKey).toBe(KEPT.public_key);
    expect(config.webhookSecret).toBe(KEPT.webhook_secret);
    expect(Buffer.from(config.encryptionKeys[0]!).toString('base64')).toBe(KEPT.encryption_key);
    // The templates folder is resolved, not checked: that is loadConfig's file-system step.
    expect(config.templatesDirs.at(-1)).toBe(join(dir, 'missing-templates'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the variable when a key is neither in the environment nor kept', () => {
    expect(() => parseConfig({}, dir, { ...KEPT, public_key: undefined })).toThrow(new ConfigError('KEYWAY_PUBLIC_KEY: not set'));
    expect(() => parseConfig({}, dir, { ...KEPT, encryption_key: undefined })).toThrow(/^KEYWAY_ENCRYPTION_KEY: not set$/);
  });

  it('answers a bad value with one ConfigError naming the variable', () => {
    expect(() => parseConfig({ PORT: 'eighty' }, dir, KEPT)).toThrow(/^PORT: "eighty" is not a port number$/);
    expect(() => parseConfig({ KEYWAY_DATABASE_URL: 'postgres://db/keyway' }, dir, KEPT)).toThrow(/^KEYWAY_DATABASE_URL: set KEYWAY_ENCRYPTION_KEY/);
    expect(() => parseConfig({}, dir, { ...KEPT, encryption_key: 'c2hvcnQ=' })).toThrow(ConfigError);
  });

  it('lists the keys the environment leaves to the secrets file', () => {
    expect(unsetSecrets({ KEYWAY_SECRET_KEY: 'x', KEYWAY_WEBHOOK_SECRET: '' })).toEqual(['encryption_key', 'public_key']);
    expect(secretsPathOf({ KEYWAY_DB_PATH: 'a/db.json' }, dir)).toBe(join(dir, 'a', 'secrets.json'));
  });
});

describe('SecretsFile', () => {
  it('generates only the missing keys, keeps fields it does not know, and writes 0600 even over a wider file', async () => {
    const path = join(dir, 'data', 'secrets.json');
    await mkdir(join(dir, 'data'));
    await writeFile(path, JSON.stringify({ secret_key: KEPT.secret_key, public_key: '', note: 'mine' }));
    await chmod(path, 0o644);
    const file = await SecretsFile.read(path);
    expect(file.generate(['secret_key', 'public_key', 'encryption_key'])).toEqual(['public_key', 'encryption_key']);
    await file.save();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    expect(saved).toMatchObject({ secret_key: KEPT.secret_key, note: 'mine' });
    expect(saved.public_key).toMatch(/^kw_pk_/);
    expect(Buffer.from(saved.encryption_key!, 'base64')).toHaveLength(32);

    const again = await SecretsFile.read(path);
    expect(again.generate(['secret_key', 'public_key', 'encryption_key', 'webhook_secret'])).toEqual(['webhook_secret']);
    expect(again.secrets).toMatchObject({ secret_key: KEPT.secret_key, public_key: saved.public_key, encryption_key: saved.encryption_key });
  });

  it('is empty when absent, and a ConfigError when it is not a JSON object', async () => {
    expect((await SecretsFile.read(join(dir, 'none.json'))).secrets).toEqual({});
    const path = join(dir, 'secrets.json');
    await writeFile(path, '[1]');
    await expect(SecretsFile.read(path)).rejects.toThrow(new ConfigError(`${path}: not valid JSON (not an object); fix or remove it`));
  });
});

describe('loadConfig', () => {
  it('writes no secrets.json when the configuration is refused', async () => {
    const env = { KEYWAY_DB_PATH: join(dir, 'db.json') };
    await expect(loadConfig({ ...env, KEYWAY_TEMPLATES_DIR: join(dir, 'nowhere') }, dir)).rejects.toThrow(/^KEYWAY_TEMPLATES_DIR: .* does not exist$/);
    await expect(loadConfig({ ...env, KEYWAY_ALLOWED_ORIGINS: 'not an origin' }, dir)).rejects.toThrow(/^KEYWAY_ALLOWED_ORIGINS/);
    expect(await readdir(dir)).toEqual([]);
    const { notices } = await loadConfig(env, dir);
    expect(notices).toHaveLength(4);
    expect(await readdir(dir)).toEqual(['secrets.json']);
  });
});
