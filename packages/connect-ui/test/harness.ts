// A harness for the Connect UI: the page rendered with a fake parent window, a fake fetch whose every request the
// test answers by hand, and a fake SDK. Messages and key presses go through happy-dom's real window.
import { act, cleanup, render, screen } from '@testing-library/preact';
import { h } from 'preact';
import { afterEach, vi } from 'vitest';
import { createApi } from '../src/api.ts';
import { App, type AppDeps } from '../src/App.tsx';
import type { Connected, Integration, Session } from '../src/types.ts';

export const PARENT_ORIGIN = 'https://app.example';
export const TOKEN = 'kw_cs_' + 'a'.repeat(43);

export const GITHUB: Integration = {
  unique_key: 'github',
  provider: 'github',
  display_name: 'GitHub',
  auth_mode: 'OAUTH2',
  categories: ['dev-tools'],
  docs: 'https://docs.github.com/apps',
  connection_config: {},
};
export const ZENDESK: Integration = {
  unique_key: 'zendesk',
  provider: 'zendesk',
  display_name: 'Zendesk',
  auth_mode: 'OAUTH2',
  categories: ['support', 'ticketing'],
  docs: 'https://developer.zendesk.com',
  connection_config: {
    subdomain: { title: 'Zendesk subdomain', description: 'The text before .zendesk.com.', pattern: '[a-z0-9-]{1,63}', example: 'acme' },
  },
};
export const ATTIO: Integration = {
  unique_key: 'attio-key',
  provider: 'attio-api-key',
  display_name: 'Attio (API key)',
  auth_mode: 'API_KEY',
  categories: ['crm'],
  docs: 'https://docs.attio.com/rest-api/guides/authentication',
  credentials: { apiKey: { title: 'Access token', description: 'From Workspace settings > Developers.', pattern: '[a-f0-9]{64}', secret: true } },
  connection_config: {},
};
export const ZOOMINFO: Integration = {
  unique_key: 'zoominfo',
  provider: 'zoominfo',
  display_name: 'ZoomInfo (username and password)',
  auth_mode: 'TWO_STEP',
  categories: ['sales'],
  docs: 'https://github.com/Zoominfo/api-auth-java-client',
  credentials: { username: { title: 'ZoomInfo user name', secret: false }, password: { title: 'Password', secret: true } },
  connection_config: {},
};
export const BAMBOO: Integration = {
  unique_key: 'bamboo',
  provider: 'bamboohr-basic',
  display_name: 'BambooHR (API key)',
  auth_mode: 'BASIC',
  categories: ['hr'],
  docs: 'https://documentation.bamboohr.com/docs/getting-started',
  credentials: {
    username: { title: 'API key', pattern: '^[a-f0-9]{40}$', secret: true },
    password: { title: 'Password (any value)', example: 'x', secret: true },
  },
  connection_config: { subdomain: { title: 'BambooHR company domain', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', example: 'acme' } },
};
export const CLIENT_CREDENTIALS: Integration = {
  unique_key: 'm2m',
  provider: 'auth0-cc',
  display_name: 'Machine to machine',
  auth_mode: 'OAUTH2_CC',
  categories: ['dev-tools'],
  docs: 'https://auth0.com/docs',
  connection_config: {},
};

export const sessionOf = (integrations: Integration[]): Session => ({
  end_user: { id: 'user-42', email: 'ada@example.com' },
  expires_at: '2030-01-01T00:30:00.000Z',
  integrations,
});

/** Runs `fn` then lets every promise callback it started run, and renders what they changed. */
export const settle = (fn: () => void): Promise<void> =>
  act(async () => {
    fn();
    await new Promise((r) => setTimeout(r, 0));
  });

export interface FetchCall {
  url: string;
  init: RequestInit;
  respond(status: number, body: unknown): Promise<void>;
  fail(): Promise<void>;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): Promise<void>;
  reject(e: unknown): Promise<void>;
}

/** A promise settled by the test, each settlement followed by the re-render it causes. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return {
    promise,
    resolve: (v) => settle(() => resolve(v)),
    reject: (e) => settle(() => reject(e)),
  };
}

/** What the fake SDK's `auth()` was called with, and the promise it returned. */
export interface AuthCall {
  token: string;
  args: unknown[];
  result: Deferred<Connected>;
}

export interface Harness {
  parent: { postMessage: ReturnType<typeof vi.fn> };
  calls: FetchCall[];
  auths: AuthCall[];
  /** The events the page posted to the parent, checked to have gone to the parent's exact origin. */
  events(): unknown[];
  /** A message arriving at the page's window. */
  message(data: unknown, origin?: string, source?: unknown): Promise<void>;
  /** The parent sends the session token; the page asks for the session; the test answers with `session`. */
  start(session?: Session, token?: string): Promise<void>;
}

export function mount(deps: Partial<AppDeps> = {}): Harness {
  const parent = { postMessage: vi.fn() };
  const calls: FetchCall[] = [];
  const auths: AuthCall[] = [];
  const fetch = vi.fn(
    (url: string, init: RequestInit) =>
      new Promise((resolve, reject) => {
        calls.push({
          url,
          init,
          respond: (status, body) =>
            settle(() => resolve({ ok: status >= 200 && status < 300, status, json: async () => (typeof body === 'string' ? JSON.parse(body) : body) })),
          fail: () => settle(() => reject(new TypeError('Failed to fetch'))),
        });
      }),
  );
  const createAuthClient = (token: string) => ({
    auth: (...args: unknown[]) => {
      const result = deferred<Connected>();
      auths.push({ token, args, result });
      return result.promise;
    },
  });
  render(
    h(App, {
      deps: {
        parentOrigin: PARENT_ORIGIN,
        parent,
        events: window,
        api: createApi(fetch as unknown as typeof globalThis.fetch),
        createAuthClient: createAuthClient as AppDeps['createAuthClient'],
        ...deps,
      },
    }),
  );
  const harness: Harness = {
    parent,
    calls,
    auths,
    events: () =>
      parent.postMessage.mock.calls.map(([data, targetOrigin]) => {
        if (targetOrigin !== PARENT_ORIGIN) throw new Error(`posted to ${String(targetOrigin)}`);
        return data;
      }),
    message: (data, origin = PARENT_ORIGIN, source = parent) =>
      settle(() => window.dispatchEvent(new MessageEvent('message', { data, origin, source: source as MessageEventSource }))),
    async start(session = sessionOf([GITHUB, ZENDESK, ATTIO, BAMBOO, CLIENT_CREDENTIALS]), token = TOKEN) {
      await harness.message({ source: 'keyway-connect', type: 'session', token });
      await calls.at(-1)!.respond(200, { data: session });
    },
  };
  return harness;
}

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

export const heading = () => screen.getByRole('heading', { level: 1 });
