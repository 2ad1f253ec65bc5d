import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLinesActivityStore } from '../src/activity/json-lines-store.ts';
import { ActivityLog } from '../src/activity/log.ts';
import type { ActivityStore } from '../src/activity/types.ts';
import { createLogger } from '../src/log.ts';
import { PostgresActivityStore } from '../src/store/activity-postgres.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { Keyring } from '../src/crypto/keyring.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/** Retention by age and count at 2,000 flows' worth of entries, on both stores; the queue's bound. */
const DAY = 86_400_000;
const FLOWS = 2000;
const RETENTION_DAYS = 14;
const MAX_ENTRIES = 3000;
const log = createLogger('silent');

let dir: string;
let pg: TestPostgres;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-activity-'));
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const adapters: Record<string, (name: string) => Promise<ActivityStore>> = {
  'JSON-lines side file': (name) => JsonLinesActivityStore.open(join(dir, `${name}.activity.jsonl`), { maxEntries: MAX_ENTRIES }),
  PostgreSQL: async (name) => {
    const url = await pg.createDatabase(name);
    // The connections store applies the migrations (004 makes the activity table).
    await (await PostgresStore.open(url, new Keyring([new Uint8Array(32).fill(1)]))).close();
    return new PostgresActivityStore(url);
  },
};

describe.each(Object.entries(adapters))('%s', (name, open) => {
  it(`keeps ${RETENTION_DAYS} days and at most ${MAX_ENTRIES} entries of ${FLOWS} flows over 20 days`, async () => {
    const store = await open(`retention_${name.length}`);
    let clock = Date.UTC(2026, 0, 1);
    const activity = new ActivityLog(store, { retentionMs: RETENTION_DAYS * DAY, maxEntries: MAX_ENTRIES, now: () => clock, log, maxQueue: 100_000 });
    const step = (20 * DAY) / FLOWS;
    for (let i = 0; i < FLOWS; i++) {
      const pair = { provider_config_key: 'github', connection_id: `user-${i}` };
      activity.record({ type: 'connect', action: 'started', outcome: 'info', message: 'Connect flow started', ...pair });
      activity.record({ type: 'connect', action: 'succeeded', outcome: 'success', message: 'Connection created', ...pair });
      activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'GET /user -> 200', http: { method: 'GET', path: '/user', status: 200, duration_ms: 3 }, ...pair });
      clock += step;
      if (i % 500 === 499) await activity.flush();
    }
    await activity.flush();
    expect(activity.dropped).toBe(0);

    // 14 of 20 days' entries (4,200) are young enough; the count bound keeps the newest 3,000
    // (the side file trims as it passes the bound by a tenth, the table at the periodic delete).
    await activity.trim();
    expect(await store.count()).toBe(MAX_ENTRIES);
    const newest = await store.query({ limit: 1 });
    expect(newest[0]).toMatchObject({ connection_id: `user-${FLOWS - 1}`, type: 'proxy' });
    const oldest = (await store.query({ limit: MAX_ENTRIES })).at(-1)!;
    expect(Date.parse(oldest.at)).toBeGreaterThanOrEqual(clock - RETENTION_DAYS * DAY);

    // Ten days later, only the last four days' entries are left: age trims below the count bound.
    clock += 10 * DAY;
    await activity.trim();
    const left = await store.count();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(MAX_ENTRIES);
    for (const e of await store.query({ limit: MAX_ENTRIES })) expect(Date.parse(e.at)).toBeGreaterThanOrEqual(clock - RETENTION_DAYS * DAY);
    await activity.close();
  });
});

