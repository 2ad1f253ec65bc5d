/**
 * The activity log's cost on the request path: one `record()` (it only queues the entry; the write
 * happens later, in the background), against formatting one ISO date on the same machine, for scale.
 */
import { ActivityLog } from '../packages/server/src/activity/log.ts';
import type { ActivityStore } from '../packages/server/src/activity/types.ts';
import { createLogger } from '../packages/server/src/log.ts';
import { machine, round, writeResults } from './support.ts';

export async function activityBench() {
  const store: ActivityStore = { append: async () => {}, query: async () => [], trim: async () => 0, count: async () => 0, close: async () => {} };
  const log = new ActivityLog(store, { retentionMs: 1, maxEntries: 1, maxQueue: 1_000_000, log: createLogger('silent') });
  const entry = { type: 'proxy', action: 'request', outcome: 'success', message: 'Proxied request', provider_config_key: 'github', connection_id: 'user-42', http: { method: 'GET', path: '/user?page=2', status: 200, duration_ms: 12, retries: 0 } } as const;
  const N = 10_000;
  const record: number[] = [];
  const iso: number[] = [];
  for (let run = 0; run < 15; run++) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) log.record(entry);
    record.push(Number(process.hrtime.bigint() - t) / N);
    await log.flush();
    t = process.hrtime.bigint();
    let n = 0;
    for (let i = 0; i < N; i++) n += new Date(Date.now()).toISOString().length;
    iso.push(Number(process.hrtime.bigint() - t) / N);
    if (n === 0) throw new Error('no date was formatted'); // keeps the loop from being optimised away
  }
  await log.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const results = { record_ns_median: round(median(record), 0), iso_date_ns_median: round(median(iso), 0), runs: 15, entries_per_run: N, dropped: log.dropped };
  console.log('activity log: record() per entry (median of 15 runs of 10,000)');
  console.table(results);
  await writeResults('activity', { machine: machine(), ...results });
}
