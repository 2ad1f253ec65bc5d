import { useEffect, useId, useState } from 'preact/hooks';
import { ApiError, splitScopes } from '../api.ts';
import { useApp, useLoad, useMounted } from '../context.ts';
import { ConfirmDialog } from '../components/Dialog.tsx';
import { connectionTabs, Tabs } from '../components/Tabs.tsx';
import { CopyField, DateTime, ErrorBox, Facts, Link, Loading, PageHeading, TextField } from '../components/ui.tsx';
import { authModeLabel, hasClient } from '../format.ts';
import { paths } from '../router.ts';
import { ClientCertificateCard } from './IntegrationCertificate.tsx';
import { AppInputsForm, HostsForm } from './IntegrationHosts.tsx';
import type { AuthMode, Integration, IntegrationClient, IntegrationInput, Provider, Settings } from '../types.ts';

interface Loaded {
  integration: Integration;
  client: IntegrationClient;
  template: Provider | undefined;
  settings: Settings;
}

export function IntegrationView({ uniqueKey }: { uniqueKey: string }) {
  const { api, settings, navigate, announce } = useApp();
  const load = useLoad(async (): Promise<Loaded> => {
    const [{ integration, client }, s] = await Promise.all([api.integration(uniqueKey), settings()]);
    // The template may have been removed from the server since: the integration still shows.
    const template = await api.provider(integration.provider).catch(() => undefined);
    return { integration, client, template, settings: s };
  }, [uniqueKey]);
  const [deleting, setDeleting] = useState(false);

  if (load.state !== 'ready') {
    return (
      <section>
        <PageHeading>{uniqueKey}</PageHeading>
        {load.state === 'loading' && <Loading>Loading the integration…</Loading>}
        {load.state === 'error' && (
          <>
            <ErrorBox
              title={load.error instanceof ApiError && load.error.status === 404 ? 'No such integration' : 'The integration could not be loaded'}
              error={load.error}
              retry={load.error instanceof ApiError && load.error.status === 404 ? undefined : load.reload}
            />
            <p>
              <Link href={paths.integrations()}>All integrations</Link>
            </p>
          </>
        )}
      </section>
    );
  }

  const { integration, client, template, settings: s } = load.data;
  const mode = template?.auth_mode;
  return (
    <section>
      <p class="breadcrumb">
        <Link href={paths.integrations()}>Integrations</Link> /
      </p>
      <PageHeading>{integration.display_name || integration.unique_key}</PageHeading>
      <Tabs
        label="Integration"
        tabs={connectionTabs({ details: paths.integration(integration.unique_key), activity: paths.integrationActivity(integration.unique_key) })}
        current={paths.integration(integration.unique_key)}
      />
      <Facts
        rows={[
          ['Config key', <span class="mono">{integration.unique_key}</span>],
          ['Provider', template ? template.display_name : `${integration.provider} (template not installed)`],
          ['Auth', mode ? authModeLabel(mode) : '—'],
          ['Created', <DateTime iso={integration.created_at} />],
          ['Updated', <DateTime iso={integration.updated_at} />],
        ]}
      />
      <p>
        <Link href={paths.connections({ integration: integration.unique_key })} data-testid="integration-connections">
          View its connections
        </Link>
        {template?.docs && (
          <>
            {' · '}
            <a href={template.docs} target="_blank" rel="noopener noreferrer">
              Provider documentation<span class="visually-hidden"> (opens in a new tab)</span>
            </a>
          </>
        )}
      </p>

      {mode === 'OAUTH2' && (
        <section class="card" aria-labelledby="redirect-heading">
          <h2 id="redirect-heading">Redirect URL</h2>
          <CopyField
            label="Redirect URL to register at the provider"
            value={s.callback_url}
            testid="copy-callback"
            hint="Register this exact URL as the redirect (callback) URL of your OAuth app at the provider."
          />
        </section>
      )}

      {mode === 'OAUTH2' && template && <TryIt integration={integration} template={template} publicKey={s.public_key} sessionRequired={s.require_connect_session} />}

      {template && template.host_inputs.length > 0 && (
        <HostsForm integration={integration} template={template} onSaved={(updated) => load.set({ ...load.data, integration: updated })} />
      )}

      {template && Object.values(template.connection_config).some((input) => input.from_integration) && (
        <AppInputsForm integration={integration} template={template} onSaved={(updated) => load.set({ ...load.data, integration: updated })} />
      )}

      {template?.client_certificate && <ClientCertificateCard integration={integration} onSaved={(updated) => load.set({ ...load.data, integration: updated })} />}

      <EditForm
        integration={integration}
        client={client}
        mode={mode}
        onSaved={(updated, nextClient) => load.set({ ...load.data, integration: updated, client: nextClient })}
      />

      <section class="card danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete</h2>
        <p>Deleting the integration also deletes all its connections: their users will have to connect again.</p>
        <button type="button" class="danger" onClick={() => setDeleting(true)} data-testid="delete">
          Delete integration
        </button>
      </section>

      {deleting && (
        <ConfirmDialog
          title={`Delete “${integration.display_name || integration.unique_key}”?`}
          confirmLabel="Delete integration and connections"
          busyLabel="Deleting…"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api.deleteIntegration(integration.unique_key);
            navigate(paths.integrations());
            announce(`Integration “${integration.unique_key}” deleted.`, 'success');
          }}
        >
          <p>
            The integration <span class="mono">{integration.unique_key}</span> and all of its connections will be deleted. This cannot be
            undone.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

export const CONNECTION_ID = /^[A-Za-z0-9._~@:+=|-]{1,255}$/;

/** Whether a value matches a template input's pattern, anchored as the server anchors it (a bad pattern passes). */
function matchesPattern(value: string, pattern: string | undefined): boolean {
  if (!pattern) return true;
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return true;
  }
}

/** A connect session made for one test connection id (its end user), ready before the click that opens the popup. */
type PreparedSession = { readonly id: string; readonly token: string; readonly expiresAt: number } | { readonly id: string; readonly error: string };

const validTestId = (id: string) => CONNECTION_ID.test(id) && !['__proto__', 'constructor', 'prototype'].includes(id);

/**
 * Runs the connect flow in a popup for a test connection id, with `@keyway/frontend`. When the server
 * requires connect sessions (the default), a session for the typed id is made through the backend
 * API beforehand: the popup must open synchronously in the click, so the token cannot be awaited there.
 */
function TryIt({ integration, template, publicKey, sessionRequired }: { integration: Integration; template: Provider; publicKey: string; sessionRequired: boolean }) {
  const { deps, announce, api } = useApp();
  const mounted = useMounted();
  const now = () => deps.now?.() ?? Date.now();
  const [connectionId, setConnectionId] = useState(() => `test-${now()}`);
  const [params, setParams] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'running'; id: string } | { kind: 'done'; id: string } | { kind: 'failed'; message: string }>({ kind: 'idle' });
  // Inputs the integration fixes are not the tester's to give.
  const inputs = Object.entries(template.connection_config).filter(([name, input]) => !Object.hasOwn(integration.connection_config, name) && !input.from_integration);
  const [session, setSession] = useState<PreparedSession | null>(null);
  const [renewals, setRenewals] = useState(0);
  const wantedId = connectionId.trim();

  useEffect(() => {
    if (!sessionRequired || !validTestId(wantedId)) return;
    let live = true;
    const timer = setTimeout(() => {
      api.createConnectSession(wantedId, integration.unique_key).then(
        (s) => live && setSession({ id: wantedId, token: s.token, expiresAt: Date.parse(s.expiresAt) }),
        (err: unknown) => live && setSession({ id: wantedId, error: err instanceof Error ? err.message : String(err) }),
      );
    }, deps.searchDelayMs ?? 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, sessionRequired, wantedId, integration.unique_key, renewals, deps.searchDelayMs]);
  // A session for this id with a minute left, or nothing yet.
  const ready = session && session.id === wantedId && 'token' in session && session.expiresAt - now() > 60_000 ? session : undefined;
  const refused = session && session.id === wantedId && 'error' in session;
  // Sessions last 30 minutes: a page left open gets a new one a minute before the end.
  useEffect(() => {
    if (!ready) return;
    const timer = setTimeout(() => setRenewals((n) => n + 1), Math.max(0, ready.expiresAt - now() - 60_000));
    return () => clearTimeout(timer);
  }, [ready?.token]);
  const preparing = sessionRequired && validTestId(wantedId) && !ready && !refused;

  // Synchronous up to auth(): a popup opened after an await is blocked by browsers.
  const run = (e: Event) => {
    e.preventDefault();
    if (state.kind === 'running') return;
    const id = wantedId;
    const next: Record<string, string> = {};
    if (!validTestId(id)) next.connection_id = 'Use 1 to 255 letters, digits or . _ ~ @ : + = | -';
    else if (sessionRequired && !ready) {
      if (session && session.id === id && 'error' in session) next.connection_id = `No connect session: ${session.error}`;
      else next.connection_id = 'Preparing a connect session for this id; try again in a moment.';
      setRenewals((n) => n + 1); // expired or failed: ask again
    }
    for (const [name, input] of inputs) {
      const v = (params[name] ?? '').trim();
      if (!v) next[name] = `Enter the ${input.title}.`;
      else if (!matchesPattern(v, input.pattern)) next[name] = `This is not a valid ${input.title}${input.example ? ` (for example ${input.example})` : ''}.`;
    }
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    let flow: Promise<unknown>;
    try {
      const values = Object.fromEntries(inputs.map(([name]) => [name, (params[name] ?? '').trim()]));
      flow = deps.createAuthClient(sessionRequired ? { connectSessionToken: ready!.token } : { publicKey }).auth(integration.unique_key, id, inputs.length > 0 ? { params: values } : {});
    } catch (err) {
      flow = Promise.reject(err);
    }
    setState({ kind: 'running', id });
    announce('The connect flow is open in a popup window.');
    flow.then(
      () => {
        announce(`Connected: the test connection “${id}” was created.`, 'success');
        if (!mounted.current) return;
        setState({ kind: 'done', id });
        setConnectionId(`test-${now()}`);
      },
      (err: unknown) => {
        const message = describeAuthError(err);
        announce(`The connect flow failed: ${message}`, 'error');
        if (mounted.current) setState({ kind: 'failed', message });
      },
    );
  };

  return (
    <section class="card" aria-labelledby="try-heading">
      <h2 id="try-heading">Try it</h2>
      <p>Run the connect flow yourself in a popup, as your users will, and create a test connection.</p>
      {sessionRequired && (
        <p class="notice" data-testid="try-it-session">
          This server requires connect sessions (the default): the dashboard makes one for the test connection id, as your backend would.
        </p>
      )}
      <form onSubmit={run} noValidate>
        <TextField
          label="Test connection id"
          value={connectionId}
          onValue={setConnectionId}
          error={errors.connection_id}
          autoComplete="off"
          spellcheck={false}
          data-testid="try-connection-id"
        />
        {inputs.map(([name, input]) => (
          <TextField
            key={name}
            label={input.title}
            value={params[name] ?? ''}
            onValue={(v) => setParams((p) => ({ ...p, [name]: v }))}
            error={errors[name]}
            hint={input.description}
            placeholder={input.example}
            autoComplete="off"
            spellcheck={false}
            data-testid={`try-param-${name}`}
          />
        ))}
        <button type="submit" disabled={state.kind === 'running' || preparing} data-testid="try-it">
          {state.kind === 'running' ? 'Waiting for the popup…' : 'Try it'}
        </button>
      </form>
      <div data-testid="try-result">
        {state.kind === 'done' && (
          <p class="result result-success">
            Connected. <Link href={paths.connection(integration.unique_key, state.id)}>Open the connection “{state.id}”</Link>
          </p>
        )}
        {state.kind === 'failed' && <p class="result result-error">The connect flow failed: {state.message}</p>}
      </div>
    </section>
  );
}

function describeAuthError(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    const { message, type } = err as { message: unknown; type?: unknown };
    if (type === 'blocked_by_browser') return 'the browser blocked the popup. Allow popups for this page and try again.';
    if (type === 'window_closed') return 'the popup was closed before the flow ended.';
    return `${String(message)}${typeof type === 'string' && type ? ` (${type})` : ''}`;
  }
  return String(err);
}

