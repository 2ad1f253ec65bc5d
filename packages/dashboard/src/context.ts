import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.ts';
import type { Nav } from './router.ts';
import type { AuthClient, AuthCredential, Settings } from './types.ts';

/** What the app needs from the outside world; tests pass fakes. */
export interface AppDeps {
  api: Api;
  nav: Nav;
  /** `new Nango({ host: location.origin, connectSessionToken })` (or `publicKey`) in the page. */
  createAuthClient(credential: AuthCredential): AuthClient;
  /** navigator.clipboard when the page has it. */
  clipboard?: { writeText(text: string): Promise<void> } | undefined;
  /** Delay before a typed search is sent (ms). */
  searchDelayMs?: number;
  now?: () => number;
}

export type Tone = 'info' | 'success' | 'error';

export interface AppContextValue {
  deps: AppDeps;
  api: Api;
  navigate(url: string, options?: { replace?: boolean }): void;
  /** Puts a message in the page's live status region (read out by screen readers). */
  announce(message: string, tone?: Tone): void;
  /** The server's settings, fetched once per session. */
  settings(): Promise<Settings>;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside the app');
  return ctx;
}

export type Load<T> =
  /** `data`: the previous answer, kept while a new one loads when asked to (`keepData`). */
  | { state: 'loading'; data?: T; error?: undefined }
  | { state: 'ready'; data: T; error?: undefined }
  | { state: 'error'; data?: undefined; error: Error };

/**
 * Runs `load` when a key changes and keeps the last answer; answers to superseded loads are dropped, so a slow
 * answer never overwrites a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, keys: readonly unknown[], { keepData = false } = {}): Load<T> & { reload(): void; set(data: T): void } {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  const [version, setVersion] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const id = ++latest.current;
    setResult((r) => (r.state === 'loading' ? r : keepData && r.state === 'ready' ? { state: 'loading', data: r.data } : { state: 'loading' }));
    load().then(
      (data) => id === latest.current && setResult({ state: 'ready', data }),
      (error: unknown) => id === latest.current && setResult({ state: 'error', error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      // A newer load (or the unmount) makes this one's answer stale.
      if (latest.current === id) latest.current++;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...keys, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const set = useCallback((data: T) => {
    latest.current++;
    setResult({ state: 'ready', data });
  }, []);
  return { ...result, reload, set };
}

/** A value that follows `value` after `ms` without change. */
export function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    if (ms <= 0) {
      setCurrent(value);
      return;
    }
    const t = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return current;
}

/** Whether the component is still mounted (for answers arriving after a navigation). */
export function useMounted(): { readonly current: boolean } {
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  return mounted;
}
