/**
 * The JSON adapter at 1,000, 10,000 and 100,000 connections: upsert latency (median, p95) and the
 * longest event-loop stall during the upserts. The file is seeded directly (sealed records), then
 * opened like a server would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Keyring } from '../packages/server/src/crypto/keyring.ts';
import { RecordCodec } from '../packages/server/src/store/codec.ts';
import { JsonFileStore } from '../packages/server/src/store/json-file.ts';
import { machine, pct, round, writeResults, benchConnection } from './support.ts';


export async function storeBench(sizes = [1_000, 10_000, 100_000]) {
  const rows: Record<string, unknown> = {};
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'keyway-store-bench-'));
    try {
      const keyring = new Keyring([randomBytes(32)]);
      const codec = new RecordCodec(keyring);
      const connections = [];
      for (let i = 0; i < size; i++) connections.push(await codec.sealConnection(benchConnection(i)));
      const path = join(dir, 'db.json');
      await writeFile(path, JSON.stringify({ version: 1, integrations: [], connections }));
      const openStarted = performance.now();
      const store = await JsonFileStore.open(path, keyring);
      const openMs = performance.now() - openStarted;
      const samples: number[] = [];
      const stall = monitorEventLoopDelay({ resolution: 10 });
      stall.enable();
      const upserts = size >= 100_000 ? 30 : 200;
      for (let i = 0; i < upserts; i++) {
        const t = performance.now();
        await store.writeConnection('app', `user-${i}`, (c) => ({ ...c!, metadata: { ...c!.metadata, n: i }, updated_at: new Date().toISOString() }));
        samples.push(performance.now() - t);
      }
      stall.disable();
      await store.close();
      samples.sort((a, b) => a - b);
      rows[`JSON file, ${size.toLocaleString('en')} connections`] = {
        open_s: round(openMs / 1000, 2),
        upsert_p50_ms: round(pct(samples, 50), 1),
        upsert_p95_ms: round(pct(samples, 95), 1),
        max_event_loop_stall_ms: round(stall.max / 1e6, 1),
        upserts,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.table(rows);
  const results = { date: new Date().toISOString(), machine: machine(), json_adapter: rows };
  await writeResults('store', results);
  return results;
}
