import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.ts';
import { useApp, useLoad, useMounted } from '../context.ts';
import { ConfirmDialog } from '../components/Dialog.tsx';
import { connectionTabs, Tabs } from '../components/Tabs.tsx';
import { DateTime, ErrorBox, Facts, Link, Loading, PageHeading, StatusBadge } from '../components/ui.tsx';
import { authModeLabel, endUserLabel, formatDate, relative } from '../format.ts';
import { paths } from '../router.ts';
import type { ConnectionDetail, ConnectionStatus, ConnectionSummary } from '../types.ts';

/** Failures on this many distinct days mark a connection exhausted (the server's rule, store/status.ts). */
const EXHAUSTED_AFTER_DAYS = 4;
const EXPIRING_WITHIN_MS = 15 * 60_000;

export function statusOf(c: ConnectionDetail, now: number): ConnectionStatus {
  const f = c.last_refresh_failure;
  if (f) return f.days.length >= EXHAUSTED_AFTER_DAYS ? 'exhausted' : 'refresh_failed';
  const exp = c.credentials.expires_at;
  return exp !== null && Date.parse(exp) - now < EXPIRING_WITHIN_MS ? 'expiring' : 'ok';
}

const hasToken = (c: ConnectionDetail) => c.credentials.type === 'OAUTH2' || c.credentials.type === 'OAUTH2_CC' || c.credentials.type === 'TWO_STEP';

/**
 * What the page shows. Reading a connection renews its token when due; when that renewal fails the server answers
 * with the error, and the page falls back to the list's summary of the connection, with the error beside it.
 */
interface Shown {
  detail: ConnectionDetail;
  /** Set when only the summary could be read (no connection config). */
  partial?: { error: ApiError; status: ConnectionStatus };
}

async function read(api: Api, key: string, id: string): Promise<Shown> {
  try {
    return { detail: await api.connection(key, id) };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 404 || e.status === 401 || e.status === 0) throw e;
    const summary = await api.connectionSummary(key, id).catch(() => undefined);
    if (!summary) throw e;
    return { detail: fromSummary(summary), partial: { error: e, status: summary.status } };
  }
}

function fromSummary(s: ConnectionSummary): ConnectionDetail {
  return {
    connection_id: s.connection_id,
    provider_config_key: s.provider_config_key,
    provider: s.provider,
    connection_config: {},
    metadata: s.metadata,
    created_at: s.created,
    updated_at: '',
    end_user: s.end_user,
    last_refresh_failure: null,
    credentials: { type: s.auth_mode, expires_at: s.expires_at },
  };
}

