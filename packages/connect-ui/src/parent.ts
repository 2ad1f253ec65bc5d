import type { ConnectUIEvent } from './types.ts';

/**
 * The parent app's exact origin: the `?origin=` our SDK puts in the page's URL; else, for the official
 * `@nangohq/frontend` (which sends none), the origin of the framing page as the browser reports it
 * (`location.ancestorOrigins`, else the referrer). The page's `frame-ancestors` already limits who may
 * frame it to KEYWAY_ALLOWED_ORIGINS. Null when none is known or it is not an origin.
 */
export function parentOriginOf(search: string, framedBy: { ancestorOrigin?: string | undefined; referrer?: string } = {}): string | null {
  const given = new URLSearchParams(search).get('origin') ?? framedBy.ancestorOrigin ?? referrerOrigin(framedBy.referrer);
  if (!given) return null;
  try {
    const u = new URL(given);
    return /^https?:$/.test(u.protocol) && u.origin === given ? given : null;
  } catch {
    return null;
  }
}

function referrerOrigin(referrer: string | undefined): string | undefined {
  if (!referrer) return undefined;
  try {
    return new URL(referrer).origin;
  } catch {
    return undefined;
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
 * The session token the parent sends (`{ source: 'keyway-connect', type: 'session', token }`, or the official
 * SDK's `{ type: 'session_token', sessionToken }`), or null for any other message: one from another window or
 * origin is never trusted.
 */
export function sessionTokenOf(e: MessageEvent, parent: ParentWindow, parentOrigin: string): string | null {
  const d: unknown = e.data;
  if (e.source !== parent || e.origin !== parentOrigin || typeof d !== 'object' || d === null) return null;
  const m = d as { source?: unknown; type?: unknown; token?: unknown; sessionToken?: unknown };
  const token = m.source === 'keyway-connect' && m.type === 'session' ? m.token : m.type === 'session_token' ? m.sessionToken : undefined;
  return typeof token === 'string' && token ? token : null;
}

/** The session token of a connect link: `#session_token=<token>` (a fragment never reaches a server or its logs). */
export function linkTokenOf(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('session_token');
  return token && /^kw_cs_[A-Za-z0-9_-]{43}$/.test(token) ? token : null;
}
