/**
 * getToken over HTTP for a fresh token, beside a bare Express 5 route serving the same JSON, under
 * the same load from autocannon on 127.0.0.1. The ratio says what Keyway's authentication, lookup
 * and serialisation cost on top of Express itself (goal: 1.0 or above... i.e. nothing measurable).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, machine, ROOT, round, startBenchStack, waitForHealth, writeResults } from './support.ts';

const DURATION_S = 8;
const CONNECTIONS = 10;

function load(url: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

export async function httpBench() {
  const stack = await startBenchStack();
  const barePort = await freePort();
  try {
    const path = '/connections/bench?provider_config_key=sandbox';
    const headers = { authorization: `Bearer ${stack.secretKey}` };
    const body = await (await fetch(stack.keywayUrl + path, { headers })).text();
    // The bare route: Express 5, one handler, the same bytes; in its own process like Keyway.
    const bare = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/bare-express.ts')], { env: { ...process.env, PORT: String(barePort), BODY: body }, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const bareUrl = `http://127.0.0.1:${barePort}`;
      await waitForHealth(bareUrl);
      await load(stack.keywayUrl + path, headers); // warm-up both
      await load(bareUrl + path, headers);
      const keyway = await load(stack.keywayUrl + path, headers);
      const express = await load(bareUrl + path, headers);
      const row = (r: autocannon.Result) => ({ 'req/s': Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.non2xx });
      const rows = { 'Keyway GET /connections/:id (fresh token)': row(keyway), 'bare Express 5 route, same JSON': row(express) };
      const ratio = round(keyway.requests.average / express.requests.average, 3);
      console.table(rows);
      console.log(`ratio Keyway / bare Express: ${ratio} (${CONNECTIONS} connections, ${DURATION_S} s each)`);
      const results = { date: new Date().toISOString(), machine: machine(), connections: CONNECTIONS, duration_s: DURATION_S, rows, ratio };
      await writeResults('http', results);
      return results;
    } finally {
      bare.kill('SIGTERM');
    }
  } finally {
    await stack.close();
  }
}
