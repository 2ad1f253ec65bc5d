import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type DemoApi } from './api.ts';
import { describeAuthError, type AuthClient } from './auth.ts';
import { IntegrationCard } from './components/IntegrationCard.tsx';
import { CONNECTING, IDLE, type CardState } from './components/state.ts';
import type { DemoConfig, DemoIntegration } from './types.ts';

export interface AppProps {
  readonly api: DemoApi;
  /** Called with each loaded config: `new Nango({ host, connectSessionToken })` in the browser. */
  readonly createAuthClient: (config: DemoConfig) => AuthClient;
}

type Load = { readonly status: 'loading' } | { readonly status: 'ready' } | { readonly status: 'failed'; readonly message: string };

export function App({ api, createAuthClient }: AppProps) {
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [config, setConfig] = useState<DemoConfig | null>(null);
  const [integrations, setIntegrations] = useState<DemoIntegration[]>([]);
  const [cards, setCards] = useState<Record<string, CardState>>({});

  // One SDK instance per connect session.
  const makeClient = useRef(createAuthClient).current;
  const client = useMemo(() => (config ? makeClient(config) : null), [config, makeClient]);

  const setCard = useCallback((key: string, next: CardState | ((prev: CardState) => CardState)) => {
    setCards((all) => ({ ...all, [key]: typeof next === 'function' ? next(all[key] ?? IDLE) : next }));
  }, []);

  /** Reads the connection through the backend (@keyway/node) and shows it. */
  const readToken = useCallback(
    async (key: string) => {
      setCard(key, (prev) => (prev.status === 'connected' ? { ...prev, loading: true } : { status: 'connected', token: null, loading: true, tokenError: null }));
      try {
        const token = await api.getToken(key);
        setCard(key, { status: 'connected', token, loading: false, tokenError: null });
      } catch (e) {
        if (e instanceof ApiError && e.code === 'unknown_connection') {
          setCard(key, IDLE); // deleted meanwhile
          return;
        }
        const message = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
        setCard(key, (prev) => (prev.status === 'connected' ? { ...prev, loading: false, tokenError: message } : prev));
      }
    },
    [api, setCard],
  );

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const [cfg, list, connections] = await Promise.all([api.getConfig(), api.listIntegrations(), api.listConnections()]);
        if (!live) return;
        const connected = new Set(connections.map((c) => c.providerConfigKey));
        setConfig(cfg);
        setIntegrations(list);
        setCards(
          Object.fromEntries(
            list.map((i): [string, CardState] => [
              i.uniqueKey,
              connected.has(i.uniqueKey) ? { status: 'connected', token: null, loading: true, tokenError: null } : IDLE,
            ]),
          ),
        );
        setLoad({ status: 'ready' });
        for (const key of connected) if (list.some((i) => i.uniqueKey === key)) void readToken(key);
      } catch (e) {
        if (live) setLoad({ status: 'failed', message: e instanceof ApiError ? `${e.code}: ${e.message}` : String(e) });
      }
    })();
    return () => {
      live = false;
    };
  }, [api, readToken]);

  // A connect session lives 30 minutes: ask the backend for a new one a minute before it ends.
  useEffect(() => {
    if (!config) return;
    const renewIn = Math.max(0, Date.parse(config.sessionExpiresAt) - Date.now() - 60_000);
    const timer = setTimeout(() => void api.getConfig().then(setConfig, () => {}), renewIn);
    return () => clearTimeout(timer);
  }, [api, config]);

  // The flow under way per integration, so that "Cancel" can stop it (closing the popup is not
  // detected: with COOP on the provider's pages the opener cannot tell).
  const flows = useRef(new Map<string, AbortController>());

  const connect = (key: string) => {
    if (!client || !config) return;
    flows.current.get(key)?.abort();
    const controller = new AbortController();
    flows.current.set(key, controller);
    // auth() first, synchronously within the click: an awaited step before it would get the popup blocked.
    let pending: Promise<unknown>;
    try {
      pending = client.auth(key, config.userId, { signal: controller.signal });
    } catch (e) {
      pending = Promise.reject(e);
    }
    setCard(key, CONNECTING);
    pending.then(
      () => {
        if (flows.current.get(key) !== controller) return;
        flows.current.delete(key);
        void readToken(key);
      },
      (err: unknown) => {
        if (flows.current.get(key) !== controller) return;
        flows.current.delete(key);
        const { type, message } = describeAuthError(err);
        if (type === 'aborted' && controller.signal.aborted) setCard(key, IDLE); // the user's own "Cancel"
        else setCard(key, { status: 'error', errorType: type, message });
      },
    );
  };

  const cancel = (key: string) => {
    const controller = flows.current.get(key);
    flows.current.delete(key);
    controller?.abort();
    setCard(key, IDLE);
  };

  return (
    <main class="app">
      <header class="intro">
        <h1>Keyway demo</h1>
        <p>
          Connect an account; Keyway keeps the tokens. The details below are read by this demo&apos;s backend with <code>@keyway/node</code> — the browser
          only ever sees a masked token.
        </p>
        {config && (
          <p class="meta">
            Signed in as <code>{config.userId}</code> · Keyway at <code>{config.keywayHost}</code>
          </p>
        )}
      </header>

      {load.status === 'loading' && (
        <p role="status" aria-live="polite">
          Loading integrations…
        </p>
      )}
      {load.status === 'failed' && (
        <p class="error" role="alert" data-testid="load-error">
          Could not load the demo: {load.message}
        </p>
      )}
      {load.status === 'ready' && integrations.length === 0 && <p>No integrations yet. Start the demo with <code>pnpm demo</code> to create the sandbox one.</p>}
      {load.status === 'ready' && (
        <div class="cards">
          {integrations.map((integration) => (
            <IntegrationCard
              key={integration.uniqueKey}
              integration={integration}
              state={cards[integration.uniqueKey] ?? IDLE}
              onConnect={connect}
              onCancel={cancel}
              onRefresh={(key) => void readToken(key)}
            />
          ))}
        </div>
      )}
    </main>
  );
}
