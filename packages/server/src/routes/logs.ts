import { Router, type RequestHandler } from 'express';
import type { ActivityLog } from '../activity/log.ts';
import { ACTIVITY_OUTCOMES, ACTIVITY_TYPES, activityId, type ActivityOutcome, type ActivityQuery, type ActivityType } from '../activity/types.ts';
import { KeywayError } from '../errors.ts';
import { intParam, queryOf } from '../http/request.ts';
import { parseConfigKey, parseConnectionId } from '../ids.ts';

const ENTRY_ID = /^\d{14}-[a-z0-9]{0,40}$/;

/**
 * A page cursor: `o.<id>` for the next, older page; `n.<id>` for entries newer than those seen
 * (what `keyway logs --follow` polls with). Sent base64url-encoded, so clients treat it as opaque.
 */
const encodeCursor = (direction: 'o' | 'n', id: string) => Buffer.from(`${direction}.${id}`).toString('base64url');

function decodeCursor(value: string): { before: string } | { after: string } {
  const text = /^[A-Za-z0-9_-]{1,100}$/.test(value) ? Buffer.from(value, 'base64url').toString() : '';
  const m = /^([on])\.(.*)$/.exec(text);
  if (!m || !ENTRY_ID.test(m[2]!)) throw new KeywayError('invalid_query_params', '`cursor` is not a cursor this server gave');
  return m[1] === 'o' ? { before: m[2]! } : { after: m[2]! };
}

function timeParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new KeywayError('invalid_query_params', `\`${name}\` must be an ISO 8601 time or milliseconds since the epoch`);
  return ms;
}

function oneOf<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!allowed.includes(v as T)) throw new KeywayError('invalid_query_params', `\`${name}\` must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Reads `GET /logs`'s query into an activity query (typed 400s for anything malformed). */
export function parseLogsQuery(q: URLSearchParams): ActivityQuery {
  const key = q.get('provider_config_key');
  const id = q.get('connection_id');
  const from = timeParam(q, 'from');
  const to = timeParam(q, 'to');
  if (from !== undefined && to !== undefined && from > to) throw new KeywayError('invalid_query_params', '`from` must not be after `to`');
  const cursor = q.get('cursor');
  const type: ActivityType | undefined = oneOf(q, 'type', ACTIVITY_TYPES);
  const outcome: ActivityOutcome | undefined = oneOf(q, 'outcome', ACTIVITY_OUTCOMES);
  return {
    ...(key && { provider_config_key: parseConfigKey(key) }),
    ...(id && { connection_id: parseConnectionId(id) }),
    ...(type && { type }),
    ...(outcome && { outcome }),
    ...(from !== undefined && { from }),
    ...(to !== undefined && { to }),
    ...(cursor && decodeCursor(cursor)),
    limit: intParam(q, 'limit', 50, 1, 500),
  };
}

/**
 * `GET /logs` (secret key, or the dashboard's session): the activity log, newest first.
 * `next_cursor` pages to older entries (null at the end); `follow_cursor` asks for entries newer
 * than everything seen so far.
 */
export function logRoutes(deps: { activity: ActivityLog; guard: RequestHandler; now?: () => number }): Router {
  const r = Router();
  r.get('/logs', deps.guard, async (req, res) => {
    const query = parseLogsQuery(queryOf(req));
    const found = await deps.activity.query({ ...query, limit: query.limit + 1 });
    const following = query.after !== undefined;
    // One more than asked says whether an older page exists; when following, the extra is the newest: left for the next poll.
    const data = following ? found.slice(-query.limit) : found.slice(0, query.limit);
    const more = found.length > query.limit;
    const newest = data[0]?.id ?? query.after ?? activityId((deps.now ?? Date.now)(), '');
    res.json({
      data,
      next_cursor: !following && more ? encodeCursor('o', data.at(-1)!.id) : null,
      follow_cursor: encodeCursor('n', newest),
    });
  });
  return r;
}
