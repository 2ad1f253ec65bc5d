import type pg from 'pg';
import type { RecordCodec, StoredFlow } from '../codec.ts';
import { StoreError } from '../json-file.ts';
import type { ConnectSession, DashboardSession, FlowOutcomeRecord, FlowState } from '../types.ts';
import { errorMessage } from './rows.ts';

/** Expired flows, outcomes and sessions are deleted at most this often (per table, per instance). */
const PURGE_EVERY_MS = 60_000;

/**
 * Connect flows, flow outcomes, connect sessions and dashboard sign-ins shared by the instances on
 * one database (store/short-lived.ts keeps them in memory for the JSON store): one table each, a
 * JSON record and its expiry; a flow's PKCE verifier is sealed. Expired rows are never returned
 * and are deleted now and then.
 */
export class ShortLivedTables {
  readonly #lastPurge = new Map<string, number>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly codec: RecordCodec,
  ) {}

  async putFlow(flow: FlowState): Promise<void> {
    const stored = await this.codec.sealFlow(flow);
    await this.#put('keyway_flows', 'state_hash', flow.state_hash, stored, flow.expires_at);
  }

  async takeFlow(stateHash: string): Promise<FlowState | undefined> {
    // One DELETE: of two callbacks with the same state (on any instances), one gets the row.
    const { rows } = await this.pool.query<{ record: StoredFlow }>('DELETE FROM keyway_flows WHERE state_hash = $1 RETURNING record', [stateHash]);
    const stored = rows[0]?.record;
    return stored && stored.expires_at > Date.now() ? this.codec.openFlow(stored) : undefined;
  }

  putOutcome(outcome: FlowOutcomeRecord): Promise<void> {
    return this.#put('keyway_outcomes', 'flow_id_hash', outcome.flow_id_hash, outcome, outcome.expires_at);
  }

  getOutcome(flowIdHash: string): Promise<FlowOutcomeRecord | undefined> {
    return this.#getLive<FlowOutcomeRecord>('keyway_outcomes', 'flow_id_hash', flowIdHash);
  }

  putSession(session: ConnectSession): Promise<void> {
    return this.#put('keyway_sessions', 'token_hash', session.token_hash, session, session.expires_at);
  }

  getSession(tokenHash: string): Promise<ConnectSession | undefined> {
    return this.#getLive<ConnectSession>('keyway_sessions', 'token_hash', tokenHash);
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM keyway_sessions WHERE token_hash = $1', [tokenHash]);
    return (rowCount ?? 0) > 0;
  }

  putDashboardSession(session: DashboardSession): Promise<void> {
    return this.#put('keyway_dashboard_sessions', 'id_hash', session.id_hash, session, session.expires_at);
  }

  getDashboardSession(idHash: string): Promise<DashboardSession | undefined> {
    return this.#getLive<DashboardSession>('keyway_dashboard_sessions', 'id_hash', idHash);
  }

  async deleteDashboardSession(idHash: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM keyway_dashboard_sessions WHERE id_hash = $1', [idHash]);
    return (rowCount ?? 0) > 0;
  }

  /** A stored flow as a FlowState (a StoreError names it when KEYWAY_ENCRYPTION_KEY cannot open it). */
  async openFlow(stored: StoredFlow): Promise<FlowState> {
    try {
      return await this.codec.openFlow(stored);
    } catch (e) {
      throw new StoreError(`flow ${stored.state_hash}: cannot decrypt its PKCE verifier with KEYWAY_ENCRYPTION_KEY (${errorMessage(e)})`);
    }
  }

  async #put(table: string, keyColumn: string, key: string, record: unknown, expiresAt: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${table} (${keyColumn}, record, expires_at) VALUES ($1, $2::jsonb, $3)
       ON CONFLICT (${keyColumn}) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
      [key, JSON.stringify(record), new Date(expiresAt).toISOString()],
    );
    await this.#purgeExpired(table);
  }

  async #getLive<T>(table: string, keyColumn: string, key: string): Promise<T | undefined> {
    const { rows } = await this.pool.query<{ record: T }>(`SELECT record FROM ${table} WHERE ${keyColumn} = $1 AND expires_at > $2`, [key, new Date().toISOString()]);
    return rows[0]?.record;
  }

  /** Deletes the table's expired rows, at most once a minute per instance; a failure only leaves dead rows. */
  async #purgeExpired(table: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastPurge.get(table) ?? 0) < PURGE_EVERY_MS) return;
    this.#lastPurge.set(table, now);
    await this.pool.query(`DELETE FROM ${table} WHERE expires_at <= $1`, [new Date(now).toISOString()]).catch(() => undefined);
  }
}