describe.each(Object.entries(adapters))('%s answers queries', (name, open) => {
  it('filters, pages older with `before`, follows newer with `after`', async () => {
    const store = await open(`query_${name.length}`);
    let clock = Date.UTC(2026, 0, 1);
    const activity = new ActivityLog(store, { retentionMs: 30 * DAY, maxEntries: 1000, now: () => clock, log });
    for (let i = 0; i < 20; i++) {
      activity.record({ type: i % 2 ? 'proxy' : 'refresh', action: 'x', outcome: i % 3 ? 'success' : 'failure', message: `m${i}`, provider_config_key: i < 10 ? 'a' : 'b', connection_id: `c${i % 4}` });
      clock += 1000;
    }
    await activity.flush();
    const all = await store.query({ limit: 100 });
    expect(all.map((e) => e.message)).toEqual(Array.from({ length: 20 }, (_, i) => `m${19 - i}`));
    const ids = (q: Parameters<ActivityStore['query']>[0]) => store.query(q).then((r) => r.map((e) => e.message));
    expect(await ids({ provider_config_key: 'a', type: 'proxy', limit: 100 })).toEqual(['m9', 'm7', 'm5', 'm3', 'm1']);
    expect(await ids({ connection_id: 'c0', outcome: 'failure', limit: 100 })).toEqual(['m12', 'm0']);
    expect(await ids({ from: Date.UTC(2026, 0, 1, 0, 0, 5), to: Date.UTC(2026, 0, 1, 0, 0, 7), limit: 100 })).toEqual(['m7', 'm6', 'm5']);
    expect(await ids({ before: all[2]!.id, limit: 3 })).toEqual(['m16', 'm15', 'm14']);
    // Following: the oldest `limit` entries above the cursor, newest first.
    expect(await ids({ after: all[10]!.id, limit: 3 })).toEqual(['m12', 'm11', 'm10']);
    await activity.close();
  });
});

describe('the JSON-lines side file', () => {
  it('stays bounded on disk between trims, and is read back after a restart', async () => {
    const path = join(dir, 'bounded.activity.jsonl');
    const store = await JsonLinesActivityStore.open(path, { maxEntries: 100 });
    const activity = new ActivityLog(store, { retentionMs: DAY, maxEntries: 100, log, maxQueue: 100_000 });
    for (let i = 0; i < 1000; i++) {
      activity.record({ type: 'refresh', action: 'refreshed', outcome: 'success', message: 'ok', connection_id: `c${i}` });
      if (i % 50 === 49) await activity.flush();
    }
    await activity.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(110);
    const reopened = await JsonLinesActivityStore.open(path, { maxEntries: 100 });
    expect((await reopened.query({ limit: 1 }))[0]!.connection_id).toBe('c999');
  });
});

describe('the queue', () => {
  it('counts the entries of failed writes, and warns once per outage', async () => {
    const lines: string[] = [];
    let down = true;
    const flaky: ActivityStore = {
      append: async () => {
        if (down) throw new Error('connection refused');
      },
      query: async () => [],
      trim: async () => 0,
      count: async () => 0,
      close: async () => undefined,
    };
    const activity = new ActivityLog(flaky, { retentionMs: DAY, maxEntries: 1000, log: createLogger('info', (l) => lines.push(l)) });
    for (let i = 0; i < 3; i++) {
      activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'x' });
      activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'y' });
      await activity.flush();
    }
    expect(activity.dropped).toBe(6);
    down = false;
    activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'z' });
    await activity.flush();
    // Whatever the log format: one warning for the outage, one line when it ends.
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('activity entries dropped: the write failed');
    expect(lines[1]).toMatch(/activity log writes again.*dropped\W+6/);
    await activity.close();
  });

  it('drops and counts entries beyond its bound when the writer falls behind; record never waits', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const written: number[] = [];
    const slow: ActivityStore = {
      append: async (entries) => {
        await blocked;
        written.push(entries.length);
      },
      query: async () => [],
      trim: async () => 0,
      count: async () => 0,
      close: async () => undefined,
    };
    const activity = new ActivityLog(slow, { retentionMs: DAY, maxEntries: 1000, maxQueue: 10, log });
    for (let i = 0; i < 10; i++) activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'x' });
    const flushing = activity.flush(); // the writer takes these 10 and hangs
    for (let i = 0; i < 25; i++) activity.record({ type: 'proxy', action: 'request', outcome: 'success', message: 'y' });
    expect([activity.queued, activity.dropped]).toEqual([10, 15]);
    release();
    await flushing;
    await activity.flush();
    expect(written).toEqual([10, 10]);
    await activity.close();
  });
});
