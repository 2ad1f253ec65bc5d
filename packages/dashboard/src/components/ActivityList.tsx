import { useState } from 'preact/hooks';
import { useApp, useLoad } from '../context.ts';
import { ACTIVITY_OUTCOMES, ACTIVITY_TYPES, type ActivityEntry, type ActivityQuery } from '../types.ts';
import { DateTime, Empty, ErrorBox, IntegrationFilter, Link, Loading } from './ui.tsx';
import { paths } from '../router.ts';

const TYPE_LABELS: Record<string, string> = { connect: 'Connect flow', refresh: 'Token refresh', webhook: 'Webhook', proxy: 'Proxied request', verification: 'API-key check' };
const OUTCOME_LABELS: Record<string, string> = { success: 'Success', failure: 'Failure', info: 'Info' };

/** A datetime-local value (the user's time zone) as ISO, or '' when empty or not a time. */
const isoOf = (local: string) => {
  const ms = local ? Date.parse(local) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
};
/** An ISO time as a datetime-local value, in the user's time zone. */
const localOf = (iso: string) => {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/**
 * The activity log, newest first, 50 entries a page: filters (those not `fixed` by the page it is on) and
 * Older / Newer paging with the server's cursors (kept here: a cursor is a place in a moving log, not an address).
 */
export function ActivityList({ query, onQuery, fixed = [] }: { query: ActivityQuery; onQuery: (q: Partial<ActivityQuery>) => void; fixed?: readonly ('integration' | 'connection')[] }) {
  const { api } = useApp();
  const integrations = useLoad(() => (fixed.includes('integration') ? Promise.resolve([]) : api.integrations()), []);
  // The cursors of the pages before this one; the last is this page's ('' = the newest).
  const [cursors, setCursors] = useState<string[]>(['']);
  const cursor = cursors.at(-1)!;
  const key = JSON.stringify(query);
  const [shownKey, setShownKey] = useState(key);
  if (shownKey !== key) {
    // New filters start again at the newest entries.
    setShownKey(key);
    setCursors(['']);
  }
  const page = useLoad(() => api.logs(query, cursor), [key, cursor], { keepData: true });
  const change = (q: Partial<ActivityQuery>) => onQuery(q);
  const data = page.data;

  return (
    <div class="activity">
      <form class="filters" role="search" aria-label="Filter activity" onSubmit={(e) => e.preventDefault()}>
        {!fixed.includes('integration') && (
          <IntegrationFilter id="activity-integration" value={query.integration} integrations={integrations.data ?? []} onChange={(integration) => change({ integration })} testId="activity-integration" />
        )}
        {!fixed.includes('connection') && (
          <div class="field">
            <label for="activity-connection">Connection id</label>
            <input id="activity-connection" type="search" value={query.connection} onChange={(e) => change({ connection: e.currentTarget.value.trim() })} autoComplete="off" spellcheck={false} data-testid="activity-connection" />
          </div>
        )}
        <div class="field">
          <label for="activity-type">Kind</label>
          <select id="activity-type" value={query.type} onChange={(e) => change({ type: e.currentTarget.value as ActivityQuery['type'] })} data-testid="activity-type">
            <option value="">All kinds</option>
            {ACTIVITY_TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="activity-outcome">Outcome</label>
          <select id="activity-outcome" value={query.outcome} onChange={(e) => change({ outcome: e.currentTarget.value as ActivityQuery['outcome'] })} data-testid="activity-outcome">
            <option value="">Any outcome</option>
            {ACTIVITY_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {OUTCOME_LABELS[o]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="activity-from">From</label>
          <input id="activity-from" type="datetime-local" value={localOf(query.from)} onChange={(e) => change({ from: isoOf(e.currentTarget.value) })} data-testid="activity-from" />
        </div>
        <div class="field">
          <label for="activity-to">To</label>
          <input id="activity-to" type="datetime-local" value={localOf(query.to)} onChange={(e) => change({ to: isoOf(e.currentTarget.value) })} data-testid="activity-to" />
        </div>
      </form>

      {page.state === 'error' && <ErrorBox title="The activity could not be loaded" error={page.error} retry={page.reload} />}
      {page.state === 'loading' && !data && <Loading>Loading activity…</Loading>}
      {data && (
        <div aria-busy={page.state === 'loading' ? 'true' : 'false'} class={page.state === 'loading' ? 'stale' : undefined}>
          {data.entries.length === 0 ? (
            <Empty>
              <p>{cursor ? 'No older entries.' : 'No activity matches these filters yet.'}</p>
            </Empty>
          ) : (
            <table class="table" data-testid="activity">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Outcome</th>
                  {!fixed.includes('connection') && <th scope="col">Connection</th>}
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {data.entries.map((e) => (
                  <Row key={e.id} entry={e} showConnection={!fixed.includes('connection')} />
                ))}
              </tbody>
            </table>
          )}
          <nav class="pager" aria-label="Activity pages">
            <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))} data-testid="activity-newer">
              Newer
            </button>
            <button type="button" class="secondary" onClick={page.reload} data-testid="activity-reload">
              Reload
            </button>
            <button type="button" class="secondary" disabled={!data.next_cursor} onClick={() => data.next_cursor && setCursors((c) => [...c, data.next_cursor!])} data-testid="activity-older">
              Older
            </button>
          </nav>
        </div>
      )}
    </div>
  );
}

function Row({ entry: e, showConnection }: { entry: ActivityEntry; showConnection: boolean }) {
  return (
    <tr data-testid={`activity-${e.id}`} class={`activity-${e.outcome}`}>
      <td data-label="When">
        <DateTime iso={e.at} />
      </td>
      <td data-label="Kind">{TYPE_LABELS[e.type] ?? e.type}</td>
      <td data-label="Outcome">
        <span class={`badge badge-${e.outcome}`}>{OUTCOME_LABELS[e.outcome] ?? e.outcome}</span>
      </td>
      {showConnection && (
        <td data-label="Connection" class="mono">
          {e.provider_config_key && e.connection_id ? <Link href={paths.connection(e.provider_config_key, e.connection_id)}>{`${e.provider_config_key} / ${e.connection_id}`}</Link> : (e.provider_config_key ?? '—')}
        </td>
      )}
      <td data-label="What happened">
        <span>{e.message}</span>
        {e.http && (
          <span class="mono detail">
            {' '}
            {e.http.method} {e.http.path} → {e.http.status || 'no answer'}, {e.http.duration_ms} ms{e.http.retries ? `, ${e.http.retries} ${e.http.retries === 1 ? 'retry' : 'retries'}` : ''}
          </span>
        )}
        {e.error && (
          <span class="mono detail">
            {' '}
            {e.error.code}
            {e.error.provider_error ? ` (provider: ${e.error.provider_error})` : ''}
          </span>
        )}
        {e.request_id && (
          <span class="mono detail" title="The request that caused it: its X-Request-Id, also on the server's log lines">
            {' '}
            request {e.request_id}
          </span>
        )}
      </td>
    </tr>
  );
}
