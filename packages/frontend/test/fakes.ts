// A minimal fake browser for the SDK's unit tests: a window with popups and message listeners, and a fetch
// whose every request the test answers by hand.
import { afterEach, beforeEach, vi } from 'vitest';
import { AuthError } from '../src/index.ts';

export const HOST = 'https://keyway.example';
export const APP_ORIGIN = 'https://app.example';

export class FakePopup {
  closed = false;
  close = vi.fn(() => {
    this.closed = true;
  });
}

export interface FetchCall {
  url: string;
  init: RequestInit;
  respond(status: number, body: unknown): void;
  /** A network error, as a CORS refusal looks to the page. */
  fail(): void;
}

export interface Opened {
  url: string;
  name: string;
  features: string;
  popup: FakePopup;
}

export interface Fakes {
  opened: Opened[];
  calls: FetchCall[];
  listeners: Set<(e: unknown) => void>;
  blockPopups: boolean;
  post(data: unknown, origin?: string, source?: unknown): void;
}

export function installFakes(): Fakes {
  const f: Fakes = {
    opened: [],
    calls: [],
    listeners: new Set(),
    blockPopups: false,
    post: (data, origin = HOST, source = f.opened.at(-1)?.popup) => f.listeners.forEach((fn) => fn({ data, origin, source })),
  };
  const win = {
    location: { origin: APP_ORIGIN },
    screenX: 100,
    screenY: 50,
    outerWidth: 1300,
    outerHeight: 900,
    open: vi.fn((url: string, name: string, features: string) => {
      if (f.blockPopups) return null;
      const popup = new FakePopup();
      f.opened.push({ url, name, features, popup });
      return popup;
    }),
    addEventListener: (type: string, fn: (e: unknown) => void) => type === 'message' && f.listeners.add(fn),
    removeEventListener: (type: string, fn: (e: unknown) => void) => type === 'message' && f.listeners.delete(fn),
  };
  const fetch = vi.fn(
    (url: string, init: RequestInit) =>
      new Promise((resolve, reject) => {
        const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
        if (init.signal?.aborted) return abort();
        init.signal?.addEventListener('abort', abort);
        f.calls.push({
          url,
          init,
          respond: (status, body) =>
            resolve({
              status,
              ok: status >= 200 && status < 300,
              json: async () => (typeof body === 'string' ? JSON.parse(body) : body),
            }),
          fail: () => reject(new TypeError('Failed to fetch')),
        });
      }),
  );
  vi.stubGlobal('window', win);
  vi.stubGlobal('fetch', fetch);
  return f;
}

/** Installs the fakes and fake timers around each test of the file. */
export function useFakes(): () => Fakes {
  let f: Fakes;
  beforeEach(() => {
    vi.useFakeTimers();
    f = installFakes();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
  return () => f;
}

/** Lets pending promise callbacks (and timers due within `ms`) run. */
export const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

export interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: AuthError;
}

/** Observes a promise without letting its rejection go unhandled. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending' };
  p.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error: AuthError) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

export const flowIdOf = (o: Opened): string => new URL(o.url).searchParams.get('flow_id')!;
