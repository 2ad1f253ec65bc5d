import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../server/src/crypto/keyring.ts';
import { JsonFileStore } from '../../server/src/store/json-file.ts';
import { PostgresStore } from '../../server/src/store/postgres.ts';
import type { Connection } from '../../server/src/store/types.ts';
import { startPostgres } from '../../server/test/support/postgres.ts';
import { run, type Io } from '../src/main.ts';

/** keyway migrate: a JSON store copied into a real PostgreSQL database, verified, with counts. */
let pg: Awaited<ReturnType<typeof startPostgres>>;
let dir: string;
const key = randomBytes(32);

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), mkdtemp(join(tmpdir(), 'keyway-migrate-'))]);
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const connection = (id: string): Connection => ({
  id: `id-${id}`,
  provider_config_key: 'gh',
  connection_id: id,
  provider: 'github',
  credentials: { type: 'OAUTH2', access_token: `token-${id}`, refresh_token: `refresh-${id}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), raw: { scope: 'repo' } },
  connection_config: { team: 't1' },
  metadata: { plan: 'pro', nested: { b: 1, a: 2 } },
  end_user: { id, email: `${id}@example.com` },
  last_refresh_failure: null,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
});

describe('keyway migrate', () => {
  it('copies integrations and connections into PostgreSQL, verifies them, and reports counts', async () => {
    const from = join(dir, 'db.json');
    const json = await JsonFileStore.open(from, new Keyring([key]));
    const now = new Date().toISOString();
    await json.putIntegration({ unique_key: 'gh', provider: 'github', display_name: 'GitHub', client_id: 'cid', client_secret: 'the-client-secret', scopes: ['repo'], created_at: now, updated_at: now });
    const written = new Map<string, Connection>();
    for (const id of ['u1', 'u2', 'u3']) {
      written.set(id, connection(id));
      await json.writeConnection('gh', id, () => written.get(id)!);
    }
    await json.close();

    let stdout = '';
    let stderr = '';
    const io: Io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { KEYWAY_ENCRYPTION_KEY: key.toString('base64') }, cwd: dir, isTTY: false };
    const code = await run(['migrate', '--from', from, '--to', pg.url], io);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toMatch(/Copying: 4\/4/);
    expect(stdout).toMatch(/Copied and verified 1 integrations and 3 connections into PostgreSQL\./);

    const store = await PostgresStore.open(pg.url, new Keyring([key]));
    try {
      expect((await store.getIntegration('gh'))?.client_secret).toBe('the-client-secret');
      expect(await store.getConnection('gh', 'u2')).toEqual(written.get('u2'));
      const { connections, total } = await store.listConnections({ limit: 10, offset: 0 });
      expect(total).toBe(3);
      expect(connections.map((c) => (c.credentials as { access_token: string }).access_token).sort()).toEqual(['token-u1', 'token-u2', 'token-u3']);
    } finally {
      await store.close();
    }
  });

  it('refuses a missing file and a URL that is not PostgreSQL, with usage-level messages', async () => {
    let stderr = '';
    const io: Io = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: { KEYWAY_ENCRYPTION_KEY: key.toString('base64') }, cwd: dir, isTTY: false };
    expect(await run(['migrate', '--from', join(dir, 'nope.json'), '--to', pg.url], io)).toBe(1);
    expect(stderr).toMatch(/does not exist/);
    expect(await run(['migrate', '--from', join(dir, 'db.json'), '--to', 'mysql://x'], io)).toBe(1);
    expect(await run(['migrate', '--to', pg.url], io)).toBe(2);
  });
});
