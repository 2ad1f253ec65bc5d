import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Keyring, keyId } from '../src/crypto/keyring.ts';
import { JsonFileStore } from '../src/store/json-file.ts';
import { loadMigrations } from '../src/store/migrate.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { connectionStatus, matchesSearch, type ConnectionStatus } from '../src/store/status.ts';
import type { ConnectSession, Connection, ConnectionFilter, FlowOutcomeRecord, FlowState, Integration, Store } from '../src/store/types.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { atRest, readDb } from './support/json-db.ts';

/**
 * The Store contract, one suite run against every adapter: what the JSON file does, PostgreSQL
 * does too (same results, same list semantics, same sealing at rest). "peer" is a second server
 * instance on the same storage: for PostgreSQL another store on the database; for the JSON file
 * (one process per file) the same store.
 */
type TestStore = Store & { resealAll(onProgress?: (done: number, total: number) => void): Promise<{ resealed: number; total: number }> };

interface Harness {
  /** Opens (or reopens) a store on this harness's storage. */
  open(keys?: readonly Uint8Array[]): Promise<TestStore>;
  /** Another instance beside `first` (the JSON file: `first` itself). */
  peer(first: TestStore): Promise<TestStore>;
  /** Everything the storage holds, as text. */
  raw(): Promise<string>;
  /**
   * Whether flows, outcomes and connect sessions outlive the process: in PostgreSQL tables (shared by
   * instances), yes; the JSON store keeps them in memory only (a restart loses flows in progress).
   */
  readonly shortLivedDurable: boolean;
  /** Copies connection `from`'s stored credentials onto connection `to`, behind the stores' backs. */
  copyCredentials(from: readonly [string, string], to: readonly [string, string]): Promise<void>;
  dispose(): Promise<void>;
}

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);

let postgres: TestPostgres | undefined;
let databases = 0;
beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

