import { useEffect, useRef, useState } from 'preact/hooks';
import { PAGE_SIZE } from '../api.ts';
import { useApp, useDebounced, useLoad } from '../context.ts';
import { DateTime, Empty, ErrorBox, IntegrationFilter, Link, Loading, PageHeading, StatusBadge } from '../components/ui.tsx';
import { endUserLabel, plural, statusLabel } from '../format.ts';
import { paths } from '../router.ts';
import { STATUSES, type ConnectionQuery } from '../types.ts';

/**
 * Connections, one server-side page at a time (50): the filters live in the address (so Back and a reload keep them)
 * and every change asks the server for the matching page and total.
 */
export function ConnectionsView({ query }: { query: ConnectionQuery }) {
  const { api, deps, navigate } = useApp();
  const integrations = useLoad(() => api.integrations(), []);
  const page = useLoad(() => api.connections(query), [query.integration, query.status, query.search, query.page], { keepData: true });

  const go = (q: Partial<ConnectionQuery>) => navigate(paths.connections({ ...query, page: 0, ...q }), { replace: true });

  // The search box: typed text is sent after a pause; an address change (Back) puts its search back in the box.
  const [text, setText] = useState(query.search);
  const sent = useRef(query.search);
  const debounced = useDebounced(text, deps.searchDelayMs ?? 300);
  useEffect(() => {
    if (query.search !== sent.current) {
      sent.current = query.search;
      setText(query.search);
    }
  }, [query.search]);
  useEffect(() => {
    const search = debounced.trim();
    if (search !== sent.current) {
      sent.current = search;
      go({ search });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);

  const filtered = query.integration !== '' || query.status !== '' || query.search !== '';
  const data = page.data;
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const from = query.page * PAGE_SIZE;

  return (
    <section>
      <PageHeading>Connections</PageHeading>
      <form class="filters" role="search" aria-label="Filter connections" onSubmit={(e) => {
        e.preventDefault();
        sent.current = text.trim();
        go({ search: text.trim() });
      }}>
        <div class="field">
          <label for="connections-search">Search</label>
          <input
            id="connections-search"
            type="search"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            placeholder="Connection id, end user id, email or name"
            autoComplete="off"
            spellcheck={false}
            data-testid="connections-search"
          />
        </div>
        <IntegrationFilter id="connections-integration" value={query.integration} integrations={integrations.data ?? []} onChange={(integration) => go({ integration })} testId="filter-integration" />
        <div class="field">
          <label for="connections-status">Status</label>
          <select id="connections-status" value={query.status} onChange={(e) => go({ status: e.currentTarget.value as ConnectionQuery['status'] })} data-testid="filter-status">
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
      </form>

      {page.state === 'error' && <ErrorBox title="The connections could not be loaded" error={page.error} retry={page.reload} />}
      {page.state === 'loading' && !data && <Loading>Loading connections…</Loading>}
      {data && (page.state === 'ready' || page.state === 'loading') && (
        <div aria-busy={page.state === 'loading' ? 'true' : 'false'} class={page.state === 'loading' ? 'stale' : undefined}>
          <p class="count" role="status" data-testid="connections-count">
            {page.state === 'loading'
              ? 'Loading…'
              : data.connections.length === 0
                ? total === 0
                  ? filtered
                    ? 'No connection matches these filters.'
                    : 'No connections yet.'
                  : `No connections on this page; there are ${plural(total, 'connection')}.`
                : `Showing ${(from + 1).toLocaleString('en-US')}–${(from + data.connections.length).toLocaleString('en-US')} of ${plural(total, 'connection')}`}
          </p>
          {data.connections.length === 0 ? (
            <Empty>
              {total > 0 ? (
                <button type="button" class="secondary" onClick={() => go({})}>
                  Go to the first page
                </button>
              ) : filtered ? (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => {
                    sent.current = '';
                    setText('');
                    go({ integration: '', status: '', search: '' });
                  }}
                >
                  Clear the filters
                </button>
              ) : (
                <p>A connection appears when a user connects an account through an integration (or when you use “Try it”).</p>
              )}
            </Empty>
          ) : (
            <table class="table" data-testid="connections">
              <thead>
                <tr>
                  <th scope="col">Connection id</th>
                  <th scope="col">Integration</th>
                  <th scope="col">End user</th>
                  <th scope="col">Status</th>
                  <th scope="col">Token expires</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {data.connections.map((c) => (
                  <tr key={`${c.provider_config_key}\u0000${c.connection_id}`} data-testid={`connection-${c.provider_config_key}-${c.connection_id}`}>
                    <th scope="row" data-label="Connection id" class="mono">
                      <Link href={paths.connection(c.provider_config_key, c.connection_id)}>{c.connection_id}</Link>
                    </th>
                    <td data-label="Integration" class="mono">
                      {c.provider_config_key}
                    </td>
                    <td data-label="End user">{endUserLabel(c.end_user)}</td>
                    <td data-label="Status">
                      <StatusBadge status={c.status} />
                    </td>
                    <td data-label="Token expires">{c.expires_at ? <DateTime iso={c.expires_at} /> : 'Never'}</td>
                    <td data-label="Created">
                      <DateTime iso={c.created} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {total > PAGE_SIZE && (
            <nav class="pager" aria-label="Pages">
              <button type="button" class="secondary" disabled={query.page === 0} onClick={() => go({ page: query.page - 1 })} data-testid="previous-page">
                Previous
              </button>
              <span data-testid="page-of">
                Page {(query.page + 1).toLocaleString('en-US')} of {pages.toLocaleString('en-US')}
              </span>
              <button type="button" class="secondary" disabled={query.page + 1 >= pages} onClick={() => go({ page: query.page + 1 })} data-testid="next-page">
                Next
              </button>
            </nav>
          )}
        </div>
      )}
    </section>
  );
}
