import pg from 'pg';
import type { ActivityEntry, ActivityQuery, ActivityStore } from '../activity/types.ts';

/**
 * The activity log in PostgreSQL: the `keyway_activity` table (migration 004, applied when the
 * PostgresStore opens). Its own small pool, so log writes never queue behind the connections'
 * queries or locks. Instances on one database share the table; ids sort by time across them.
 */
export class PostgresActivityStore implements ActivityStore {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'keyway-activity', connectionTimeoutMillis: 5000 });
    // An idle client whose connection dies is dropped by the pool; the error must not crash the process.
    this.#pool.on('error', () => undefined);
  }

  async append(entries: readonly ActivityEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#pool.query(
      `INSERT INTO keyway_activity (id, at, type, outcome, provider_config_key, connection_id, entry)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
       ON CONFLICT (id) DO NOTHING`,
      [
        entries.map((e) => e.id),
        entries.map((e) => e.at),
        entries.map((e) => e.type),
        entries.map((e) => e.outcome),
        entries.map((e) => e.provider_config_key),
        entries.map((e) => e.connection_id),
        entries.map((e) => JSON.stringify(e)),
      ],
    );
  }

  async query(q: ActivityQuery): Promise<ActivityEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.provider_config_key !== undefined) add('provider_config_key = ?', q.provider_config_key);
    if (q.connection_id !== undefined) add('connection_id = ?', q.connection_id);
    if (q.type !== undefined) add('type = ?', q.type);
    if (q.outcome !== undefined) add('outcome = ?', q.outcome);
    if (q.from !== undefined) add('at >= ?', new Date(q.from));
    if (q.to !== undefined) add('at <= ?', new Date(q.to));
    if (q.before !== undefined) add('id < ?', q.before);
    if (q.after !== undefined) add('id > ?', q.after);
    args.push(q.limit);
    const order = q.after !== undefined ? 'ASC' : 'DESC';
    const { rows } = await this.#pool.query<{ entry: ActivityEntry }>(
      `SELECT entry FROM keyway_activity ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT $${args.length}`,
      args,
    );
    const entries = rows.map((r) => r.entry);
    return q.after !== undefined ? entries.reverse() : entries;
  }

  async trim(before: number, maxEntries: number): Promise<number> {
    const old = await this.#pool.query('DELETE FROM keyway_activity WHERE at < $1', [new Date(before)]);
    const over = await this.#pool.query(
      'DELETE FROM keyway_activity WHERE id <= (SELECT id FROM keyway_activity ORDER BY id DESC OFFSET $1 LIMIT 1)',
      [maxEntries],
    );
    return (old.rowCount ?? 0) + (over.rowCount ?? 0);
  }

  async count(): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>('SELECT count(*) AS n FROM keyway_activity');
    return Number(rows[0]!.n);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
