// The dashboard rendered against a fake server: a fake fetch answering by route (a test may change any route's
// answer, or leave one pending), an in-memory address, a fake SDK and a fake clipboard. No module mocks.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { h } from 'preact';
import { afterEach, vi } from 'vitest';
import { Api } from '../src/api.ts';
import { App } from '../src/App.tsx';
import type { AppDeps } from '../src/context.ts';
import { memoryNav } from '../src/router.ts';

export const CSRF = 'csrf-token-1';
export const NOW = Date.parse('2030-01-01T12:00:00.000Z');

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}
export type Reply = [status: number, body?: unknown];
export type Handler = (req: Request, params: Record<string, string>) => Reply | Promise<Reply>;

/** A promise that never settles: the request stays pending (loading states). */
export const pending: Handler = () => new Promise<Reply>(() => {});

export const SETTINGS = {
  server_url: 'http://127.0.0.1:3003',
  callback_url: 'http://127.0.0.1:3003/oauth/callback',
  public_key: 'kw_pk_public',
  allowed_origins: ['http://127.0.0.1:5173'],
  require_connect_session: false,
  webhook_url: 'http://127.0.0.1:4000/hooks',
  encryption: { current_key_id: 'k-new', key_ids: ['k-new', 'k-old'] },
};

export const PROVIDERS = [
  { name: 'github', display_name: 'GitHub', auth_mode: 'OAUTH2', categories: ['dev-tools'], docs: 'https://docs.github.com', default_scopes: ['repo', 'user'] },
  { name: 'google-calendar', display_name: 'Google Calendar', auth_mode: 'OAUTH2', categories: ['calendar', 'productivity'], docs: 'https://developers.google.com' },
  {
    name: 'zendesk',
    display_name: 'Zendesk',
    auth_mode: 'OAUTH2',
    categories: ['support', 'ticketing'],
    docs: 'https://developer.zendesk.com',
    connection_config: { subdomain: { title: 'Zendesk subdomain', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', example: 'acme' } },
  },
  { name: 'attio-api-key', display_name: 'Attio (API key)', auth_mode: 'API_KEY', categories: ['crm'], docs: 'https://docs.attio.com', credentials: { apiKey: { title: 'Key' } } },
  { name: 'hubspot', display_name: 'HubSpot', auth_mode: 'OAUTH2', categories: ['crm', 'marketing'], docs: 'https://developers.hubspot.com' },
  { name: 'auth0-cc', display_name: 'Auth0 (client credentials)', auth_mode: 'OAUTH2_CC', categories: ['dev-tools'], docs: 'https://auth0.com/docs' },
];

export const INTEGRATION = {
  unique_key: 'github-prod',
  provider: 'github',
  display_name: 'GitHub',
  logo: '',
  created_at: '2029-12-01T10:00:00.000Z',
  updated_at: '2029-12-02T10:00:00.000Z',
};

export function summary(id: string, over: Record<string, unknown> = {}) {
  return {
    id: 'internal-' + id,
    connection_id: id,
    provider_config_key: 'github-prod',
    provider: 'github',
    created: '2029-12-05T10:00:00.000Z',
    metadata: {},
    auth_mode: 'OAUTH2',
    status: 'ok',
    expires_at: '2030-01-01T13:00:00.000Z',
    errors: [],
    end_user: { id: 'user-' + id, email: `${id}@example.com`, display_name: null, organization: null },
    tags: {},
    ...over,
  };
}

/** A full connection as the server sends it: with tokens, which the page must never show. */
export function connection(over: Record<string, unknown> = {}) {
  return {
    id: 'internal-1',
    connection_id: 'user-1',
    provider_config_key: 'github-prod',
    provider: 'github',
    connection_config: { team_id: 'T123' },
    metadata: { plan: 'pro' },
    created_at: '2029-12-05T10:00:00.000Z',
    updated_at: '2029-12-06T10:00:00.000Z',
    last_fetched_at: '2030-01-01T12:00:00.000Z',
    errors: [],
    last_refresh_failure: null,
    end_user: null,
    tags: {},
    credentials: {
      type: 'OAUTH2',
      access_token: 'ACCESS-TOKEN-SECRET',
      refresh_token: 'REFRESH-TOKEN-SECRET',
      expires_at: '2030-01-01T13:00:00.000Z',
      raw: { access_token: 'ACCESS-TOKEN-SECRET', token_type: 'bearer' },
    },
    ...over,
  };
}

export function defaultRoutes(): Record<string, Handler> {
  return {
    'GET /dashboard/api/session': () => [200, { data: { csrf: CSRF, expires_at: '2030-01-01T12:30:00.000Z' } }],
    'DELETE /dashboard/api/session': () => [200, { success: true }],
    'GET /dashboard/api/settings': () => [200, { data: SETTINGS }],
    'POST /dashboard/api/webhook-test': () => [200, { data: { delivered: true, status: 200 } }],
    'GET /providers': () => [200, { data: PROVIDERS }],
    'GET /providers/:name': (_r, p) => {
      const t = PROVIDERS.find((x) => x.name === p.name);
      return t ? [200, { data: t }] : [404, { error: { code: 'unknown_provider_template', message: 'No template' } }];
    },
    'GET /integrations': () => [200, { data: [INTEGRATION] }],
    'GET /integrations/:key': (_r, p) =>
      p.key === INTEGRATION.unique_key
        ? [200, { data: { ...INTEGRATION, credentials: { type: 'OAUTH2', client_id: 'client-123', client_secret: 'STORED-CLIENT-SECRET', scopes: 'repo,user', webhook_secret: null } } }]
        : [404, { error: { code: 'unknown_provider_config', message: `There is no integration "${p.key}"` } }],
    'GET /connections': () => [200, { connections: [summary('user-1'), summary('user-2', { status: 'refresh_failed' })], total: 2 }],
    'GET /connections/:id': () => [200, connection()],
  };
}

export interface Harness {
  requests: Request[];
  /** The requests other than the session check, as "METHOD /path?query". */
  lines(): string[];
  route(key: string, handler: Handler): void;
  nav: ReturnType<typeof memoryNav>;
  auth: ReturnType<typeof vi.fn>;
  createAuthClient: ReturnType<typeof vi.fn>;
  clipboard: { writeText: ReturnType<typeof vi.fn> };
}

/** Renders the app at `path` with the default routes plus `routes`, and lets its first requests settle. */
export async function mount(path: string, routes: Record<string, Handler> = {}, deps: Partial<AppDeps> = {}): Promise<Harness> {
  const table: Record<string, Handler> = { ...defaultRoutes(), ...routes };
  const requests: Request[] = [];
  const fetch = async (input: string, init: RequestInit) => {
    const url = new URL(input, 'http://127.0.0.1:3003');
    const method = init.method ?? 'GET';
    const req: Request = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    requests.push(req);
    const [handler, params] = find(table, method, url.pathname);
    const [status, body] = handler ? await handler(req, params) : [404, { error: { code: 'not_found', message: `No route ${method} ${url.pathname}` } }];
    return { ok: status >= 200 && status < 300, status, json: async () => body };
  };
  const auth = vi.fn();
  const createAuthClient = vi.fn(() => ({ auth }));
  const clipboard = { writeText: vi.fn(async () => {}) };
  const nav = memoryNav(path);
  render(
    h(App, {
      deps: {
        api: new Api(fetch),
        nav,
        createAuthClient: createAuthClient as AppDeps['createAuthClient'],
        clipboard,
        searchDelayMs: 0,
        now: () => NOW,
        ...deps,
      },
    }),
  );
  await flush();
  return {
    requests,
    lines: () => requests.filter((r) => r.path !== '/dashboard/api/session' || r.method !== 'GET').map((r) => `${r.method} ${r.path}${[...r.query].length ? `?${r.query}` : ''}`),
    route: (key, handler) => {
      table[key] = handler;
    },
    nav,
    auth,
    createAuthClient,
    clipboard,
  };
}

function find(table: Record<string, Handler>, method: string, path: string): [Handler | undefined, Record<string, string>] {
  for (const [key, handler] of Object.entries(table)) {
    const [m, pattern] = key.split(' ') as [string, string];
    if (m !== method) continue;
    const want = pattern.split('/');
    const got = path.split('/');
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    if (want.every((w, i) => (w.startsWith(':') ? ((params[w.slice(1)] = decodeURIComponent(got[i]!)), true) : w === got[i]))) return [handler, params];
  }
  return [undefined, {}];
}

/** Lets pending answers arrive and the renders they cause happen. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
  }
}

export async function click(el: Element): Promise<void> {
  fireEvent.click(el);
  await flush();
}

export async function type(el: Element, value: string): Promise<void> {
  fireEvent.input(el, { target: { value } });
  await flush();
}

export async function choose(el: Element, value: string): Promise<void> {
  fireEvent.change(el, { target: { value } });
  await flush();
}

export async function submit(el: Element): Promise<void> {
  fireEvent.submit(el);
  await flush();
}

export const byTestId = (id: string) => screen.getByTestId(id);
export const heading = () => screen.getByRole('heading', { level: 1 });
export const statusText = () => screen.getByTestId('status').textContent ?? '';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});
