import type { FlowStatus } from './types.ts';

/**
 * One long-poll of the flow's outcome. A simple GET (no credentials, no custom header: no CORS preflight).
 * Rejects on a network error, a non-200 answer, bad JSON or an unknown status.
 */
export const fetchFlowStatus = (host: string, flowId: string, wait: number, signal: AbortSignal): Promise<FlowStatus> =>
  fetch(`${host}/oauth/flows/${flowId}?wait=${wait}`, { signal, credentials: 'omit', cache: 'no-store' }).then(async (r) => {
    const d = r.status == 200 && (await r.json());
    if (!/^(pending|success|error)$/.test(d?.status)) throw 0;
    return d as FlowStatus;
  });
