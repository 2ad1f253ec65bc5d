// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { INTEGRATION, byTestId, choose, click, heading, mount, pending, summary, type, type Request } from './harness.ts';

/** The server's answer: `total` connections, paged by the query as the real server pages them. */
const paged = (total: number) => (req: Request) => {
  const limit = Number(req.query.get('limit'));
  const page = Number(req.query.get('page'));
  const ids = Array.from({ length: Math.max(0, Math.min(limit, total - page * limit)) }, (_, i) => `user-${page * limit + i + 1}`);
  return [200, { connections: ids.map((id) => summary(id)), total }] as [number, unknown];
};
const queries = (t: { requests: Request[] }) => t.requests.filter((r) => r.path === '/connections').map((r) => r.query.toString());

describe('connections list', () => {
  it('asks the server for the first page of 50 and lists the connections', async () => {
    const t = await mount('/dashboard/connections');
    expect(heading().textContent).toBe('Connections');
    expect(queries(t)).toEqual(['limit=50&page=0']);
    const row = within(byTestId('connection-github-prod-user-1'));
    expect(row.getByRole('link', { name: 'user-1' }).getAttribute('href')).toBe('/dashboard/connections/github-prod/user-1');
    expect(row.getByText('user-1@example.com (user-user-1)')).toBeTruthy();
    expect(row.getByText('OK')).toBeTruthy();
    expect(within(byTestId('connection-github-prod-user-2')).getByText('Refresh failed')).toBeTruthy();
    expect(byTestId('connections-count').textContent).toBe('Showing 1–2 of 2 connections');
    expect(screen.queryByRole('navigation', { name: 'Pages' })).toBeNull();
    // The integration filter lists the integrations.
    expect(within(byTestId('filter-integration')).getByRole('option', { name: 'GitHub (github-prod)' })).toBeTruthy();
  });

  it('builds the query from the filters, keeps them in the address, and starts again at the first page', async () => {
    const t = await mount('/dashboard/connections?page=3', { 'GET /connections': paged(500) });
    expect(queries(t).at(-1)).toBe('limit=50&page=2');
    await choose(byTestId('filter-integration'), 'github-prod');
    expect(queries(t).at(-1)).toBe('integrationId=github-prod&limit=50&page=0');
    await choose(byTestId('filter-status'), 'refresh_failed');
    expect(queries(t).at(-1)).toBe('integrationId=github-prod&status=refresh_failed&limit=50&page=0');
    await type(byTestId('connections-search'), 'ada@example');
    expect(queries(t).at(-1)).toBe('integrationId=github-prod&search=ada%40example&status=refresh_failed&limit=50&page=0');
    expect(t.nav.current().search).toBe('?integration=github-prod&status=refresh_failed&search=ada%40example');
    // Focus stays in the search box while typing (a filter change is not a new page).
    byTestId('connections-search').focus();
    await type(byTestId('connections-search'), 'ada');
    expect(document.activeElement).toBe(byTestId('connections-search'));
  });

  it('pages through tens of thousands with the server\'s total', async () => {
    const t = await mount('/dashboard/connections', { 'GET /connections': paged(12_345) });
    expect(byTestId('connections-count').textContent).toBe('Showing 1–50 of 12,345 connections');
    expect(byTestId('page-of').textContent).toBe('Page 1 of 247');
    expect((byTestId('previous-page') as HTMLButtonElement).disabled).toBe(true);
    expect(byTestId('connections').querySelectorAll('tbody tr')).toHaveLength(50);
    await click(byTestId('next-page'));
    expect(queries(t).at(-1)).toBe('limit=50&page=1');
    expect(t.nav.current().search).toBe('?page=2');
    expect(byTestId('connections-count').textContent).toBe('Showing 51–100 of 12,345 connections');
    expect(screen.getByTestId('connection-github-prod-user-51')).toBeTruthy();
    await click(byTestId('previous-page'));
    expect(queries(t).at(-1)).toBe('limit=50&page=0');
  });

  it('ends at the last page', async () => {
    await mount('/dashboard/connections?page=3', { 'GET /connections': paged(120) });
    expect(byTestId('connections-count').textContent).toBe('Showing 101–120 of 120 connections');
    expect((byTestId('next-page') as HTMLButtonElement).disabled).toBe(true);
  });

  it('keeps the filters from the address (Back from a connection)', async () => {
    const t = await mount('/dashboard/connections?integration=github-prod&status=expiring&search=bob');
    expect(queries(t)).toEqual(['integrationId=github-prod&search=bob&status=expiring&limit=50&page=0']);
    expect((byTestId('connections-search') as HTMLInputElement).value).toBe('bob');
    expect((byTestId('filter-status') as HTMLSelectElement).value).toBe('expiring');
    expect((byTestId('filter-integration') as HTMLSelectElement).value).toBe('github-prod');
  });

  it('has a loading state, an empty state, a no-match state and an error state', async () => {
    const t = await mount('/dashboard/connections', { 'GET /connections': pending });
    expect(byTestId('loading').textContent).toBe('Loading connections…');
    t.route('GET /connections', () => [200, { connections: [], total: 0 }]);
    await choose(byTestId('filter-status'), 'ok');
    expect(byTestId('connections-count').textContent).toBe('No connection matches these filters.');
    await click(screen.getByRole('button', { name: 'Clear the filters' }));
    expect(t.nav.current().search).toBe('');
    expect(byTestId('connections-count').textContent).toBe('No connections yet.');
    t.route('GET /connections', () => [500, { error: { code: 'server_error', message: 'Store offline' } }]);
    await choose(byTestId('filter-status'), 'exhausted');
    expect(screen.getByRole('alert').textContent).toMatch(/The connections could not be loaded\. Store offline/);
  });

  it('shows the filters even when the integrations cannot be listed', async () => {
    await mount('/dashboard/connections?integration=gone', { 'GET /integrations': () => [500, { error: { code: 'server_error', message: 'x' } }] });
    expect((byTestId('filter-integration') as HTMLSelectElement).value).toBe('gone');
    expect(INTEGRATION.unique_key).toBe('github-prod');
  });
});
