/**
 * What a backend feels, through @keyway/node against a Keyway server process on 127.0.0.1:
 *  1. getToken for a fresh token, with the client's cache off and on (sequential, and 10 in parallel).
 *  2. An expired token with 100 callers waiting: time until all have the new token, and refreshes at
 *     the provider (exactly one per run).
 */
import { performance } from 'node:perf_hooks';
import { Nango } from '../packages/node/src/index.ts';
import { machine, pct, round, startBenchStack, writeResults } from './support.ts';

export async function tokenBench() {
  const stack = await startBenchStack();
  try {
    const fresh = async (client: Nango, count: number, parallel: number) => {
      const grantsBefore = stack.sandboxes.long.tokenGrants.refresh_token;
      const samples: number[] = [];
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < count) {
            next++;
            const t = performance.now();
            await client.getToken('sandbox', 'bench');
            samples.push(performance.now() - t);
          }
        }),
      );
      const elapsed = performance.now() - started;
      samples.sort((a, b) => a - b);
      return { p50_ms: round(pct(samples, 50)), p99_ms: round(pct(samples, 99)), calls_per_s: Math.round(count / (elapsed / 1000)), refreshes: stack.sandboxes.long.tokenGrants.refresh_token - grantsBefore };
    };
    const uncached = stack.nango;
    const cached = new Nango({ host: stack.keywayUrl, secretKey: stack.secretKey, cache: true });
    for (let i = 0; i < 300; i++) await uncached.getToken('sandbox', 'bench'); // warm-up
    const rows = {
      'getToken fresh, no cache, 1 at a time': await fresh(uncached, 2000, 1),
      'getToken fresh, no cache, 10 in parallel': await fresh(uncached, 2000, 10),
      'getToken fresh, cached, 1 at a time': await fresh(cached, 20000, 1),
    };

    const refreshRuns: { ms_until_all_have_it: number; refreshes_at_provider: number; distinct_tokens: number }[] = [];
    for (let run = 0; run < 5; run++) {
      await new Promise((r) => setTimeout(r, 2100)); // let the 2 s token expire
      const grantsBefore = stack.sandboxes.short.tokenGrants.refresh_token;
      const t = performance.now();
      const tokens = await Promise.all(Array.from({ length: 100 }, () => uncached.getToken('short', 'bench')));
      refreshRuns.push({ ms_until_all_have_it: round(performance.now() - t, 1), refreshes_at_provider: stack.sandboxes.short.tokenGrants.refresh_token - grantsBefore, distinct_tokens: new Set(tokens).size });
    }
    console.table(rows);
    console.table(Object.fromEntries(refreshRuns.map((r, i) => [`expired token, 100 callers (run ${i + 1})`, r])));
    const results = { date: new Date().toISOString(), machine: machine(), fresh_token: rows, refresh_100_waiting: refreshRuns };
    await writeResults('token', results);
    return results;
  } finally {
    await stack.close();
  }
}
