import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableJsonFile } from '../src/store/durable-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-durable-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('DurableJsonFile', () => {
  it('reads a missing file as null and reads back what it wrote', async () => {
    const file = new DurableJsonFile<{ a: number; s: string[] }>(join(dir, 'db.json'));
    expect(await file.read()).toBeNull();
    await file.write({ a: 1, s: ['x', '__proto__'] });
    expect(await file.read()).toEqual({ a: 1, s: ['x', '__proto__'] });
    expect(await readFile(join(dir, 'db.json'), 'utf8')).toBe('{"a":1,"s":["x","__proto__"]}');
    expect(await new DurableJsonFile(join(dir, 'db.json')).read()).toEqual({ a: 1, s: ['x', '__proto__'] });
  });

  it('coalesces 200 concurrent writes: all resolve, the file ends with the last, no temp file is left', async () => {
    const path = join(dir, 'db.json');
    const file = new DurableJsonFile<{ n: number }>(path);
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => file.write({ n: i + 1 })));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ n: 200 });
    expect(await readdir(dir)).toEqual(['db.json']);
  });

  it('settles each write only after a write carrying its data reached the file', async () => {
    const path = join(dir, 'db.json');
    const file = new DurableJsonFile<{ n: number }>(path);
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await file.write({ n: i + 1 });
        seen.push((JSON.parse(await readFile(path, 'utf8')) as { n: number }).n - (i + 1));
      }),
    );
    expect(seen.every((d) => d >= 0)).toBe(true); // the file already held this write's value or a later one
  });

  it('rejects a failing write (and those coalesced into it) and still works afterwards', async () => {
    const sub = join(dir, 'sub');
    await mkdir(sub);
    const path = join(sub, 'db.json');
    const file = new DurableJsonFile<{ n: number }>(path);
    await file.write({ n: 1 });
    await rm(sub, { recursive: true });
    const failing = [file.write({ n: 2 }), file.write({ n: 3 }), file.write({ n: 4 })];
    for (const p of failing) await expect(p).rejects.toThrow(/ENOENT/);
    await mkdir(sub);
    await file.write({ n: 5 });
    expect(await file.read()).toEqual({ n: 5 });
    expect(await readdir(sub)).toEqual(['db.json']);
  });

  it('a failure does not poison writes queued behind it', async () => {
    const path = join(dir, 'db.json');
    const file = new DurableJsonFile<unknown>(path);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const first = file.write(cyclic);
    const second = file.write({ ok: true });
    await expect(first).rejects.toThrow(/circular/i);
    await expect(second).resolves.toBeUndefined();
    expect(await file.read()).toEqual({ ok: true });
  });

  it('creates the file with mode 0600, also over an existing file', async () => {
    const path = join(dir, 'db.json');
    await writeFile(path, '{}', { mode: 0o644 });
    const file = new DurableJsonFile<{ n: number }>(path);
    await file.write({ n: 1 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const fresh = join(dir, 'fresh.json');
    await new DurableJsonFile<{ n: number }>(fresh).write({ n: 1 });
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
  });

  it('surfaces a corrupt file as an error, not as empty data', async () => {
    const path = join(dir, 'db.json');
    await writeFile(path, '{ not json');
    await expect(new DurableJsonFile(path).read()).rejects.toThrow(SyntaxError);
  });
});
