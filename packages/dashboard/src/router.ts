import { ACTIVITY_OUTCOMES, ACTIVITY_TYPES, STATUSES, type ActivityOutcome, type ActivityQuery, type ActivityType, type ConnectionQuery, type ConnectionStatus } from './types.ts';

/** Where the server serves the app (Vite's `base`). */
export const BASE = '/dashboard';

export type Route =
  | { name: 'home' }
  | { name: 'sign-in' }
  | { name: 'integrations' }
  | { name: 'new-integration'; provider: string }
  | { name: 'integration'; key: string }
  | { name: 'connections'; query: ConnectionQuery }
  | { name: 'connection'; key: string; id: string }
  | { name: 'connection-activity'; key: string; id: string }
  | { name: 'integration-activity'; key: string }
  | { name: 'activity'; query: ActivityQuery }
  | { name: 'settings' }
  | { name: 'not-found' };

/** The browser's address, behind a seam: the History API in the page, memory in tests. */
export interface Nav {
  current(): { pathname: string; search: string };
  push(url: string): void;
  replace(url: string): void;
  /** Calls `listener` after every change (push, replace, back, forward); returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
}

export function browserNav(win: Window): Nav {
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  win.addEventListener('popstate', notify);
  return {
    current: () => ({ pathname: win.location.pathname, search: win.location.search }),
    push(url) {
      win.history.pushState(null, '', url);
      notify();
    },
    replace(url) {
      win.history.replaceState(null, '', url);
      notify();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function memoryNav(initial = `${BASE}/`): Nav & { history: string[] } {
  const listeners = new Set<() => void>();
  const history = [initial];
  const split = (url: string) => {
    const u = new URL(url, 'http://127.0.0.1');
    return { pathname: u.pathname, search: u.search };
  };
  return {
    history,
    current: () => split(history.at(-1)!),
    push(url) {
      history.push(url);
      listeners.forEach((l) => l());
    },
    replace(url) {
      history[history.length - 1] = url;
      listeners.forEach((l) => l());
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

export function parseRoute(pathname: string, search: string): Route {
  if (pathname !== BASE && !pathname.startsWith(BASE + '/')) return { name: 'not-found' };
  const parts = pathname.slice(BASE.length).split('/').filter(Boolean).map(decode);
  if (parts.some((p) => p === undefined)) return { name: 'not-found' };
  const [a, b, c, d, ...rest] = parts as string[];
  const q = new URLSearchParams(search);
  if (rest.length > 0) return { name: 'not-found' };
  if (a === 'connections' && b !== undefined && c !== undefined && d === 'activity') return { name: 'connection-activity', key: b, id: c };
  if (d !== undefined) return { name: 'not-found' };
  if (a === 'activity' && b === undefined) return { name: 'activity', query: parseActivityQuery(q) };
  if (a === 'integrations' && b !== undefined && b !== 'new' && c === 'activity') return { name: 'integration-activity', key: b };
  if (a === undefined) return { name: 'home' };
  if (a === 'sign-in' && b === undefined) return { name: 'sign-in' };
  if (a === 'settings' && b === undefined) return { name: 'settings' };
  if (a === 'integrations') {
    if (b === undefined) return { name: 'integrations' };
    if (b === 'new' && c === undefined) return { name: 'new-integration', provider: q.get('provider') ?? '' };
    if (c === undefined) return { name: 'integration', key: b };
  }
  if (a === 'connections') {
    if (b === undefined) return { name: 'connections', query: parseConnectionQuery(q) };
    if (c !== undefined) return { name: 'connection', key: b, id: c };
  }
  return { name: 'not-found' };
}

function parseConnectionQuery(q: URLSearchParams): ConnectionQuery {
  const status = q.get('status') ?? '';
  const page = Number(q.get('page') ?? '1');
  return {
    integration: q.get('integration') ?? '',
    status: STATUSES.includes(status as ConnectionStatus) ? (status as ConnectionStatus) : '',
    search: q.get('search') ?? '',
    // The address counts pages from 1, the API from 0.
    page: Number.isInteger(page) && page >= 1 ? page - 1 : 0,
  };
}

function parseActivityQuery(q: URLSearchParams): ActivityQuery {
  const type = q.get('type') ?? '';
  const outcome = q.get('outcome') ?? '';
  return {
    integration: q.get('integration') ?? '',
    connection: q.get('connection') ?? '',
    type: ACTIVITY_TYPES.includes(type as ActivityType) ? (type as ActivityType) : '',
    outcome: ACTIVITY_OUTCOMES.includes(outcome as ActivityOutcome) ? (outcome as ActivityOutcome) : '',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
  };
}

const enc = encodeURIComponent;

/** The app's addresses. */
export const paths = {
  home: () => `${BASE}/`,
  signIn: () => `${BASE}/sign-in`,
  integrations: () => `${BASE}/integrations`,
  newIntegration: (provider = '') => `${BASE}/integrations/new${provider ? `?provider=${enc(provider)}` : ''}`,
  integration: (key: string) => `${BASE}/integrations/${enc(key)}`,
  connections: (q: Partial<ConnectionQuery> = {}) => {
    const p = new URLSearchParams();
    if (q.integration) p.set('integration', q.integration);
    if (q.status) p.set('status', q.status);
    if (q.search) p.set('search', q.search);
    if (q.page) p.set('page', String(q.page + 1));
    const s = p.toString();
    return `${BASE}/connections${s ? `?${s}` : ''}`;
  },
  connection: (key: string, id: string) => `${BASE}/connections/${enc(key)}/${enc(id)}`,
  connectionActivity: (key: string, id: string) => `${BASE}/connections/${enc(key)}/${enc(id)}/activity`,
  integrationActivity: (key: string) => `${BASE}/integrations/${enc(key)}/activity`,
  activity: (q: Partial<ActivityQuery> = {}) => {
    const p = new URLSearchParams();
    for (const k of ['integration', 'connection', 'type', 'outcome', 'from', 'to'] as const) if (q[k]) p.set(k, q[k]);
    const s = p.toString();
    return `${BASE}/activity${s ? `?${s}` : ''}`;
  },
  settings: () => `${BASE}/settings`,
};
