import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_KEY, startKeyway, type TestKeyway } from '../../server/test/support/keyway.ts';
import { run, type Io } from '../src/main.ts';

/** `keyway logs` against a real server's GET /logs. */
let kw: TestKeyway;
let cwd: string;
beforeAll(async () => {
  kw = await startKeyway();
  cwd = await mkdtemp(join(tmpdir(), 'keyway-cli-logs-'));
  const record = (connection_id: string, action: string, outcome: 'success' | 'failure') =>
    kw.keyway.activity.record({ type: 'refresh', action, outcome, provider_config_key: 'github', connection_id, message: `refresh ${action}`, ...(outcome === 'failure' && { error: { code: 'refresh_failed', message: 'refused', provider_error: 'invalid_grant' } }) });
  record('c1', 'refreshed', 'success');
  record('c2', 'refreshed', 'success');
  record('c1', 'failed', 'failure');
  await kw.keyway.activity.flush();
});
afterAll(async () => {
  await kw?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

function cli(args: string[], signal?: AbortSignal) {
  const out = { stdout: '', stderr: '', code: undefined as number | undefined };
  const io: Io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: { KEYWAY_SERVER_URL: kw.url, KEYWAY_SECRET_KEY: SECRET_KEY },
    cwd,
    isTTY: false,
    ...(signal && { signal }),
  };
  const done = run(args, io).then((code) => (out.code = code));
  return { out, done };
}

const until = async (check: () => boolean) => {
  for (const deadline = Date.now() + 10_000; !check() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
};

describe('keyway logs', () => {
  it('prints a connection\'s entries oldest first, with the codes that say why', async () => {
    const { out, done } = cli(['logs', '--connection', 'c1']);
    await done;
    expect([out.code, out.stderr]).toEqual([0, '']);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/refresh\s+success\s+github\/c1\s+refresh refreshed$/);
    expect(lines[1]).toMatch(/failure\s+github\/c1\s+refresh failed \(refresh_failed, provider: invalid_grant\)$/);
  });

  it('--json: one entry per line, as the API serves it', async () => {
    const { out, done } = cli(['logs', '--json', '--outcome', 'success']);
    await done;
    const entries = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { connection_id: string; outcome: string });
    expect(entries.map((e) => [e.connection_id, e.outcome])).toEqual([['c1', 'success'], ['c2', 'success']]);
  });

  it('--follow prints each new entry once, until stopped', async () => {
    const stop = new AbortController();
    const { out, done } = cli(['logs', '--follow', '--interval', '0.02', '--connection', 'c3', '--json'], stop.signal);
    for (let i = 0; i < 3; i++) kw.keyway.activity.record({ type: 'proxy', action: 'request', outcome: 'success', provider_config_key: 'github', connection_id: 'c3', message: `call ${i}` });
    await kw.keyway.activity.flush();
    await until(() => out.stdout.trim().split('\n').length >= 3);
    kw.keyway.activity.record({ type: 'proxy', action: 'request', outcome: 'success', provider_config_key: 'github', connection_id: 'c3', message: 'call 3' });
    await kw.keyway.activity.flush();
    await until(() => out.stdout.includes('call 3'));
    stop.abort();
    await done;
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['call 0', 'call 1', 'call 2', 'call 3']);
  });

  it('a bad filter is the server\'s typed error; a bad flag a usage error', async () => {
    const bad = cli(['logs', '--type', 'bogus']);
    await bad.done;
    expect([bad.out.code, bad.out.stderr]).toEqual([1, expect.stringContaining('error invalid_query_params')]);
    const usage = cli(['logs', '--limit', '0']);
    await usage.done;
    expect(usage.out.code).toBe(2);
  });
});
