import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
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

describe('DurableJsonFile on a full disk', () => {
  /** A real file handle whose writes stop short after `budget` bytes, as a filling disk does. */
  const shortWriting = (budget: { bytes: number }) => async (path: string, flags: string, mode?: number) => {
    const real = await open(path, flags, mode);
    return {
      sync: () => real.sync(),
      stat: () => real.stat(),
      close: () => real.close(),
      write: async (buffer: Buffer, offset: number, length: number) => {
        if (budget.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        const n = Math.min(length, budget.bytes, 1000); // never more than 1000 bytes at a time: always short on big writes
        budget.bytes -= n;
        return real.write(buffer, offset, n);
      },
    } as unknown as FileHandle;
  };

  it('completes a write that the disk accepts in short pieces', async () => {
    const path = join(dir, 'db.json');
    const file = new DurableJsonFile<{ s: string }>(path, { open: shortWriting({ bytes: Infinity }) });
    const big = { s: 'x'.repeat(300_000) + 'é' };
    await file.write(big);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(big);
    const pieces = new DurableJsonFile<string[]>(path, { open: shortWriting({ bytes: Infinity }), serialize: (d) => ['[', d.map((x) => JSON.stringify(x)).join(','), ']'] });
    await pieces.write(['a'.repeat(600_000), 'b']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(['a'.repeat(600_000), 'b']);
  });

  it('never renames a short file over the database: the write fails and the old file stays whole', async () => {
    const path = join(dir, 'db.json');
    await new DurableJsonFile<{ s: string }>(path).write({ s: 'old' });
    const file = new DurableJsonFile<{ s: string }>(path, { open: shortWriting({ bytes: 5000 }) });
    await expect(file.write({ s: 'y'.repeat(20_000) })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ s: 'old' });
    expect(await readdir(dir)).toEqual(['db.json']);
  });

  it('refuses a file whose size on disk is not what was written', async () => {
    const path = join(dir, 'db.json');
    await new DurableJsonFile<{ s: string }>(path).write({ s: 'old' });
    // A handle that claims every byte was written but drops the last write.
    const lying = async (p: string, flags: string, mode?: number) => {
      const real = await open(p, flags, mode);
      let calls = 0;
      return {
        sync: () => real.sync(),
        stat: () => real.stat(),
        close: () => real.close(),
        write: async (buffer: Buffer, offset: number, length: number) => (++calls > 1 ? { bytesWritten: length, buffer } : real.write(buffer, offset, Math.min(length, 10))),
      } as unknown as FileHandle;
    };
    await expect(new DurableJsonFile<{ s: string }>(path, { open: lying }).write({ s: 'new value' })).rejects.toMatchObject({ code: 'EIO' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ s: 'old' });
  });
});
