import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import { Keyring } from '../crypto/keyring.ts';
import { StoreError } from './json-file.ts';
import { openStore } from './open.ts';

export interface ReencryptResult {
  readonly resealed: number;
  readonly total: number;
  /** The key everything is sealed under now (the first of KEYWAY_ENCRYPTION_KEY). */
  readonly keyId: string;
}

/**
 * `keyway-server reencrypt` and `keyway reencrypt`: re-seals every stored secret under the current
 * key, in whichever store the configuration names, so older keys can then be dropped.
 * The JSON file: its lock makes it refuse while a server runs. PostgreSQL: safe while servers run,
 * once every instance has the new key first in KEYWAY_ENCRYPTION_KEY.
 */
export async function reencrypt(
  config: Pick<Config, 'databaseUrl' | 'dbPath' | 'encryptionKeys'>,
  onProgress?: (done: number, total: number) => void,
): Promise<ReencryptResult> {
  if (!config.databaseUrl && !existsSync(config.dbPath)) throw new StoreError(`KEYWAY_DB_PATH ${config.dbPath} does not exist: nothing to re-encrypt`);
  const keyring = new Keyring(config.encryptionKeys);
  const store = await openStore(config, keyring);
  try {
    const { resealed, total } = await store.resealAll(onProgress);
    return { resealed, total, keyId: keyring.currentKeyId };
  } finally {
    await store.close();
  }
}
