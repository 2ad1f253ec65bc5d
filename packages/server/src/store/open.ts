import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { JsonFileStore } from './json-file.ts';
import { PostgresStore } from './postgres.ts';
import type { Store } from './types.ts';

/** The store the configuration names: PostgreSQL when KEYWAY_DATABASE_URL is set, else the JSON file. */
export async function openStore(config: Pick<Config, 'databaseUrl' | 'dbPath'>, keyring: Keyring): Promise<Store> {
  if (config.databaseUrl) return PostgresStore.open(config.databaseUrl, keyring);
  return JsonFileStore.open(config.dbPath, keyring);
}
