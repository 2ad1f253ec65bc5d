import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from './api.ts';
import { ConnectForm } from './components/ConnectForm.tsx';
import { Dialog, Heading, Spinner } from './components/Dialog.tsx';
import { IntegrationList } from './components/IntegrationList.tsx';
import { shortName, userIntegrations } from './fields.ts';
import { sendToParent, sessionTokenOf, type ParentWindow } from './parent.ts';
import type { AuthClient, ConnectUIEvent, Integration } from './types.ts';

/** Everything the page takes from its surroundings; tests pass fakes. */
export interface AppDeps {
  /** The parent app's exact origin (the `?origin=` of the page URL); null when missing or not an origin. */
  readonly parentOrigin: string | null;
  /** `window.parent`; null when the page is not framed. */
  readonly parent: ParentWindow | null;
  /** Where `message` and `keydown` events arrive: `window`. */
  readonly events: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  readonly api: Api;
  /** `new Nango({ host: location.origin, connectSessionToken: token })` from `@keyway/frontend`. */
  readonly createAuthClient: (token: string) => AuthClient;
  /** A connect link's session token (`#session_token=` of the page URL), used when the page is not framed. */
  readonly linkToken?: string | null;
}

type View =
  | { readonly name: 'waiting' }
  | { readonly name: 'failed'; readonly title: string; readonly message: string }
  | { readonly name: 'list' }
  | { readonly name: 'connect'; readonly integration: Integration }
  | { readonly name: 'done'; readonly integration: Integration };

const NOT_FRAMED = {
  title: 'Nothing to show here',
  message: "This is Keyway's Connect UI: it opens inside an app, through openConnectUI() of @keyway/frontend.",
};
const EXPIRED = {
  title: 'This session has expired',
  message: 'For your security, this window only works for a limited time. Close it and start connecting again.',
};

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * The Connect UI: waits for the session token from the parent window, loads what the session may connect, and
 * walks the end user through one connection. Tells the parent `ready`, `connect`, `error` and `close`.
 */
export function App({ deps }: { deps: AppDeps }) {
  const { parent, parentOrigin, events, api } = deps;
  const linked = parent && parentOrigin ? { parent, origin: parentOrigin } : null;
  const emit = (event: ConnectUIEvent) => linked && sendToParent(linked.parent, linked.origin, event);
  const close = () => emit({ type: 'close' });

  // A connect link (Nango's `connect_link`): the page opened on its own, the token in its URL's fragment.
  const standalone = !linked && deps.linkToken ? deps.linkToken : null;
  const [view, setView] = useState<View>(linked || standalone ? { name: 'waiting' } : { name: 'failed', ...NOT_FRAMED });
  const [token, setToken] = useState<string | null>(null);
  const [integrations, setIntegrations] = useState<Integration[]>([]);
  const [query, setQuery] = useState('');
  const failed = (err: unknown) => {
    const errorType = err instanceof ApiError ? err.code : 'unknown_error';
    const errorMessage = err instanceof Error ? err.message : String(err);
    setView({ name: 'failed', ...(errorType === 'invalid_connect_session' ? EXPIRED : { title: 'Something went wrong', message: errorMessage }) });
    emit({ type: 'error', payload: { errorType, errorMessage } });
  };
  // The latest handlers, for the listeners added once.
  const latest = useRef({ close, failed });
  latest.current = { close, failed };

  // The session token: from the parent window only, from its exact origin only. A new token reloads the session.
  useEffect(() => {
    let latestLoad = 0;
    const loadSession = (t: string) => {
      const load = ++latestLoad;
      setToken(t);
      setView({ name: 'waiting' });
      api.session(t).then(
        (session) => {
          if (load !== latestLoad) return;
          const list = userIntegrations(session.integrations);
          setIntegrations(list);
          setView(list.length === 1 ? { name: 'connect', integration: list[0]! } : { name: 'list' });
        },
        (err: unknown) => load === latestLoad && latest.current.failed(err),
      );
    };
    if (standalone) {
      loadSession(standalone);
      return () => void (latestLoad = -1);
    }
    if (!linked) return;
    const onMessage = (e: Event) => {
      const t = sessionTokenOf(e as MessageEvent, linked.parent, linked.origin);
      if (t) loadSession(t);
    };
    events.addEventListener('message', onMessage);
    emit({ type: 'ready' });
    return () => {
      latestLoad = -1;
      events.removeEventListener('message', onMessage);
    };
  }, []);

  // Escape closes; Tab stays inside the dialog (the frame covers the whole app window).
  useEffect(() => {
    const onKey = (e: Event) => {
      const k = e as KeyboardEvent;
      if (k.key === 'Escape') {
        k.preventDefault();
        latest.current.close();
      } else if (k.key === 'Tab') {
        const all = [...(document.getElementById('kw-dialog')?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
        const [first, last] = [all[0], all.at(-1)];
        if (!first || !last) return;
        const active = document.activeElement;
        if (active === document.body || active === (k.shiftKey ? first : last)) {
          k.preventDefault();
          (k.shiftKey ? last : first).focus();
        }
      }
    };
    events.addEventListener('keydown', onKey);
    return () => events.removeEventListener('keydown', onKey);
  }, []);

  const single = integrations.length === 1;
  const screenKey = view.name === 'connect' || view.name === 'done' ? `${view.name}:${view.integration.unique_key}` : view.name;
  return (
    <div class="kw-backdrop">
      <Dialog onClose={linked ? close : null}>
        <div key={screenKey} class="kw-screen">
          {view.name === 'waiting' && (
            <>
              <Heading>Connect an account</Heading>
              <p class="kw-status" role="status" aria-live="polite">
                <Spinner />
                Loading…
              </p>
            </>
          )}
          {view.name === 'failed' && (
            <>
              <Heading>{view.title}</Heading>
              <p class="kw-error" role="alert">
                {view.message}
              </p>
              {linked && (
                <div class="kw-actions">
                  <button type="button" class="kw-primary" onClick={close}>
                    Close
                  </button>
                </div>
              )}
            </>
          )}
          {view.name === 'list' && (
            <IntegrationList integrations={integrations} query={query} onQuery={setQuery} onSelect={(integration) => setView({ name: 'connect', integration })} />
          )}
          {view.name === 'connect' && token && (
            <ConnectForm
              integration={view.integration}
              token={token}
              api={api}
              createAuthClient={deps.createAuthClient}
              onBack={single ? null : () => setView({ name: 'list' })}
              onConnected={(result) => {
                emit({ type: 'connect', payload: result });
                setView({ name: 'done', integration: view.integration });
              }}
              onFailed={(errorType, errorMessage) => emit({ type: 'error', payload: { errorType, errorMessage } })}
              onSessionExpired={(message) => failed(new ApiError('invalid_connect_session', message, 401))}
            />
          )}
          {view.name === 'done' && (
            <>
              <Heading>{shortName(view.integration)} is connected</Heading>
              <p class="kw-lead" role="status">
                Your {shortName(view.integration)} account is now connected. You can go back to the app.
              </p>
              <div class="kw-actions">
                <button type="button" class="kw-primary" onClick={close}>
                  Done
                </button>
              </div>
            </>
          )}
        </div>
      </Dialog>
    </div>
  );
}
