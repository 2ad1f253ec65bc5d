import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AppContext, type AppContextValue, type AppDeps, type Tone } from './context.ts';
import { ErrorBox, Link, Loading } from './components/ui.tsx';
import { parseRoute, paths, type Route } from './router.ts';
import type { Settings } from './types.ts';
import { ActivityView, ConnectionActivityView, IntegrationActivityView } from './views/Activity.tsx';
import { ConnectionView } from './views/Connection.tsx';
import { ConnectionsView } from './views/Connections.tsx';
import { IntegrationView } from './views/Integration.tsx';
import { IntegrationsView } from './views/Integrations.tsx';
import { NewIntegrationView } from './views/NewIntegration.tsx';
import { NotFoundView } from './views/NotFound.tsx';
import { SettingsView } from './views/Settings.tsx';
import { SignInView } from './views/SignIn.tsx';

type SessionState = { state: 'checking' } | { state: 'error'; error: Error } | { state: 'signed-out'; reason?: string } | { state: 'signed-in' };

const NAV: { href: string; label: string; section: Route['name'][] }[] = [
  { href: paths.integrations(), label: 'Integrations', section: ['integrations', 'new-integration', 'integration', 'integration-activity'] },
  { href: paths.connections(), label: 'Connections', section: ['connections', 'connection', 'connection-activity'] },
  { href: paths.activity(), label: 'Activity', section: ['activity'] },
  { href: paths.settings(), label: 'Settings', section: ['settings'] },
];

export function App({ deps }: { deps: AppDeps }) {
  const { api, nav } = deps;
  const [location, setLocation] = useState(nav.current);
  const [session, setSession] = useState<SessionState>({ state: 'checking' });
  const [status, setStatus] = useState<{ text: string; tone: Tone; n: number }>({ text: '', tone: 'info', n: 0 });
  const settingsCache = useRef<Promise<Settings> | undefined>(undefined);

  // Follow the address; a new page clears the last page's status message.
  const pathname = useRef(location.pathname);
  useEffect(
    () =>
      nav.subscribe(() => {
        const next = nav.current();
        if (next.pathname !== pathname.current) setStatus((s) => ({ text: '', tone: 'info', n: s.n + 1 }));
        pathname.current = next.pathname;
        setLocation(next);
      }),
    [nav],
  );

  const live = useRef(true);
  const checkSession = useCallback(() => {
    setSession({ state: 'checking' });
    api.getSession().then(
      (s) => live.current && setSession(s ? { state: 'signed-in' } : { state: 'signed-out' }),
      (error: unknown) => live.current && setSession({ state: 'error', error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }, [api]);
  useEffect(() => {
    live.current = true;
    api.onUnauthorized(() => {
      settingsCache.current = undefined;
      setSession({ state: 'signed-out', reason: 'Your session has ended. Sign in again to continue.' });
    });
    checkSession();
    return () => {
      live.current = false;
      api.onUnauthorized(undefined);
    };
  }, [api, checkSession]);

  const route = useMemo(() => parseRoute(location.pathname, location.search), [location]);

  // Signed in at the root or the sign-in address: go to the integrations.
  useEffect(() => {
    if (session.state === 'signed-in' && (route.name === 'home' || route.name === 'sign-in')) nav.replace(paths.integrations());
  }, [session.state, route.name, nav]);

  const navigate = useCallback((url: string, options: { replace?: boolean } = {}) => (options.replace ? nav.replace(url) : nav.push(url)), [nav]);
  const announce = useCallback((text: string, tone: Tone = 'info') => setStatus((s) => ({ text, tone, n: s.n + 1 })), []);
  const ctx = useMemo<AppContextValue>(
    () => ({
      deps,
      api,
      navigate,
      announce,
      settings: () => {
        settingsCache.current ??= api.settings().catch((e: unknown) => {
          settingsCache.current = undefined;
          throw e;
        });
        return settingsCache.current;
      },
    }),
    [deps, api, navigate, announce],
  );

  const signOut = async () => {
    try {
      await api.signOut();
    } catch {
      // Signed out here either way: the session cookie expires by itself.
    }
    settingsCache.current = undefined;
    setSession({ state: 'signed-out', reason: 'You are signed out.' });
    nav.push(paths.signIn());
  };

  const statusRegion = (
    <div class={`status status-${status.tone}`} role="status" aria-live="polite" data-testid="status">
      {status.text && <p key={status.n}>{status.text}</p>}
    </div>
  );

  let body;
  if (session.state === 'checking') body = <Loading>Loading the dashboard…</Loading>;
  else if (session.state === 'error') body = <ErrorBox title="The dashboard could not start" error={session.error} retry={checkSession} />;
  else if (session.state === 'signed-out')
    body = (
      <SignInView
        reason={session.reason}
        onSignedIn={() => {
          setSession({ state: 'signed-in' });
          if (route.name === 'home' || route.name === 'sign-in' || route.name === 'not-found') nav.replace(paths.integrations());
        }}
      />
    );
  else body = <RouteView route={route} key={location.pathname} />;

  const signedIn = session.state === 'signed-in';
  return (
    <AppContext.Provider value={ctx}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <span class="brand">Keyway</span>
          {signedIn && (
            <nav aria-label="Main">
              <ul>
                {NAV.map((n) => (
                  <li key={n.href}>
                    <Link href={n.href} aria-current={n.section.includes(route.name) ? 'page' : undefined}>
                      {n.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {signedIn && (
            <button type="button" class="link-button sign-out" onClick={signOut} data-testid="sign-out">
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {statusRegion}
        {body}
      </main>
    </AppContext.Provider>
  );
}

function RouteView({ route }: { route: Route }) {
  switch (route.name) {
    case 'home':
    case 'sign-in':
      return <Loading>Loading…</Loading>;
    case 'integrations':
      return <IntegrationsView />;
    case 'new-integration':
      return <NewIntegrationView provider={route.provider} />;
    case 'integration':
      return <IntegrationView uniqueKey={route.key} />;
    case 'connections':
      return <ConnectionsView query={route.query} />;
    case 'connection':
      return <ConnectionView uniqueKey={route.key} connectionId={route.id} />;
    case 'connection-activity':
      return <ConnectionActivityView uniqueKey={route.key} connectionId={route.id} />;
    case 'integration-activity':
      return <IntegrationActivityView uniqueKey={route.key} />;
    case 'activity':
      return <ActivityView query={route.query} />;
    case 'settings':
      return <SettingsView />;
    case 'not-found':
      return <NotFoundView />;
  }
}