export function ConnectionView({ uniqueKey, connectionId }: { uniqueKey: string; connectionId: string }) {
  const { api, deps, navigate, announce } = useApp();
  const mounted = useMounted();
  const load = useLoad(() => read(api, uniqueKey, connectionId), [uniqueKey, connectionId]);
  const [refresh, setRefresh] = useState<{ kind: 'idle' } | { kind: 'busy' } | { kind: 'ok'; text: string } | { kind: 'error'; text: string }>({ kind: 'idle' });
  const [deleting, setDeleting] = useState(false);
  const now = deps.now?.() ?? Date.now();

  const heading = (
    <>
      <p class="breadcrumb">
        <Link href={paths.connections({ integration: uniqueKey })}>Connections</Link> / <span class="mono">{uniqueKey}</span> /
      </p>
      <PageHeading>
        <span class="mono">{connectionId}</span>
      </PageHeading>
    </>
  );
  if (load.state !== 'ready') {
    const missing = load.state === 'error' && load.error instanceof ApiError && load.error.status === 404;
    return (
      <section>
        {heading}
        {load.state === 'loading' && <Loading>Loading the connection…</Loading>}
        {load.state === 'error' && <ErrorBox title={missing ? 'No such connection' : 'The connection could not be loaded'} error={load.error} retry={missing ? undefined : load.reload} />}
      </section>
    );
  }

  const { detail: c, partial } = load.data;
  const status = partial ? partial.status : statusOf(c, now);
  const token = hasToken(c);

  const forceRefresh = async () => {
    setRefresh({ kind: 'busy' });
    try {
      const fresh = await api.connection(uniqueKey, connectionId, { forceRefresh: true });
      const exp = fresh.credentials.expires_at;
      const text = exp ? `Token refreshed. It now expires ${formatDate(exp)} (${relative(exp, deps.now?.() ?? Date.now())}).` : 'Token refreshed. The provider gave it no expiry.';
      announce(text, 'success');
      if (!mounted.current) return;
      load.set({ detail: fresh });
      setRefresh({ kind: 'ok', text });
    } catch (e) {
      const text = `Refresh failed: ${describe(e)}`;
      announce(text, 'error');
      if (!mounted.current) return;
      setRefresh({ kind: 'error', text });
      // The failure is now recorded on the connection: show it.
      read(api, uniqueKey, connectionId).then((shown) => mounted.current && load.set(shown), () => undefined);
    }
  };

  return (
    <section>
      {heading}
      <Tabs
        label="Connection"
        tabs={connectionTabs({ details: paths.connection(uniqueKey, connectionId), activity: paths.connectionActivity(uniqueKey, connectionId) })}
        current={paths.connection(uniqueKey, connectionId)}
      />
      <Facts
        rows={[
          ['Integration', <Link href={paths.integration(c.provider_config_key)}>{c.provider_config_key}</Link>],
          ['Provider', c.provider],
          ['Auth', authModeLabel(c.credentials.type)],
          ['Status', <StatusBadge status={status} />],
          ['Token expires', token ? c.credentials.expires_at ? <DateTime iso={c.credentials.expires_at} withRelative /> : 'No expiry' : 'Not applicable (no token)'],
          ['End user', endUserLabel(c.end_user)],
          ['Created', <DateTime iso={c.created_at} />],
          ...(c.updated_at ? [['Updated', <DateTime iso={c.updated_at} />] as [string, ComponentChildren]] : []),
        ]}
      />

      {partial && (
        <div class="error-box" role="alert" data-testid="read-error">
          <p>
            <strong>The token could not be renewed when reading this connection.</strong> {partial.error.message}
            {partial.error.provider && <ProviderError provider={partial.error.provider} />}
          </p>
        </div>
      )}

      <div class="actions card" aria-labelledby="actions-h">
        <h2 id="actions-h" class="visually-hidden">
          Actions
        </h2>
        {token && (
          <button type="button" onClick={forceRefresh} disabled={refresh.kind === 'busy'} data-testid="force-refresh">
            {refresh.kind === 'busy' ? 'Refreshing…' : 'Force refresh'}
          </button>
        )}
        <button type="button" class="danger" onClick={() => setDeleting(true)} data-testid="delete">
          Delete connection
        </button>
        <div class="action-result" data-testid="refresh-result">
          {refresh.kind === 'ok' && <p class="result result-success">{refresh.text}</p>}
          {refresh.kind === 'error' && <p class="result result-error">{refresh.text}</p>}
        </div>
      </div>

      {token && (
        <section class="card" aria-labelledby="failure-h">
          <h2 id="failure-h">Last refresh failure</h2>
          {c.last_refresh_failure ? (
            <div data-testid="refresh-failure">
              <Facts
                rows={[
                  ['Provider error', <span class="mono">{c.last_refresh_failure.code}</span>],
                  ...(c.last_refresh_failure.description ? [['Description', c.last_refresh_failure.description] as [string, string]] : []),
                  ['When', <DateTime iso={c.last_refresh_failure.at} withRelative />],
                  ['Not retried before', <DateTime iso={c.last_refresh_failure.backoff_until} />],
                  ['Days with failures', `${c.last_refresh_failure.days.length} of ${EXHAUSTED_AFTER_DAYS} (then the user must connect again)`],
                ]}
              />
            </div>
          ) : partial ? (
            <p>Not available: see the error above.</p>
          ) : (
            <p>None: the last refresh succeeded (or none was needed yet).</p>
          )}
        </section>
      )}

      <section class="card" aria-labelledby="config-h">
        <h2 id="config-h">Connection config</h2>
        {partial ? (
          <p>Not available while the connection cannot be read.</p>
        ) : Object.keys(c.connection_config).length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <Facts rows={Object.entries(c.connection_config).map(([k, v]) => [k, <span class="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</span>])} />
        )}
      </section>

      <MetadataEditor key={JSON.stringify(c.metadata)} uniqueKey={uniqueKey} connectionId={connectionId} metadata={c.metadata} onSaved={(metadata) => load.set({ ...load.data, detail: { ...c, metadata } })} />

      {deleting && (
        <ConfirmDialog
          title={`Delete the connection “${connectionId}”?`}
          confirmLabel="Delete connection"
          busyLabel="Deleting…"
          onClose={() => setDeleting(false)}
          onConfirm={async () => {
            await api.deleteConnection(uniqueKey, connectionId);
            navigate(paths.connections({ integration: uniqueKey }));
            announce(`Connection “${connectionId}” deleted.`, 'success');
          }}
        >
          <p>
            Its credentials are deleted from Keyway; your app can no longer get a token for it until the user connects again. The
            provider may still list the authorization.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function ProviderError({ provider }: { provider: { error: string; description?: string } }) {
  return (
    <>
      {' '}
      Provider error: <span class="mono">{provider.error}</span>
      {provider.description && <> — {provider.description}</>}
    </>
  );
}

function describe(e: unknown): string {
  if (e instanceof ApiError) return `${e.message}${e.provider ? ` (provider error: ${e.provider.error}${e.provider.description ? ` — ${e.provider.description}` : ''})` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

/** Parses the metadata text: a JSON object, or the reason it is not one. */
export function parseMetadataText(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `This is not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'The metadata must be a JSON object, like {"plan": "pro"}.' };
  return { ok: true, value: value as Record<string, unknown> };
}

function MetadataEditor({
  uniqueKey,
  connectionId,
  metadata,
  onSaved,
}: {
  uniqueKey: string;
  connectionId: string;
  metadata: Record<string, unknown>;
  onSaved(m: Record<string, unknown>): void;
}) {
  const { api, announce } = useApp();
  const mounted = useMounted();
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(metadata, null, 2));
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const parsed = parseMetadataText(text);
    if (!parsed.ok) {
      setError(parsed.error);
      document.getElementById(`${id}-text`)?.focus();
      return;
    }
    setError('');
    setBusy(true);
    try {
      await api.saveMetadata(uniqueKey, connectionId, parsed.value);
      announce('Metadata saved.', 'success');
      if (mounted.current) onSaved(parsed.value);
    } catch (err) {
      if (mounted.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Metadata</h2>
      <form onSubmit={save} noValidate>
        <div class="field">
          <label for={`${id}-text`}>Metadata (a JSON object; saving replaces it)</label>
          <textarea
            id={`${id}-text`}
            class="mono"
            rows={Math.min(16, Math.max(4, text.split('\n').length + 1))}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            spellcheck={false}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            data-testid="metadata"
          />
          {error && (
            <p class="field-error" id={`${id}-error`} role="alert" data-testid="metadata-error">
              {error}
            </p>
          )}
        </div>
        <button type="submit" disabled={busy} data-testid="save-metadata">
          {busy ? 'Saving…' : 'Save metadata'}
        </button>
      </form>
    </section>
  );
}
