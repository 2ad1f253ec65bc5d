/**
 * Whether an error means the database cannot be reached right now (stopped, restarting, the network
 * between us cut, no connection slot free), as opposed to a request it refused. Such failures are
 * answered `503 store_unavailable` with `Retry-After`: the client should try again, nothing is wrong
 * with what it sent.
 */
const CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
]);
/** node-postgres' own messages for a connection that died or never came (they carry no code). */
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i;

export function isStoreUnavailable(e: unknown): boolean {
  if (e instanceof AggregateError) return e.errors.length > 0 && e.errors.every(isStoreUnavailable);
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && (CODES.has(code) || code.startsWith('08'))) return true; // class 08: connection exception
  return e instanceof Error && MESSAGES.test(e.message);
}
