import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateWebhookSecret } from '../webhooks/signature.ts';
import { ConfigError, type KeptSecrets, type SecretName } from './environment.ts';

/** How each key is made on first start (the shapes `keyway keys` prints as well). */
const MAKE: Record<SecretName, () => string> = {
  encryption_key: () => randomBytes(32).toString('base64'),
  secret_key: () => `kw_sk_${randomBytes(24).toString('base64url')}`,
  public_key: () => `kw_pk_${randomBytes(16).toString('base64url')}`,
  webhook_secret: generateWebhookSecret,
};

/**
 * The keys a single server made for itself on first start, kept in a 0600 file beside the database
 * (`secrets.json`) and reused by every later start: the encryption key above all, without which
 * the stored connections cannot be read. Fields it does not know are kept as they are.
 */
export class SecretsFile {
  readonly #data: Record<string, unknown>;

  private constructor(
    readonly path: string,
    data: Record<string, unknown>,
  ) {
    this.#data = data;
  }

  /** The file's keys; none when it does not exist yet. A file that cannot be read or parsed is a ConfigError. */
  static async read(path: string): Promise<SecretsFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new SecretsFile(path, {});
      throw new ConfigError(`${path}: cannot read (${(e as Error).message})`);
    }
    try {
      const data = JSON.parse(text) as unknown;
      if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not an object');
      return new SecretsFile(path, data as Record<string, unknown>);
    } catch (e) {
      throw new ConfigError(`${path}: not valid JSON (${(e as Error).message}); fix or remove it`);
    }
  }

  /** The kept keys (a field that is not a non-empty string counts as absent). */
  get secrets(): KeptSecrets {
    const kept: KeptSecrets = {};
    for (const name of Object.keys(MAKE) as SecretName[]) {
      const value = this.#data[name];
      if (typeof value === 'string' && value !== '') kept[name] = value;
    }
    return kept;
  }

  /** Makes each of `names` the file does not hold yet, in memory; returns the ones made (save() keeps them). */
  generate(names: readonly SecretName[]): SecretName[] {
    const kept = this.secrets;
    const made = names.filter((name) => kept[name] === undefined);
    for (const name of made) this.#data[name] = MAKE[name]();
    return made;
  }

  /** Writes the file, readable by its owner only (0600, also when it existed with a wider mode). */
  async save(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFile(this.path, JSON.stringify(this.#data, null, 2) + '\n', { mode: 0o600 });
    await chmod(this.path, 0o600);
  }
}
