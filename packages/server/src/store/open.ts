import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { JsonFileStore } from './json-file.ts';
import type { Store } from './types.ts';

/** The store the configuration names: the JSON file by default (PostgreSQL: KEYWAY_DATABASE_URL). */
export async function openStore(config: Config, keyring: Keyring): Promise<Store> {
  return JsonFileStore.open(config.dbPath, keyring);
}
