import { appendFile, copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournaledJsonFile } from '../src/store/journaled-file.ts';

interface Doc {
  version: number;
  rows: { id: string; v: number }[];
}
const keys = { rows: (r: { id: string }) => r.id };
const row = (id: string, v: number) => Object.freeze({ id, v });

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-journal-'));
  path = join(dir, 'db.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const reopen = async () => {
  const file = new JournaledJsonFile<Doc>(path, keys);
  return { file, data: await file.read() };
};

describe('JournaledJsonFile', () => {
  it('appends a change to the journal and leaves the file alone; a reader sees file + journal', async () => {
    const file = new JournaledJsonFile<Doc>(path, keys);
    expect(await file.read()).toBeNull();
    const a = row('a', 1);
    const b = row('b', 1);
    await file.write({ version: 1, rows: [a, b] }); // a new database: written whole
    const before = await stat(path);
    const c = row('c', 1);
    await file.write({ version: 1, rows: [a, row('b', 2), c] }); // b replaced, c added
    await file.write({ version: 1, rows: [a, c] }); // b deleted
    const after = await stat(path);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs, size: after.size }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs, size: before.size });
    expect((await readFile(file.journalPath, 'utf8')).trimEnd().split('\n')).toHaveLength(1 + 3); // header, b, c, delete b
    expect((await reopen()).data).toEqual({ version: 1, rows: [{ id: 'a', v: 1 }, { id: 'c', v: 1 }] });
  });

  it('writes nothing when nothing changed, and compact() folds the journal into the file', async () => {
    const file = new JournaledJsonFile<Doc>(path, keys);
    await file.read();
    const rows = [row('a', 1)];
    await file.write({ version: 1, rows });
    const journal = await readFile(file.journalPath, 'utf8');
    await file.write({ version: 1, rows: [...rows] });
    expect(await readFile(file.journalPath, 'utf8')).toBe(journal);
    const changed = { version: 1, rows: [row('a', 2)] };
    await file.write(changed);
    await file.compact(changed);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ ...changed, journal: expect.any(String) });
    expect((await readFile(file.journalPath, 'utf8')).trimEnd().split('\n')).toHaveLength(1);
    expect((await reopen()).data).toEqual(changed);
  });

  it('drops a torn last line (an append cut by a crash), then rewrites the file whole', async () => {
    const file = new JournaledJsonFile<Doc>(path, keys);
    await file.read();
    const a = row('a', 1);
    await file.write({ version: 1, rows: [a] });
    await file.write({ version: 1, rows: [a, row('b', 1)] });
    await appendFile(file.journalPath, '{"c":"rows","k":"x","v":{"id":"x"'); // no newline: never acknowledged
    const { file: again, data } = await reopen();
    expect(data).toEqual({ version: 1, rows: [{ id: 'a', v: 1 }, { id: 'b', v: 1 }] });
    await again.write({ version: 1, rows: [...data!.rows, row('c', 1)] });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, rows: [{ id: 'a', v: 1 }, { id: 'b', v: 1 }, { id: 'c', v: 1 }], journal: expect.any(String) });
    expect((await reopen()).data!.rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('ignores a journal left from before a rewrite (a crash between the two): it names another file', async () => {
    const file = new JournaledJsonFile<Doc>(path, keys);
    await file.read();
    const a = row('a', 1);
    await file.write({ version: 1, rows: [a] });
    await file.write({ version: 1, rows: [a, row('gone', 1)] });
    await copyFile(file.journalPath, join(dir, 'old-journal'));
    const without = { version: 1, rows: [a] };
    await file.write(without);
    await file.compact(without); // the file no longer has "gone"; its journal is reset
    await copyFile(join(dir, 'old-journal'), file.journalPath); // as if the reset never reached the disk
    expect((await reopen()).data).toEqual({ version: 1, rows: [{ id: 'a', v: 1 }] });
  });

  it('refuses a journal damaged before its last line', async () => {
    const file = new JournaledJsonFile<Doc>(path, keys);
    await file.read();
    const a = row('a', 1);
    await file.write({ version: 1, rows: [a] });
    await file.write({ version: 1, rows: [a, row('b', 1)] });
    await appendFile(file.journalPath, 'garbage\n{"c":"rows","k":"c","v":{"id":"c","v":1}}\n');
    await expect(reopen()).rejects.toThrow(/journal line 3/);
  });
});
