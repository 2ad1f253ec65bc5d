import type { ConnectUIEvent } from './types.ts';

/** The `?origin=` the SDK put in the page's URL: the parent app's exact origin, or null when missing or not an origin. */
export function parentOriginOf(search: string): string | null {
  const given = new URLSearchParams(search).get('origin');
  if (!given) return null;
  try {
    const u = new URL(given);
    return /^https?:$/.test(u.protocol) && u.origin === given ? given : null;
  } catch {
    return null;
  }
}

export interface ParentWindow {
  postMessage(message: unknown, targetOrigin: string): void;
}

/** Posts one event to the parent, only ever to its exact origin (never `*`). */
export function sendToParent(parent: ParentWindow, parentOrigin: string, event: ConnectUIEvent): void {
  parent.postMessage({ source: 'keyway-connect-ui', ...event }, parentOrigin);
}

/**
 * The session token the parent sends (`{ source: 'keyway-connect', type: 'session', token }`), or null for any
 * other message: one from another window or origin is never trusted.
 */
export function sessionTokenOf(e: MessageEvent, parent: ParentWindow, parentOrigin: string): string | null {
  const d: unknown = e.data;
  if (e.source !== parent || e.origin !== parentOrigin || typeof d !== 'object' || d === null) return null;
  const m = d as { source?: unknown; type?: unknown; token?: unknown };
  return m.source === 'keyway-connect' && m.type === 'session' && typeof m.token === 'string' && m.token ? m.token : null;
}

/** The session token of a connect link: `#session_token=<token>` (a fragment never reaches a server or its logs). */
export function linkTokenOf(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('session_token');
  return token && /^kw_cs_[A-Za-z0-9_-]{43}$/.test(token) ? token : null;
}
