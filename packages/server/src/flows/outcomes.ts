import { EventEmitter } from 'node:events';
import type { FlowResult, Store } from '../store/types.ts';
import { sha256 } from '../primitives.ts';

/**
 * What our SDK receives (long-poll and postMessage): the stored result without the pair of a failed
 * flow, which only the official SDK's WebSocket message carries.
 */
export function sdkResult(result: FlowResult): FlowResult {
  return result.status === 'error' ? { status: 'error', error: result.error } : result;
}

/** How long an outcome stays readable after the flow ends. */
const OUTCOME_TTL_MS = 10 * 60_000;
export const FLOW_ID = /^[A-Za-z0-9_-]{43}$/;
/** How often a waiting long-poll re-reads the store (outcomes written by another server instance). */
const POLL_MS = 500;

/**
 * The result channel's server side: a flow's outcome is written to the store (so the SDK gets it
 * even when the popup's opener link is cut or a socket dropped), and long-polls waiting on it in
 * this process are woken at once.
 */
export class FlowOutcomes {
  readonly #events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly store: Store) {}

  async record(flowId: string, result: FlowResult): Promise<void> {
    const flow_id_hash = sha256(flowId);
    await this.store.putOutcome({ flow_id_hash, result, expires_at: Date.now() + OUTCOME_TTL_MS });
    this.#events.emit(flow_id_hash, result);
  }

  /**
   * Wakes the waits of this process only, storing nothing: for a flow refused before it was
   * authorised, where an unauthenticated caller must not be able to write to the store.
   */
  notify(flowId: string, result: FlowResult): void {
    this.#events.emit(sha256(flowId), result);
  }

  /**
   * The outcome, waiting up to `waitMs` for it; undefined while the flow is still running. A
   * callback served by this process wakes the wait at once; one served by another instance on the
   * same database is seen by re-reading the store every POLL_MS.
   */
  async wait(flowId: string, waitMs: number, signal: AbortSignal): Promise<FlowResult | undefined> {
    const hash = sha256(flowId);
    const now = await this.store.getOutcome(hash);
    if (now || waitMs <= 0) return now?.result;
    return new Promise((resolve) => {
      let settled = false;
      const done = (result?: FlowResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.#events.off(hash, done);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => done();
      const timer = setTimeout(done, waitMs);
      const poll = setInterval(() => void this.store.getOutcome(hash).then((o) => o && done(o.result), () => undefined), POLL_MS);
      this.#events.on(hash, done);
      signal.addEventListener('abort', onAbort);
    });
  }
}
