import type { ConnectSession, DashboardSession, FlowOutcomeRecord, FlowState } from './types.ts';

/**
 * Connect flows, flow outcomes, connect sessions and dashboard sign-ins of a single server process,
 * in memory.
 *
 * They live minutes (a flow 10, a session 30) and are worth nothing after a restart except to the
 * few users mid-flow, who start again, and to dashboard users, who sign in again; keeping them out of the JSON database means starting a flow
 * never rewrites (and fsyncs) the file of connections. Several instances share them through
 * PostgreSQL tables instead (see postgres/short-lived-tables.ts). Expired entries are dropped as new ones arrive.
 */
export class ShortLivedState {
  readonly #flows = new Map<string, FlowState>();
  readonly #outcomes = new Map<string, FlowOutcomeRecord>();
  readonly #sessions = new Map<string, ConnectSession>();
  readonly #dashboardSessions = new Map<string, DashboardSession>();

  constructor(private readonly now: () => number = Date.now) {}

  putFlow(flow: FlowState): void {
    this.#put(this.#flows, flow.state_hash, flow);
  }

  /** Returns and deletes the flow in one step (single use); undefined when absent or expired. */
  takeFlow(stateHash: string): FlowState | undefined {
    const flow = this.#flows.get(stateHash);
    this.#flows.delete(stateHash);
    return flow && flow.expires_at > this.now() ? flow : undefined;
  }

  putOutcome(outcome: FlowOutcomeRecord): void {
    this.#put(this.#outcomes, outcome.flow_id_hash, outcome);
  }

  getOutcome(flowIdHash: string): FlowOutcomeRecord | undefined {
    return this.#live(this.#outcomes.get(flowIdHash));
  }

  putSession(session: ConnectSession): void {
    this.#put(this.#sessions, session.token_hash, session);
  }

  getSession(tokenHash: string): ConnectSession | undefined {
    return this.#live(this.#sessions.get(tokenHash));
  }

  deleteSession(tokenHash: string): boolean {
    return this.#sessions.delete(tokenHash);
  }

  putDashboardSession(session: DashboardSession): void {
    this.#put(this.#dashboardSessions, session.id_hash, session);
  }

  getDashboardSession(idHash: string): DashboardSession | undefined {
    return this.#live(this.#dashboardSessions.get(idHash));
  }

  /** Sign-out: true when the session was there. */
  deleteDashboardSession(idHash: string): boolean {
    return this.#dashboardSessions.delete(idHash);
  }

  #live<T extends { expires_at: number }>(row: T | undefined): T | undefined {
    return row && row.expires_at > this.now() ? row : undefined;
  }

  /**
   * Maps iterate in insertion order and each kind has one lifetime, so the oldest entries expire
   * first: purging stops at the first live one (a put costs O(expired), not O(all)).
   */
  #put<T extends { expires_at: number }>(rows: Map<string, T>, key: string, row: T): void {
    const now = this.now();
    for (const [k, r] of rows) {
      if (r.expires_at > now) break;
      rows.delete(k);
    }
    rows.delete(key); // a replaced entry moves to the end, with its new expiry
    rows.set(key, row);
  }
}