/**
 * The PATCH body of the edit form, or undefined when nothing changed. The secret field is write-only: left empty, it
 * is not sent; the server's PATCH replaces the client as a whole, so when only the client id or scopes change the
 * stored secret is read back at save time (`storedSecret`) to keep it.
 */
export async function patchBody(
  form: { display_name: string; client_id: string; client_secret: string; scopes: string },
  current: { integration: Integration; client: IntegrationClient; withClient: boolean },
  storedSecret: () => Promise<string>,
): Promise<IntegrationInput | undefined> {
  const body: IntegrationInput = {};
  const displayName = form.display_name.trim();
  if (displayName && displayName !== current.integration.display_name) body.display_name = displayName;
  if (current.withClient) {
    const scopes = splitScopes(form.scopes).join(',');
    const clientId = form.client_id.trim();
    const changed = clientId !== current.client.client_id || scopes !== current.client.scopes.join(',');
    if (form.client_secret) body.credentials = { type: 'OAUTH2', client_id: clientId, client_secret: form.client_secret, scopes };
    else if (changed) body.credentials = { type: 'OAUTH2', client_id: clientId, client_secret: await storedSecret(), scopes };
  }
  return Object.keys(body).length > 0 ? body : undefined;
}

function EditForm({
  integration,
  client,
  mode,
  onSaved,
}: {
  integration: Integration;
  client: IntegrationClient;
  mode: AuthMode | undefined;
  onSaved(i: Integration, c: IntegrationClient): void;
}) {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const id = useId();
  // Integrations of API-key and Basic templates have no client; an unknown template shows the fields if it has one.
  const withClient = mode ? hasClient(mode) : client.client_id !== '';
  const initial = () => ({ display_name: integration.display_name, client_id: client.client_id, client_secret: '', scopes: client.scopes.join(', ') });
  const [form, setForm] = useState(initial);
  const [error, setError] = useState<{ field?: 'client_id'; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (field: keyof ReturnType<typeof initial>) => (value: string) => setForm((f) => ({ ...f, [field]: value }));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    if (withClient && !form.client_id.trim()) {
      setError({ field: 'client_id', message: 'Enter the client ID.' });
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const body = await patchBody(form, { integration, client, withClient }, () => api.storedClientSecret(integration.unique_key));
      if (!body) {
        announce('Nothing to save: no field was changed.');
      } else {
        const updated = await api.updateIntegration(integration.unique_key, body);
        const nextClient = body.credentials ? { client_id: body.credentials.client_id, scopes: splitScopes(body.credentials.scopes) } : client;
        announce('Changes saved.', 'success');
        if (mounted.current) {
          onSaved(updated, nextClient);
          setForm({ display_name: updated.display_name, client_id: nextClient.client_id, client_secret: '', scopes: nextClient.scopes.join(', ') });
        }
      }
    } catch (err) {
      if (mounted.current) setError({ message: err instanceof Error ? err.message : String(err) });
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Settings</h2>
      <form onSubmit={submit} noValidate data-testid="edit-form">
        <TextField label="Display name" value={form.display_name} onValue={set('display_name')} autoComplete="off" data-testid="display-name" />
        {withClient && (
          <>
            <TextField
              label="Client ID"
              value={form.client_id}
              onValue={set('client_id')}
              error={error?.field === 'client_id' ? error.message : undefined}
              autoComplete="off"
              spellcheck={false}
              data-testid="client-id"
            />
            <TextField
              label="Client secret"
              type="password"
              value={form.client_secret}
              onValue={set('client_secret')}
              hint="Write-only: leave empty to keep the current secret."
              placeholder="Unchanged"
              autoComplete="new-password"
              spellcheck={false}
              data-testid="client-secret"
            />
            <TextField label="Scopes" value={form.scopes} onValue={set('scopes')} hint="Comma-separated. Empty: the template's default scopes." autoComplete="off" spellcheck={false} data-testid="scopes" />
          </>
        )}
        {error && !error.field && (
          <p class="field-error" role="alert" data-testid="form-error">
            {error.message}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="save">
          {busy ? 'Saving…' : 'Save changes'}
        </button>
      </form>
    </section>
  );
}
