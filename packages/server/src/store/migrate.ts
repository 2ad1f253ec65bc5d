import { readdir, readFile } from 'node:fs/promises';
import type { Pool } from 'pg';

/** Versioned SQL files beside this module: `migrations/NNN_name.sql`, applied in order, once. */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/**
 * Key of the transaction-level advisory lock held while migrating, so instances starting at once
 * take turns: the first applies what is missing, the others find it applied. (Any constant that
 * no other application on the database uses; this one is "keyway" in ASCII.)
 */
export const MIGRATION_LOCK = 0x6b6579776179n;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/.exec(file);
    if (!m) throw new MigrationError(`migration file ${file}: name it NNN_name.sql`);
    const version = Number(m[1]);
    if (migrations.some((x) => x.version === version)) throw new MigrationError(`two migrations numbered ${version}`);
    migrations.push({ version, name: m[2]!, sql: await readFile(new URL(file, dir), 'utf8') });
  }
  return migrations;
}

/**
 * Brings the database to the latest schema: one transaction holding
 * pg_advisory_xact_lock(MIGRATION_LOCK) creates `keyway_migrations` if needed, applies each
 * migration not recorded there, and records it. A failure rolls all of it back. Refuses a
 * database migrated by a newer Keyway (a version this code does not know).
 */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<{ applied: number[] }> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS keyway_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM keyway_migrations')).rows.map((r) => r.version));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v)).sort((a, b) => a - b);
    if (unknown.length > 0) {
      throw new MigrationError(`the database has schema version ${unknown.at(-1)}, newer than this Keyway knows (${Math.max(0, ...known)}); upgrade Keyway`);
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      try {
        await client.query(m.sql);
      } catch (e) {
        throw new MigrationError(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`);
      }
      await client.query('INSERT INTO keyway_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return { applied };
  } catch (e) {
    failed = e;
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release(failed instanceof MigrationError ? undefined : (failed as Error | undefined));
  }
}
