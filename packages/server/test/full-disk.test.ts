import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeyway } from './support/keyway.ts';
import { readDb } from './support/json-db.ts';

/**
 * The JSON database on a real, tiny filesystem that fills up: a tmpfs mounted by the test. Mounting
 * needs root (CI and our machines run as root); elsewhere the test is skipped with its reason.
 */
const SIZE = '400k';
let dir: string;
let mount: string | undefined;
let skipReason: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-full-disk-'));
  const target = await mkdtemp(join(tmpdir(), 'keyway-tmpfs-'));
  try {
    if (process.getuid?.() !== 0) throw new Error('not running as root');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0700`, 'tmpfs', target], { stdio: 'pipe' });
    mount = target;
  } catch (e) {
    skipReason = `cannot mount a ${SIZE} tmpfs (${(e as Error).message.split('\n')[0]})`;
    console.warn(`full-disk.test.ts skipped: ${skipReason}`);
    await rm(target, { recursive: true, force: true });
  }
});

afterAll(async () => {
  if (mount) {
    execFileSync('umount', [mount]);
    await rm(mount, { recursive: true, force: true });
  }
  await rm(dir, { recursive: true, force: true });
});

describe('a JSON database whose disk fills up', () => {
  it('answers 507 storage_full, keeps serving reads, and after a restart holds every acknowledged write', async (ctx) => {
    if (!mount) return ctx.skip(skipReason);
    const config = { dbPath: join(mount, 'db.json'), encryptionKeys: [randomBytes(32)] };
    const logs: string[] = [];
    let kw = await startKeyway({ dir, config, logs });
    const acknowledged: string[] = [];
    let full: { status: number; body: any } | undefined;
    // Each integration adds ~1.6 KB of sealed JSON: the 400 KB disk fills after a few hundred.
    for (let i = 0; i < 2000 && !full; i++) {
      const key = `integration-${i}`;
      const res = await kw.api('/integrations', {
        method: 'POST',
        body: JSON.stringify({ unique_key: key, provider: 'github', credentials: { type: 'OAUTH2', client_id: `id-${i}`, client_secret: randomBytes(600).toString('base64') } }),
      });
      if (res.status === 201 || res.status === 200) acknowledged.push(key);
      else full = res;
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(full?.status).toBe(507);
    expect(full?.body.error.code).toBe('storage_full');
    expect(logs.filter((l) => l.includes('disk is full'))).toHaveLength(1);

    // The process stays up and serves reads; a refused change is not visible in memory either.
    const list = await kw.api('/integrations');
    expect(list.status).toBe(200);
    expect((list.body.data as { unique_key: string }[]).map((i) => i.unique_key).sort()).toEqual([...acknowledged].sort());
    // A second refused write answers the same way.
    const again = await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'one-more', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'x', client_secret: randomBytes(600).toString('base64') } }) });
    expect([again.status, again.body.error?.code]).toEqual([507, 'storage_full']);
    await kw.close();

    // The file on disk is a whole database, and a server starts on it (the disk is still full).
    expect(() => JSON.parse(execFileSync('cat', [config.dbPath], { encoding: 'utf8', maxBuffer: 8 << 20 }))).not.toThrow();
    kw = await startKeyway({ dir, config });
    try {
      const after = await kw.api('/integrations');
      expect(after.status).toBe(200);
      expect((after.body.data as { unique_key: string }[]).map((i) => i.unique_key).sort()).toEqual([...acknowledged].sort());
      expect((await kw.api(`/integrations/${acknowledged.at(-1)}?include=credentials`)).body.data.credentials.client_id).toBe(`id-${acknowledged.length - 1}`);
      // Space freed: writes work again.
      expect((await kw.api(`/integrations/${acknowledged[0]}`, { method: 'DELETE' })).status).toBe(200);
      expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'after-full', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'a', client_secret: 'b' } }) })).status).toBeLessThan(300);
    } finally {
      await kw.close();
    }
    expect((await readDb(config.dbPath)).integrations.length).toBe(acknowledged.length);
  }, 120_000);
});
