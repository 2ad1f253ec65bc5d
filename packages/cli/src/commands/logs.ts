import { KeywayError } from '@keyway/node';
import { intFlag, stringFlag, UsageError, type CommandSpec, type Context, type Flags } from '../context.ts';

/** An activity entry as GET /logs serves it (the server's activity/types.ts). */
interface Entry {
  readonly id: string;
  readonly at: string;
  readonly type: string;
  readonly action: string;
  readonly outcome: string;
  readonly provider_config_key: string | null;
  readonly connection_id: string | null;
  readonly message: string;
  readonly error?: { readonly code: string; readonly message: string; readonly provider_error?: string };
  readonly http?: { readonly method: string; readonly path: string; readonly status: number; readonly duration_ms: number; readonly retries?: number };
}
interface Page {
  readonly data: readonly Entry[];
  readonly next_cursor: string | null;
  readonly follow_cursor: string;
}

const DEFAULT_INTERVAL_SECONDS = 2;

export const logs: CommandSpec = {
  path: ['logs'],
  summary: 'the activity log: connect flows, refreshes, webhooks, API-key checks, proxied calls',
  options: {
    connection: { type: 'string', value: 'ID', description: 'only entries of this Connection Id' },
    integration: { type: 'string', value: 'KEY', description: 'only entries of this integration (Config Key)' },
    type: { type: 'string', value: 'TYPE', description: 'connect, refresh, webhook, proxy or verification' },
    outcome: { type: 'string', value: 'OUTCOME', description: 'success, failure or info' },
    limit: { type: 'string', value: 'N', description: 'how many recent entries to print first (default 50, at most 500)' },
    follow: { type: 'boolean', short: 'f', description: 'then keep printing new entries as they come, until interrupted' },
    interval: { type: 'string', value: 'SECONDS', description: `how often --follow asks the server (default ${DEFAULT_INTERVAL_SECONDS})` },
  },
  details:
    'Prints the most recent entries, oldest first (newest at the bottom), one per line; with --follow,\n' +
    'then polls GET /logs with the cursor the server gave and prints each new entry once. With --json,\n' +
    'each entry is one line of JSON (JSON lines), as the API serves it. Entries never hold a token or secret.',
  examples: ['keyway logs --connection user-42', 'keyway logs --type refresh --outcome failure', 'keyway logs --follow --json | jq .message'],
  async run(ctx, _args, flags) {
    const query = filters(flags);
    const intervalMs = interval(flags);
    const page = await fetchLogs(ctx, query);
    print(ctx, page.data);
    if (flags.follow !== true) return 0;
    let cursor = page.follow_cursor;
    const signal = ctx.io.signal;
    while (!signal?.aborted) {
      await sleep(intervalMs, signal);
      if (signal?.aborted) break;
      // Every new entry, oldest first: the server answers up to 500 per poll, so a burst takes a few polls.
      const next = await fetchLogs(ctx, new URLSearchParams([...filterPairs(query), ['limit', '500'], ['cursor', cursor]]));
      print(ctx, next.data);
      cursor = next.follow_cursor;
    }
    return 0;
  },
};

function filters(flags: Flags): URLSearchParams {
  const q = new URLSearchParams();
  const connection = stringFlag(flags, 'connection');
  const integration = stringFlag(flags, 'integration');
  const type = stringFlag(flags, 'type');
  const outcome = stringFlag(flags, 'outcome');
  if (connection !== undefined) q.set('connection_id', connection);
  if (integration !== undefined) q.set('provider_config_key', integration);
  if (type !== undefined) q.set('type', type);
  if (outcome !== undefined) q.set('outcome', outcome);
  const limit = intFlag(flags, 'limit');
  if (limit !== undefined) {
    if (limit < 1 || limit > 500) throw new UsageError('--limit: give a number from 1 to 500');
    q.set('limit', String(limit));
  }
  return q;
}

const filterPairs = (q: URLSearchParams) => [...q].filter(([k]) => k !== 'limit' && k !== 'cursor');

function interval(flags: Flags): number {
  const given = stringFlag(flags, 'interval');
  if (given === undefined) return DEFAULT_INTERVAL_SECONDS * 1000;
  const seconds = Number(given);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--interval: "${given}" is not a positive number of seconds`);
  return seconds * 1000;
}

/** GET /logs with the secret key; the server's typed errors and network failures as @keyway/node's. */
async function fetchLogs(ctx: Context, query: URLSearchParams): Promise<Page> {
  const secret = ctx.secretKey();
  if (!secret) throw new UsageError('no secret key: pass --secret-key or set KEYWAY_SECRET_KEY');
  const url = `${ctx.host().replace(/\/+$/, '')}/logs${query.size > 0 ? `?${query}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${secret.key}`, accept: 'application/json' }, signal: AbortSignal.timeout(ctx.timeoutMs()) });
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    throw new KeywayError(timedOut ? 'timeout' : 'network_error', timedOut ? 'the server did not answer in time' : `cannot reach ${ctx.host()}`, { cause: e });
  }
  const body = (await res.json().catch(() => undefined)) as (Page & { error?: { code: string; message: string } }) | undefined;
  if (!res.ok || !body || !Array.isArray(body.data)) {
    throw new KeywayError(body?.error?.code ?? 'server_error', body?.error?.message ?? `the server answered ${res.status}`, { status: res.status, payload: body });
  }
  return body;
}

function print(ctx: Context, entries: readonly Entry[]): void {
  for (const e of [...entries].reverse()) ctx.out.raw(`${ctx.json ? JSON.stringify(e) : line(e)}\n`);
}

/** One entry for a person: time, type, outcome, connection, what happened, and the codes that say why. */
export function line(e: Entry): string {
  const who = e.provider_config_key || e.connection_id ? `${e.provider_config_key ?? '-'}/${e.connection_id ?? '-'}` : '-';
  const http = e.http ? ` [${e.http.status} ${e.http.duration_ms}ms${e.http.retries ? `, ${e.http.retries} retries` : ''}]` : '';
  const why = e.error ? ` (${e.error.code}${e.error.provider_error ? `, provider: ${e.error.provider_error}` : ''})` : '';
  return `${e.at}  ${e.type.padEnd(12)} ${e.outcome.padEnd(7)} ${who}  ${e.message}${http}${why}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