async function openJson(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-contract-'));
  const path = join(dir, 'db.json');
  return {
    open: (keys = [KEY_1]) => JsonFileStore.open(path, new Keyring(keys)),
    peer: async (first) => first,
    raw: () => atRest(path),
    shortLivedDurable: false,
    async copyCredentials(from, to) {
      const data = JSON.parse(await readFile(path, 'utf8')) as { connections: { provider_config_key: string; connection_id: string; credentials: string }[] };
      const find = ([k, id]: readonly [string, string]) => data.connections.find((c) => c.provider_config_key === k && c.connection_id === id)!;
      find(to).credentials = find(from).credentials;
      await writeFile(path, JSON.stringify(data));
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

async function openPostgres(): Promise<Harness> {
  const url = await postgres!.createDatabase(`contract_${++databases}`);
  const sql = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  let keys: readonly Uint8Array[] = [KEY_1];
  return {
    open: (k = [KEY_1]) => {
      keys = k;
      return PostgresStore.open(url, new Keyring(k));
    },
    peer: () => PostgresStore.open(url, new Keyring(keys)),
    shortLivedDurable: true,
    async raw() {
      const tables = ['keyway_integrations', 'keyway_connections', 'keyway_flows', 'keyway_outcomes', 'keyway_sessions'];
      const rows = await sql<{ t: string }>(tables.map((t) => `SELECT x::text AS t FROM ${t} x`).join(' UNION ALL '));
      return rows.map((r) => r.t).join('\n');
    },
    async copyCredentials(from, to) {
      await sql(
        `UPDATE keyway_connections SET credentials = (SELECT credentials FROM keyway_connections WHERE provider_config_key = $1 AND connection_id = $2)
         WHERE provider_config_key = $3 AND connection_id = $4`,
        [...from, ...to],
      );
    },
    dispose: async () => undefined,
  };
}

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function integration(key: string, over: Partial<Integration> = {}): Integration {
  return {
    unique_key: key,
    provider: 'github',
    display_name: `GitHub ${key}`,
    client_id: `client-${key}`,
    client_secret: `client-secret-${key}-${randomBytes(6).toString('hex')}`,
    scopes: ['repo', 'user'],
    created_at: iso(T0),
    updated_at: iso(T0),
    ...over,
  };
}

function connection(key: string, id: string, over: Partial<Connection> = {}): Connection {
  const token = randomBytes(8).toString('hex');
  return {
    id: `uuid-${key}-${id}`,
    provider_config_key: key,
    connection_id: id,
    provider: 'github',
    credentials: {
      type: 'OAUTH2',
      access_token: `access-${token}`,
      refresh_token: `refresh-${token}`,
      expires_at: iso(Date.now() + 3_600_000),
      obtained_at: iso(T0),
      raw: { access_token: `access-${token}`, token_type: 'bearer', scope: 'repo' },
    },
    connection_config: { subdomain: 'acme' },
    metadata: { plan: 'pro', nested: { a: [1, 2] } },
    end_user: { id: `user-${id}`, email: `${id}@example.com`, display_name: `User ${id}` },
    last_refresh_failure: null,
    created_at: iso(T0),
    updated_at: iso(T0),
    ...over,
  };
}

function flow(hash: string, expiresAt = Date.now() + 600_000): FlowState {
  return {
    state_hash: hash,
    provider_config_key: 'app',
    connection_id: 'u1',
    code_verifier: `verifier-${randomBytes(16).toString('hex')}`,
    connection_config: { subdomain: 'acme' },
    binding_hash: 'binding',
    flow_id: null,
    origin: null,
    end_user: null,
    expires_at: expiresAt,
  };
}

const put = (store: Store, c: Connection) => store.writeConnection(c.provider_config_key, c.connection_id, () => c);
const ids = (cs: readonly Connection[]) => cs.map((c) => `${c.provider_config_key}/${c.connection_id}`);

describe.each([
  ['json', openJson],
  ['postgres', openPostgres],
] as const)('the %s store', (_name, makeHarness) => {
  let h: Harness;
  const open: TestStore[] = [];
  const track = async (s: Promise<TestStore>) => {
    const store = await s;
    open.push(store);
    return store;
  };
  const start = async (keys?: readonly Uint8Array[]) => {
    h = await makeHarness();
    return track(h.open(keys));
  };
  const closeAll = async () => {
    for (const s of open.splice(0)) await s.close();
  };
  afterEach(async () => {
    await closeAll();
    await h?.dispose();
  });

  it('integrations: put, get, list, update, delete (with their connections)', async () => {
    const store = await start();
    const a = integration('app-a', { created_at: iso(T0), updated_at: iso(T0) });
    const b = integration('app-b', { created_at: iso(T0 + 1000), updated_at: iso(T0 + 1000) });
    await store.putIntegration(a);
    await store.putIntegration(b);
    expect(await store.getIntegration('app-a')).toEqual(a);
    expect(await store.getIntegration('nope')).toBeUndefined();
    expect(await store.listIntegrations()).toEqual([a, b]);

    const a2 = { ...a, display_name: 'Renamed', client_secret: 'new secret', scopes: [], updated_at: iso(T0 + 5000) };
    await store.putIntegration(a2);
    expect(await store.getIntegration('app-a')).toEqual(a2);
    expect(await store.listIntegrations()).toEqual([a2, b]);

    await put(store, connection('app-a', 'u1'));
    await put(store, connection('app-a', 'u2'));
    const kept = connection('app-b', 'u1');
    await put(store, kept);
    expect(await store.deleteIntegration('app-a')).toBe(true);
    expect(await store.deleteIntegration('app-a')).toBe(false);
    expect(await store.getIntegration('app-a')).toBeUndefined();
    expect(await store.getConnection('app-a', 'u1')).toBeUndefined();
    expect(await store.listConnections({ provider_config_key: 'app-a', limit: 10, offset: 0 })).toEqual({ connections: [], total: 0 });
    expect(await store.listIntegrations()).toEqual([b]);
    expect(await store.getConnection('app-b', 'u1')).toEqual(kept);
  });

  it('writeConnection: created, overridden, unchanged; the update sees the stored connection', async () => {
    const store = await start();
    const seen: (Connection | undefined)[] = [];
    const c = connection('app', 'alice');
    expect(await store.writeConnection('app', 'nobody', (cur) => (seen.push(cur), null))).toEqual({ connection: undefined, result: 'unchanged' });
    expect(await store.writeConnection('app', 'alice', (cur) => (seen.push(cur), c))).toEqual({ connection: c, result: 'created' });
    const c2 = { ...c, metadata: { plan: 'free' }, updated_at: iso(T0 + 1) };
    expect(await store.writeConnection('app', 'alice', (cur) => (seen.push(cur), c2))).toEqual({ connection: c2, result: 'overridden' });
    expect(await store.writeConnection('app', 'alice', (cur) => (seen.push(cur), null))).toEqual({ connection: c2, result: 'unchanged' });
    expect(seen).toEqual([undefined, undefined, c, c2]);
    expect(await store.getConnection('app', 'alice')).toEqual(c2);
    expect(await store.getConnection('app', 'bob')).toBeUndefined();
    expect(await store.getConnection('other', 'alice')).toBeUndefined();
  });

  it('writeConnection refuses an update that changes the identity, and keeps the stored one', async () => {
    const store = await start();
    const c = connection('app', 'alice');
    await put(store, c);
    await expect(store.writeConnection('app', 'alice', (cur) => ({ ...cur!, connection_id: 'mallory' }))).rejects.toThrow(/identity/);
    await expect(store.writeConnection('app', 'alice', (cur) => ({ ...cur!, provider_config_key: 'other' }))).rejects.toThrow(/identity/);
    await expect(store.writeConnection('app', 'new', () => connection('app', 'other'))).rejects.toThrow(/identity/);
    expect(await store.getConnection('app', 'alice')).toEqual(c);
    expect(await store.getConnection('app', 'mallory')).toBeUndefined();
    expect(await store.getConnection('app', 'new')).toBeUndefined();
    // The connection is still writable afterwards (no lock or queue left behind).
    expect((await store.writeConnection('app', 'alice', (cur) => ({ ...cur!, metadata: { ok: true } }))).result).toBe('overridden');
  });

  it('concurrent writes to one connection, from two instances, are all applied (no lost update)', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    const N = 40;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        (i % 2 ? peer : store).writeConnection('app', 'counter', (cur) => {
          const base = cur ?? connection('app', 'counter', { metadata: { n: 0, writers: [] } });
          const m = base.metadata as { n: number; writers: number[] };
          return { ...base, metadata: { n: m.n + 1, writers: [...m.writers, i] } };
        }),
      ),
    );
    expect(results.filter((r) => r.result === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.result === 'overridden')).toHaveLength(N - 1);
    for (const s of [store, peer]) {
      const m = (await s.getConnection('app', 'counter'))!.metadata as { n: number; writers: number[] };
      expect(m.n).toBe(N);
      expect([...m.writers].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    }
  });

  it('lists: filters, search, status, order, paging and totals as status.ts defines them', async () => {
    const store = await start();
    const now = Date.now();
    const failure = (days: number) => ({ at: iso(now), code: 'invalid_grant', backoff_until: iso(now + 30_000), days: Array.from({ length: days }, (_, i) => `2025-01-0${i + 1}`) });
    const withExpiry = (key: string, id: string, expiresInMs: number | undefined, over: Partial<Connection> = {}) => {
      const c = connection(key, id, over);
      const creds = { ...(c.credentials as Extract<Connection['credentials'], { type: 'OAUTH2' }>) };
      if (expiresInMs === undefined) delete (creds as { expires_at?: string }).expires_at;
      else (creds as { expires_at?: string }).expires_at = iso(now + expiresInMs);
      return { ...c, credentials: creds };
    };
    const all: Connection[] = [
      withExpiry('app', 'Alice', 3_600_000, { created_at: iso(T0), end_user: { id: 'u-1', email: 'Alice@Example.com', display_name: 'Alice Liddell' }, tags: { end_user_id: 'u-1', project: 'apollo', 'team/x': 'a"b' } }),
      withExpiry('app', 'bob', 5 * 60_000, { created_at: iso(T0), end_user: { id: 'u-2', email: 'bob@corp.io' } }), // same created_at: by connection id
      withExpiry('app', 'B-2', 14 * 60_000, { created_at: iso(T0), end_user: null }),
      withExpiry('app', 'carol', 16 * 60_000, { created_at: iso(T0 + 1000), end_user: { id: 'u-1', display_name: 'Carol ÉCLAIR' }, tags: { project: 'apollo' } }),
      withExpiry('app', 'dave', -60_000, { created_at: iso(T0 + 2000) }), // expired
      withExpiry('app', 'erin', undefined, { created_at: iso(T0 + 3000) }), // no expiry
      withExpiry('app', 'frank', 3_600_000, { created_at: iso(T0 + 4000), last_refresh_failure: failure(1) }),
      withExpiry('app', 'grace', 3_600_000, { created_at: iso(T0 + 5000), last_refresh_failure: failure(4) }),
      withExpiry('app', 'heidi', -1, { created_at: iso(T0 + 6000), last_refresh_failure: failure(3) }),
      { ...connection('app', 'key.user', { created_at: iso(T0 + 7000), end_user: { id: 'api', email: 'keys@example.com' } }), credentials: { type: 'API_KEY', apiKey: 'k-123456789', fields: { apiKey: 'k-123456789' } } },
      withExpiry('other', 'Alice', 3_600_000, { created_at: iso(T0), end_user: { id: 'u-1', email: 'alice@example.com' }, tags: { project: 'Apollo' } }), // same time and id, other key
      withExpiry('other', 'zed_1', 3_600_000, { created_at: iso(T0 - 1000), end_user: { id: 'U-1' } }), // oldest
      withExpiry('other', 'a:b@c|d', 10 * 60_000, { created_at: iso(T0 + 500), end_user: { id: 'x', email: 'weird%_chars@example.com' } }),
    ];
    // Written in a scrambled order: the lists' order comes from created_at and the id, not from writes.
    for (const i of [5, 0, 12, 3, 9, 1, 11, 7, 2, 10, 4, 8, 6]) await put(store, all[i]!);

    const reference = (f: ConnectionFilter) => {
      const matched = all
        .filter(
          (c) =>
            (f.provider_config_key === undefined || c.provider_config_key === f.provider_config_key) &&
            (f.connection_id === undefined || c.connection_id === f.connection_id) &&
            (f.end_user_id === undefined || c.end_user?.id === f.end_user_id) &&
            (f.tags === undefined || Object.entries(f.tags).every(([k, v]) => c.tags?.[k] === v)) &&
            (f.search === undefined || matchesSearch(c, f.search)) &&
            (f.status === undefined || connectionStatus(c) === f.status),
        )
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.connection_id.localeCompare(b.connection_id) || a.provider_config_key.localeCompare(b.provider_config_key));
      return { ids: ids(matched.slice(f.offset, f.offset + f.limit)), total: matched.length };
    };
    const filters: Omit<ConnectionFilter, 'limit' | 'offset'>[] = [
      {},
      { provider_config_key: 'app' },
      { provider_config_key: 'other' },
      { provider_config_key: 'none' },
      { connection_id: 'Alice' },
      { connection_id: 'alice' },
      { end_user_id: 'u-1' },
      { end_user_id: 'U-1' },
      { search: 'alice' },
      { search: 'ALICE' },
      { search: 'example.COM' },
      { search: 'éclair' },
      { search: 'u-' },
      { search: '%' },
      { search: '_' },
      { search: '|d' },
      { search: '' },
      { search: 'nothing-matches' },
      ...(['ok', 'expiring', 'refresh_failed', 'exhausted'] as ConnectionStatus[]).map((status) => ({ status })),
      { provider_config_key: 'app', status: 'expiring', search: 'b' },
      { provider_config_key: 'other', end_user_id: 'u-1', search: 'example' },
      { tags: { project: 'apollo' } },
      { tags: { project: 'Apollo' } },
      { tags: { project: 'apollo', end_user_id: 'u-1' } },
      { tags: { 'team/x': 'a"b' } },
      { tags: { project: 'apollo', missing: 'x' } },
      { provider_config_key: 'app', tags: { project: 'apollo' }, search: 'carol' },
    ];
    // Sanity: every status occurs.
    expect(new Set(all.map((c) => connectionStatus(c)))).toEqual(new Set(['ok', 'expiring', 'refresh_failed', 'exhausted']));
    for (const f of filters) {
      for (const [limit, offset] of [[100, 0], [3, 0], [3, 3], [2, 5], [5, 100], [0, 0]] as const) {
        const got = await store.listConnections({ ...f, limit, offset });
        expect({ filter: f, limit, offset, ids: ids(got.connections), total: got.total }).toEqual({ filter: f, limit, offset, ...reference({ ...f, limit, offset }) });
      }
    }
    const page = await store.listConnections({ provider_config_key: 'app', limit: 2, offset: 0 });
    expect(page.connections).toEqual([all[0]!, all[2]!].sort((a, b) => a.connection_id.localeCompare(b.connection_id)));
    // The background refresh lists everything at once.
    expect((await store.listConnections({ limit: Number.MAX_SAFE_INTEGER, offset: 0 })).connections).toHaveLength(all.length);
  });

  it('listRefreshDue: stale refresh tokens only, oldest first, in batches that never repeat', async () => {
    const store = await start();
    const now = Date.now();
    const DAY = 86_400_000;
    const aged = (key: string, id: string, ageMs: number, over: Partial<Connection> = {}): Connection => {
      const c = connection(key, id, over);
      return { ...c, credentials: { ...(c.credentials as Extract<Connection['credentials'], { type: 'OAUTH2' }>), obtained_at: iso(now - ageMs) } };
    };
    const failure = (days: number, backoffUntil: number) => ({ at: iso(now), code: 'invalid_grant', backoff_until: iso(backoffUntil), days: Array.from({ length: days }, (_, i) => `2025-01-0${i + 1}`) });
    const noRefresh = aged('app', 'no-refresh', 9 * DAY);
    const all: Connection[] = [
      aged('app', 'old', 9 * DAY),
      aged('app', 'older', 10 * DAY),
      aged('other', 'old', 9 * DAY), // same age as app/old: by config key
      aged('app', 'Old', 9 * DAY), // and by connection id, in code-unit order ('O' < 'o')
      aged('app', 'young', 1 * DAY),
      aged('app', 'backing-off', 9 * DAY, { last_refresh_failure: failure(1, now + 60_000) }),
      aged('app', 'backoff-over', 8 * DAY, { last_refresh_failure: failure(2, now - 1) }),
      aged('app', 'exhausted', 9 * DAY, { last_refresh_failure: failure(4, now - 1) }),
      { ...noRefresh, credentials: { ...(noRefresh.credentials as { type: 'OAUTH2'; access_token: string; raw: Record<string, unknown> }), refresh_token: undefined } as Connection['credentials'] },
      { ...aged('app', 'api-key', 9 * DAY, { updated_at: iso(now - 9 * DAY) }), credentials: { type: 'API_KEY', apiKey: 'k', fields: { apiKey: 'k' } } },
      // No record of when the credentials were obtained: judged by the last update.
      (() => {
        const c = connection('app', 'legacy', { updated_at: iso(now - 9 * DAY) });
        const { obtained_at: _, ...creds } = c.credentials as { obtained_at?: string };
        return { ...c, credentials: creds as Connection['credentials'] };
      })(),
    ];
    for (const c of all) await put(store, c);
    const expected = ['app/older', 'app/Old', 'app/legacy', 'app/old', 'other/old', 'app/backoff-over']; // ties: code-unit order
    const query = { obtainedBefore: now - 7 * DAY, now };
    const whole = await store.listRefreshDue({ ...query, limit: 100 });
    expect({ ids: ids(whole.connections), next: whole.next }).toEqual({ ids: expected, next: null });
    expect(whole.connections[0]).toEqual(all[1]);

    const walked: string[] = [];
    let after = null;
    for (let i = 0; i < 10; i++) {
      const batch = await store.listRefreshDue({ ...query, after, limit: 2 });
      walked.push(...ids(batch.connections));
      after = batch.next;
      if (!after) break;
    }
    expect(walked).toEqual(expected);
    expect((await store.listRefreshDue({ ...query, limit: 0 })).connections).toEqual([]);

    // Changes reach the selection: a delete, a refresh, a reconnect without a refresh token, a new stale one.
    await store.deleteConnection('app', 'older');
    await store.writeConnection('app', 'Old', (c) => ({ ...c!, credentials: { ...(c!.credentials as Extract<Connection['credentials'], { type: 'OAUTH2' }>), obtained_at: iso(now) } }));
    await store.writeConnection('other', 'old', (c) => ({ ...c!, credentials: { type: 'OAUTH2', access_token: 'no-refresh', raw: {}, obtained_at: iso(now - 9 * DAY) } }));
    await put(store, aged('app', 'new-stale', 30 * DAY));
    const changed = ['app/new-stale', 'app/legacy', 'app/old', 'app/backoff-over'];
    expect(ids((await store.listRefreshDue({ ...query, limit: 100 })).connections)).toEqual(changed);
    await store.putIntegration(integration('app'));
    expect(await store.deleteIntegration('app')).toBe(true); // and its connections
    expect((await store.listRefreshDue({ ...query, limit: 100 })).connections).toEqual([]);
  });

  it('lists break ties identically: integrations and connections created at one instant, written in any order', async () => {
    const store = await start();
    // Written so that neither insertion order nor code-unit order ('B' < 'a') is the answer.
    for (const key of ['c', 'B', 'a']) await store.putIntegration(integration(key));
    await store.putIntegration(integration('0-later', { created_at: iso(T0 + 1) }));
    expect((await store.listIntegrations()).map((i) => i.unique_key)).toEqual(['a', 'B', 'c', '0-later']);
    for (const [key, id] of [['zeta', 'b'], ['zeta', 'A'], ['alpha', 'b'], ['Beta', 'b'], ['alpha', 'B'], ['alpha', 'a']] as const) {
      await put(store, connection(key, id, { created_at: iso(T0) }));
    }
    await put(store, connection('alpha', '0-older', { created_at: iso(T0 - 1) }));
    const expected = ['alpha/0-older', 'alpha/a', 'zeta/A', 'alpha/b', 'Beta/b', 'zeta/b', 'alpha/B'];
    expect(ids((await store.listConnections({ limit: 100, offset: 0 })).connections)).toEqual(expected);
    const paged: string[] = [];
    for (let offset = 0; offset < expected.length; offset += 2) paged.push(...ids((await store.listConnections({ limit: 2, offset })).connections));
    expect(paged).toEqual(expected);
  });

  it('deleteConnection', async () => {
    const store = await start();
    await put(store, connection('app', 'u1'));
    await put(store, connection('app', 'u2'));
    expect(await store.deleteConnection('app', 'u1')).toBe(true);
    expect(await store.deleteConnection('app', 'u1')).toBe(false);
    expect(await store.deleteConnection('nope', 'u2')).toBe(false);
    expect(await store.getConnection('app', 'u1')).toBeUndefined();
    expect(ids((await store.listConnections({ limit: 10, offset: 0 })).connections)).toEqual(['app/u2']);
    // Deleted, then created again: a new connection.
    expect((await put(store, connection('app', 'u1'))).result).toBe('created');
  });

  it('flows: single use (also across instances), and expiry', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    const f = flow('hash-1');
    await store.putFlow(f);
    expect(await store.takeFlow('hash-1')).toEqual(f);
    expect(await store.takeFlow('hash-1')).toBeUndefined();
    expect(await peer.takeFlow('hash-1')).toBeUndefined();

    for (let i = 0; i < 5; i++) {
      await store.putFlow(flow(`race-${i}`));
      const taken = await Promise.all([store.takeFlow(`race-${i}`), peer.takeFlow(`race-${i}`), store.takeFlow(`race-${i}`), peer.takeFlow(`race-${i}`)]);
      expect(taken.filter(Boolean)).toHaveLength(1);
    }

    await store.putFlow(flow('expired', Date.now() - 1));
    expect(await store.takeFlow('expired')).toBeUndefined();
    await store.putFlow(flow('expired-for-peer', Date.now() - 1));
    expect(await peer.takeFlow('expired-for-peer')).toBeUndefined();
    expect(await store.takeFlow('unknown')).toBeUndefined();
  });

  it('outcomes: put, get (from another instance), replace, expiry', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    const outcome: FlowOutcomeRecord = { flow_id_hash: 'f1', result: { status: 'success', providerConfigKey: 'app', connectionId: 'u1', operation: 'creation' }, expires_at: Date.now() + 60_000 };
    await store.putOutcome(outcome);
    expect(await peer.getOutcome('f1')).toEqual(outcome);
    const replaced: FlowOutcomeRecord = { ...outcome, result: { status: 'error', error: { code: 'access_denied', message: 'no' } } };
    await peer.putOutcome(replaced);
    expect(await store.getOutcome('f1')).toEqual(replaced);
    await store.putOutcome({ ...outcome, flow_id_hash: 'old', expires_at: Date.now() - 1 });
    expect(await store.getOutcome('old')).toBeUndefined();
    expect(await store.getOutcome('unknown')).toBeUndefined();
  });

  it('sessions: put, get, expiry', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    const session: ConnectSession = {
      token_hash: 'th-1',
      end_user: { id: 'u1', email: 'u1@example.com', organization: { id: 'org', display_name: 'Org' } },
      allowed_integrations: ['app'],
      integrations_config_defaults: { app: { connection_config: { subdomain: 'acme' } } },
      created_at: iso(Date.now()),
      expires_at: Date.now() + 60_000,
    };
    await store.putSession(session);
    expect(await peer.getSession('th-1')).toEqual(session);
    await store.putSession({ ...session, token_hash: 'th-2', allowed_integrations: null });
    expect((await store.getSession('th-2'))?.allowed_integrations).toBeNull();
    await store.putSession({ ...session, token_hash: 'th-3', expires_at: Date.now() - 1 });
    expect(await store.getSession('th-3')).toBeUndefined();
    expect(await peer.getSession('th-3')).toBeUndefined();
    expect(await store.getSession('unknown')).toBeUndefined();
    expect(await peer.deleteSession('th-1')).toBe(true);
    expect(await store.getSession('th-1')).toBeUndefined();
    expect(await store.deleteSession('th-1')).toBe(false);
  });

  it('dashboard sessions: put, get on a peer, delete (sign-out) seen by the peer, expiry', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    const session = { id_hash: 'dh-1', created_at: iso(Date.now()), expires_at: Date.now() + 60_000 };
    await store.putDashboardSession(session);
    expect(await peer.getDashboardSession('dh-1')).toEqual(session);
    expect(await peer.deleteDashboardSession('dh-1')).toBe(true);
    expect(await store.getDashboardSession('dh-1')).toBeUndefined();
    expect(await peer.getDashboardSession('dh-1')).toBeUndefined();
    expect(await store.deleteDashboardSession('dh-1')).toBe(false);
    await store.putDashboardSession({ ...session, id_hash: 'dh-2', expires_at: Date.now() + 150 });
    expect(await store.getDashboardSession('dh-2')).toBeDefined();
    await sleep(300);
    expect(await store.getDashboardSession('dh-2')).toBeUndefined();
    expect(await store.getDashboardSession('__proto__')).toBeUndefined();
  });

  it('withLock: holders of one name never overlap, across instances; other names do not wait; errors release', async () => {
    const store = await start();
    const peer = await track(h.peer(store));
    let active = 0;
    let maxActive = 0;
    let entered = 0;
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 ? peer : store).withLock('refresh:["app","u1"]', 10_000, async () => {
          active++;
          entered++;
          maxActive = Math.max(maxActive, active);
          await sleep(5);
          active--;
        }),
      ),
    );
    expect([entered, maxActive]).toEqual([16, 1]);

    // A holder of another name runs while the first is held.
    let release!: () => void;
    const held = store.withLock('a', 10_000, () => new Promise<void>((r) => (release = r)));
    await sleep(50);
    expect(await peer.withLock('b', 10_000, async () => 'b ran')).toBe('b ran');
    release();
    await held;

    await expect(store.withLock('a', 10_000, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await peer.withLock('a', 10_000, async () => 42)).toBe(42);
  });

  it('keeps no token or secret in plaintext at rest; a ciphertext copied to another row is refused', async () => {
    const store = await start();
    const i = integration('app');
    const alice = connection('app', 'alice');
    const bob = connection('app', 'bob');
    const f = flow('hash-secret');
    await store.putIntegration(i);
    await put(store, alice);
    await put(store, bob);
    await store.putFlow(f);
    const raw = await h.raw();
    const creds = alice.credentials as { access_token: string; refresh_token: string };
    for (const secret of [i.client_secret, creds.access_token, creds.refresh_token, f.code_verifier!]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(raw).not.toContain(secret);
    }
    expect(raw).toContain('alice@example.com'); // the rest is stored as it is
    expect(raw).toMatch(/eyJ[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/); // JWE compact, dir

    await closeAll();
    await h.copyCredentials(['app', 'alice'], ['app', 'bob']);
    const readBob = async () => {
      const s = await track(h.open());
      return s.getConnection('app', 'bob');
    };
    await expect(readBob()).rejects.toThrow(/another record/);
  });

  it('refuses to start with a key that cannot open the stored records', async () => {
    const store = await start([KEY_1]);
    await store.putIntegration(integration('app'));
    await put(store, connection('app', 'u1'));
    await closeAll();
    await expect(track(h.open([KEY_2]))).rejects.toMatchObject({ name: 'StoreError', message: expect.stringMatching(/cannot decrypt .*KEYWAY_ENCRYPTION_KEY/) });
    expect(await (await track(h.open([KEY_2, KEY_1]))).getIntegration('app')).toMatchObject({ unique_key: 'app' });
  });

  it('resealAll: every secret under the current key, with progress; the old key can then go', async () => {
    await start([KEY_1]);
    const store = open[0]!;
    // A client certificate's private key (mutual TLS) is a second sealed value of the integration.
    const i = integration('app', { client_certificate: { certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', private_key: 'private-key-material-0123' } });
    const cs = Array.from({ length: 5 }, (_, n) => connection('app', `u${n}`));
    const f = flow('hash-reseal');
    await store.putIntegration(i);
    for (const c of cs) await put(store, c);
    await store.putFlow(f);
    await closeAll();

    const rotated = await track(h.open([KEY_2, KEY_1]));
    const progress: [number, number][] = [];
    const sealed = h.shortLivedDurable ? 7 : 6; // the flow's verifier, where flows are stored
    expect(await rotated.resealAll((done, total) => progress.push([done, total]))).toEqual({ resealed: sealed, total: sealed });
    expect(progress.at(-1)).toEqual([sealed, sealed]);
    expect(progress.map(([d]) => d)).toEqual(Array.from({ length: sealed }, (_, n) => n + 1));
    await closeAll();

    // Every JWE at rest names the new key.
    const headers = [...(await h.raw()).matchAll(/(eyJ[A-Za-z0-9_-]+)\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g)].map(
      (m) => JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { kid: string },
    );
    expect(headers).toHaveLength(sealed + 1); // the integration holds two: its client secret and its private key
    expect(new Set(headers.map((x) => x.kid))).toEqual(new Set([keyId(KEY_2)]));
    expect(await h.raw()).not.toContain('private-key-material-0123');

    const only2 = await track(h.open([KEY_2]));
    expect(await only2.getIntegration('app')).toEqual(i);
    for (const c of cs) expect(await only2.getConnection('app', c.connection_id)).toEqual(c);
    expect(await only2.takeFlow('hash-reseal')).toEqual(h.shortLivedDurable ? f : undefined);
  });

  it('a reopened store reads everything back', async () => {
    const store = await start();
    const i = integration('app');
    const cs = [
      connection('app', 'u1'),
      connection('app', 'u2', { end_user: null, metadata: {}, connection_config: {} }),
      { ...connection('app', 'u3'), credentials: { type: 'BASIC' as const, username: 'user', password: 'pass word', fields: { username: 'user', password: 'pass word' } } },
      {
        ...connection('app', 'u4', { last_refresh_failure: { at: iso(T0), code: 'invalid_grant', description: 'Bad', backoff_until: iso(T0 + 30_000), days: ['2025-03-01'] } }),
        credentials: { type: 'OAUTH2_CC' as const, access_token: 'cc-token', client_id: 'cid', client_secret: 'cs', scopes: ['a'], raw: { access_token: 'cc-token' } },
      },
    ];
    const f = { ...flow('hash-keep'), flow_id: 'flow-id', origin: 'https://app.example.com', end_user: { id: 'u1' } };
    const outcome: FlowOutcomeRecord = { flow_id_hash: 'o1', result: { status: 'success', providerConfigKey: 'app', connectionId: 'u1', operation: 'override' }, expires_at: Date.now() + 60_000 };
    const session: ConnectSession = { token_hash: 's1', end_user: { id: 'u1' }, allowed_integrations: null, integrations_config_defaults: {}, created_at: iso(T0), expires_at: Date.now() + 60_000 };
    await store.putIntegration(i);
    for (const c of cs) await put(store, c);
    await store.putFlow(f);
    await store.putOutcome(outcome);
    await store.putSession(session);
    await closeAll();

    const again = await track(h.open());
    expect(await again.listIntegrations()).toEqual([i]);
    expect((await again.listConnections({ limit: 10, offset: 0 })).connections).toEqual(cs);
    for (const c of cs) expect(await again.getConnection('app', c.connection_id)).toEqual(c);
    expect(await again.getOutcome('o1')).toEqual(h.shortLivedDurable ? outcome : undefined);
    expect(await again.getSession('s1')).toEqual(h.shortLivedDurable ? session : undefined);
    expect(await again.takeFlow('hash-keep')).toEqual(h.shortLivedDurable ? f : undefined);
  });
});

describe('the json store keeps short-lived state out of its file', () => {
  it('starting a flow, recording its outcome and creating a connect session never touch the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyway-short-lived-'));
    const path = join(dir, 'db.json');
    const store = await JsonFileStore.open(path, new Keyring([KEY_1]));
    try {
      await store.putIntegration(integration('app'));
      await put(store, connection('app', 'u1'));
      const before = await stat(path);
      const text = await atRest(path); // the file and its journal
      const f = flow('hash-mem');
      await store.putFlow(f);
      await store.putOutcome({ flow_id_hash: 'o-mem', result: { status: 'success', providerConfigKey: 'app', connectionId: 'u1', operation: 'creation' }, expires_at: Date.now() + 60_000 });
      await store.putSession({ token_hash: 's-mem', end_user: { id: 'u1' }, allowed_integrations: null, integrations_config_defaults: {}, created_at: iso(T0), expires_at: Date.now() + 60_000 });
      expect(await store.getSession('s-mem')).toMatchObject({ token_hash: 's-mem' });
      expect(await store.takeFlow('hash-mem')).toEqual(f);
      const after = await stat(path);
      expect(await atRest(path)).toBe(text);
      expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs }); // not even rewritten unchanged
      expect(Object.keys(await readDb(path))).toEqual(['version', 'integrations', 'connections']);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a file written with flows, outcomes and sessions in it, and drops them at the next write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyway-short-lived-'));
    const path = join(dir, 'db.json');
    try {
      const first = await JsonFileStore.open(path, new Keyring([KEY_1]));
      await first.putIntegration(integration('app'));
      await first.close();
      const old = { ...(JSON.parse(await readFile(path, 'utf8')) as object), flows: [{ state_hash: 'x', expires_at: Date.now() + 60_000 }], outcomes: [], sessions: [] };
      await writeFile(path, JSON.stringify(old));
      const store = await JsonFileStore.open(path, new Keyring([KEY_1]));
      try {
        expect((await store.listIntegrations()).map((i) => i.unique_key)).toEqual(['app']);
        expect(await store.takeFlow('x')).toBeUndefined();
        await put(store, connection('app', 'u1'));
        expect(Object.keys(JSON.parse(await readFile(path, 'utf8')) as object)).toEqual(['version', 'integrations', 'connections', 'journal']);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the postgres store, several instances on one database', () => {
  let url: string;
  const stores: PostgresStore[] = [];
  const openStore = async (options?: { cacheSize?: number }) => {
    const s = await PostgresStore.open(url, new Keyring([KEY_1]), options);
    stores.push(s);
    return s;
  };
  const sql = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  /** Polls `check` (at most `ms`) until it returns true. */
  const eventually = async (check: () => Promise<boolean> | boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (let i = 0; i < 1000; i++) {
      if (await check()) return;
      if (Date.now() > deadline) break;
      await sleep(10);
    }
    throw new Error('condition not met in time');
  };
  const token = (c: Connection | undefined) => (c?.credentials as { access_token?: string } | undefined)?.access_token;

  let n = 0;
  beforeEach(async () => {
    url = await postgres!.createDatabase(`instances_${++n}`);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('migrates once when instances start at once; refuses a newer schema and an unreachable database', async () => {
    const fresh = await postgres!.createDatabase('migrations');
    const opened = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(fresh, new Keyring([KEY_1]))));
    for (const s of opened) await s.close();
    const check = new pg.Client({ connectionString: fresh });
    await check.connect();
    try {
      const all = (await loadMigrations()).map(({ version, name }) => ({ version, name }));
      expect(all).toEqual(expect.arrayContaining([{ version: 1, name: 'init' }, { version: expect.any(Number), name: 'dashboard_sessions' }, { version: expect.any(Number), name: 'refresh_due' }]));
      expect((await check.query('SELECT version, name FROM keyway_migrations ORDER BY version')).rows).toEqual(all);
      await (await PostgresStore.open(fresh, new Keyring([KEY_1]))).close(); // again: nothing to apply
      await check.query("INSERT INTO keyway_migrations (version, name) VALUES (999, 'future')");
    } finally {
      await check.end();
    }
    await expect(PostgresStore.open(fresh, new Keyring([KEY_1]))).rejects.toThrow(/schema version 999, newer than this Keyway knows/);
    const err = await PostgresStore.open('postgres://keyway:hunter2@127.0.0.1:1/keyway', new Keyring([KEY_1])).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'StoreError', message: expect.stringMatching(/^KEYWAY_DATABASE_URL postgres:\/\/keyway:\*\*\*@127\.0\.0\.1:1\/keyway: .*ECONNREFUSED/) });
    expect(String((err as Error).message)).not.toContain('hunter2');
  });

  it('listRefreshDue over rows from before migration 002: judged by updated_at, opened to find a refresh token', async () => {
    const store = await openStore();
    const now = Date.now();
    const DAY = 86_400_000;
    const legacy = (id: string, refresh: boolean): Connection => {
      const c = connection('app', id, { updated_at: iso(now - 9 * DAY) });
      const { obtained_at: _, refresh_token, ...creds } = c.credentials as { obtained_at?: string; refresh_token?: string };
      return { ...c, credentials: { ...creds, ...(refresh && { refresh_token }) } as Connection['credentials'] };
    };
    for (const [id, refresh] of [['a-none', false], ['b-none', false], ['c-refresh', true], ['d-none', false], ['e-refresh', true]] as const) await put(store, legacy(id, refresh));
    await sql('UPDATE keyway_connections SET obtained_at = NULL, has_refresh_token = NULL'); // as the migration leaves them
    const query = { obtainedBefore: now - 7 * DAY, now };
    const walked: string[] = [];
    let after = null;
    for (let i = 0; i < 10; i++) {
      const batch = await store.listRefreshDue({ ...query, after, limit: 2 }); // the first batch holds no due connection at all
      walked.push(...ids(batch.connections));
      after = batch.next;
      if (!after) break;
    }
    expect(walked).toEqual(['app/c-refresh', 'app/e-refresh']);
    // A write fills the columns: then the row is chosen by index alone.
    await store.writeConnection('app', 'a-none', (c) => ({ ...c!, metadata: { touched: true } }));
    expect((await sql<{ has_refresh_token: boolean | null }>("SELECT has_refresh_token FROM keyway_connections WHERE connection_id = 'a-none'"))[0]!.has_refresh_token).toBe(false);
  });

  it('serves reads from memory, and drops what another instance changed', async () => {
    const a = await openStore();
    const b = await openStore();
    await a.putIntegration(integration('app'));
    const v1 = connection('app', 'u1');
    await put(a, v1); // A's own write: A holds it
    expect(a.cacheStats.connections).toBe(1);
    expect(await a.getConnection('app', 'u1')).toEqual(v1);

    // Changed behind the stores' backs (no NOTIFY, credentials untouched): A keeps serving its decrypted copy.
    await sql(`UPDATE keyway_connections SET metadata = '{"changed": true}' WHERE connection_id = 'u1'`);
    expect(await a.getConnection('app', 'u1')).toEqual(v1);
    await sql(`SELECT pg_notify('keyway_connections', '["app","u1","someone"]')`);
    await eventually(async () => (await a.getConnection('app', 'u1'))?.metadata.changed === true);

    // Writes on B: once one is acknowledged, A's next read has it, whenever B's NOTIFY reaches A
    // (the commit and the notification travel on different connections).
    for (let i = 0; i < 20; i++) {
      expect(token(await a.getConnection('app', 'u1'))).toBe(i === 0 ? token(v1) : `t${i - 1}`); // A holds a copy
      await b.writeConnection('app', 'u1', (c) => ({ ...c!, credentials: { ...(c!.credentials as object), access_token: `t${i}` } as Connection['credentials'] }));
      expect(token(await a.getConnection('app', 'u1'))).toBe(`t${i}`);
    }
    // Also when no notification comes at all: a row put back to an older version by SQL (no NOTIFY).
    const older = (await sql<{ credentials: string }>(`SELECT credentials FROM keyway_connections WHERE connection_id = 'u1'`))[0]!.credentials;
    await b.writeConnection('app', 'u1', (c) => ({ ...c!, credentials: { ...(c!.credentials as object), access_token: 'latest' } as Connection['credentials'] }));
    expect(token(await a.getConnection('app', 'u1'))).toBe('latest');
    await sql(`UPDATE keyway_connections SET credentials = $1 WHERE connection_id = 'u1'`, [older]);
    expect(token(await a.getConnection('app', 'u1'))).toBe('t19');
    expect(await b.deleteConnection('app', 'u1')).toBe(true);
    expect(await a.getConnection('app', 'u1')).toBeUndefined();

    // Integrations too; deleting one drops its connections' copies everywhere.
    await put(b, connection('app', 'u2'));
    expect(await a.getIntegration('app')).toMatchObject({ display_name: 'GitHub app' });
    expect(await a.getConnection('app', 'u2')).toBeDefined();
    await b.putIntegration({ ...integration('app'), display_name: 'Renamed' });
    await eventually(async () => (await a.getIntegration('app'))?.display_name === 'Renamed', 1000);
    expect(await b.deleteIntegration('app')).toBe(true);
    await eventually(async () => (await a.getIntegration('app')) === undefined && (await a.getConnection('app', 'u2')) === undefined, 1000);
  });

  it('a lost LISTEN connection stops the caching until it is back, then starts from an empty cache', async () => {
    const a = await openStore();
    const b = await openStore();
    await put(b, connection('app', 'u1'));
    // (A read that overlaps B's notification is not cached: read until one is.)
    await eventually(async () => ((await a.getConnection('app', 'u1')), a.cacheStats.connections === 1));
    expect(a.cacheStats.listening).toBe(true);

    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keyway-listen' AND datname = current_database()`);
    await eventually(() => !a.cacheStats.listening);
    expect(a.cacheStats.connections).toBe(0);
    // B's change is not announced to A (A is not listening): A reads the database meanwhile.
    await b.writeConnection('app', 'u1', (c) => ({ ...c!, metadata: { v: 2 } }));
    expect((await a.getConnection('app', 'u1'))?.metadata).toEqual({ v: 2 });
    expect(a.cacheStats.connections).toBe(0);

    await eventually(() => a.cacheStats.listening && b.cacheStats.listening);
    expect((await a.getConnection('app', 'u1'))?.metadata).toEqual({ v: 2 });
    expect(a.cacheStats.connections).toBe(1);
    await b.writeConnection('app', 'u1', (c) => ({ ...c!, metadata: { v: 3 } }));
    await eventually(async () => (await a.getConnection('app', 'u1'))?.metadata.v === 3, 1000);
  });

  it('instances creating one connection at once: one creates it, the others update it, nothing is lost', async () => {
    const instances = await Promise.all(Array.from({ length: 4 }, () => openStore()));
    for (let round = 0; round < 5; round++) {
      const id = `new-${round}`;
      const results = await Promise.all(
        instances.flatMap((s, i) =>
          [0, 1].map((j) =>
            s.writeConnection('app', id, (cur) => {
              const base = cur ?? connection('app', id, { metadata: { writers: [] } });
              return { ...base, metadata: { writers: [...(base.metadata.writers as string[]), `${i}.${j}`] } };
            }),
          ),
        ),
      );
      expect(results.map((r) => r.result).sort()).toEqual(['created', ...Array(7).fill('overridden')]);
      expect(((await instances[0]!.withLock('read', 5000, () => instances[0]!.getConnection('app', id)))!.metadata.writers as string[]).sort()).toEqual(
        ['0.0', '0.1', '1.0', '1.1', '2.0', '2.1', '3.0', '3.1'],
      );
    }
  });

  it('keeps at most cacheSize connections in memory', async () => {
    const a = await openStore({ cacheSize: 3 });
    for (let i = 0; i < 6; i++) await put(a, connection('app', `c${i}`));
    for (let i = 0; i < 6; i++) expect((await a.getConnection('app', `c${i}`))?.connection_id).toBe(`c${i}`);
    expect(a.cacheStats.connections).toBe(3);
  });

  it('reads under withLock go to the database (a commit made just before the lock was taken is seen)', async () => {
    const a = await openStore();
    await put(a, connection('app', 'u1', { metadata: { v: 1 } }));
    await a.getConnection('app', 'u1');
    await sql(`UPDATE keyway_connections SET metadata = '{"v": 2}' WHERE connection_id = 'u1'`); // no NOTIFY
    expect((await a.getConnection('app', 'u1'))?.metadata).toEqual({ v: 1 });
    expect(await a.withLock('refresh:x', 5000, async () => (await a.getConnection('app', 'u1'))?.metadata)).toEqual({ v: 2 });
    expect((await a.getConnection('app', 'u1'))?.metadata).toEqual({ v: 2 }); // and the cache took it
  });

  it('a lock holder that dies releases the lock; waiting is bounded by ttlMs', async () => {
    const a = await openStore();
    const b = await openStore();
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holding = b.withLock('job', 60_000, async () => {
      entered();
      await new Promise<void>((r) => (release = r));
      return 'b done';
    });
    await inside;
    await expect(a.withLock('job', 300, async () => 'a ran')).rejects.toThrow(/waited 300 ms for the lock "job"/);

    // B's session ends (as when its process dies): the lock is free at once.
    const holders = await sql<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(holders).toHaveLength(1);
    await sql('SELECT pg_terminate_backend($1)', [holders[0]!.pid]);
    // B still holds it for 60 s by its own account: only the dead session's release lets A in (else A fails after 10 s).
    expect(await a.withLock('job', 10_000, async () => 'a ran')).toBe('a ran');
    release();
    expect(await holding).toBe('b done');
    // B's lock pool recovers (the dead session was dropped).
    expect(await b.withLock('job', 5000, async () => 'b again')).toBe('b again');
  });
});
