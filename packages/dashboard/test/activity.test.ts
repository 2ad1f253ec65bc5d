// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { byTestId, choose, click, heading, mount, type Request } from './harness.ts';

/** A log entry as GET /logs serves it. */
function entry(n: number, over: Record<string, unknown> = {}) {
  return {
    id: `000017${String(n).padStart(8, '0')}-abc`,
    at: new Date(Date.parse('2030-01-01T11:00:00.000Z') + n * 1000).toISOString(),
    type: 'connect',
    action: 'succeeded',
    outcome: 'success',
    provider_config_key: 'github-prod',
    connection_id: 'user-1',
    message: 'Connection created',
    ...over,
  };
}
/** The server's paging: `total` entries, newest first, cursors as ids (opaque to the dashboard). */
const paged = (total: number) => (req: Request) => {
  const limit = Number(req.query.get('limit'));
  const cursor = req.query.get('cursor');
  const all = Array.from({ length: total }, (_, i) => entry(total - i));
  const start = cursor ? all.findIndex((e) => e.id === cursor) + 1 : 0;
  const data = all.slice(start, start + limit);
  return [200, { data, next_cursor: start + limit < total ? data.at(-1)!.id : null, follow_cursor: 'f' }] as [number, unknown];
};
const queries = (t: { requests: Request[] }) => t.requests.filter((r) => r.path === '/logs').map((r) => r.query.toString());

describe('activity', () => {
  it('lists entries newest first with what happened: codes, the provider\'s error, method, path, status, duration, retries, request id', async () => {
    const t = await mount('/dashboard/activity', {
      'GET /logs': () => [
        200,
        {
          data: [
            entry(3, { type: 'proxy', action: 'request', request_id: 'req-0042', message: 'GET /user -> 200', http: { method: 'GET', path: '/user', status: 200, duration_ms: 42, retries: 2 } }),
            entry(2, { action: 'failed', outcome: 'failure', connection_id: 'bob', message: 'Connect flow failed', error: { code: 'access_denied', message: 'denied', provider_error: 'access_denied' } }),
            entry(1, { type: 'refresh', action: 'failed', outcome: 'failure', message: 'The provider refused the refresh', error: { code: 'refresh_failed', message: 'x', provider_error: 'invalid_grant' } }),
          ],
          next_cursor: null,
          follow_cursor: 'f',
        },
      ],
    });
    expect(heading().textContent).toBe('Activity');
    expect(queries(t)).toEqual(['limit=50']);
    const rows = within(byTestId('activity')).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.getAttribute('data-testid'))).toEqual([entry(3).id, entry(2).id, entry(1).id].map((id) => `activity-${id}`));
    expect(rows[0]!.textContent).toContain('GET /user → 200, 42 ms, 2 retries request req-0042');
    expect(rows[1]!.textContent).not.toContain('request ');
    expect(rows[1]!.textContent).toContain('access_denied (provider: access_denied)');
    expect(within(rows[1]!).getByText('Failure')).toBeTruthy();
    expect(within(rows[2]!).getByText('Token refresh')).toBeTruthy();
    expect(rows[2]!.textContent).toContain('refresh_failed (provider: invalid_grant)');
    expect(within(rows[1]!).getByRole('link', { name: 'github-prod / bob' }).getAttribute('href')).toBe('/dashboard/connections/github-prod/bob');
    expect(screen.getByRole('link', { name: 'Activity' }).getAttribute('aria-current')).toBe('page');
  });

  it('filters by integration, connection, kind, outcome and time, keeping them in the address', async () => {
    const t = await mount('/dashboard/activity', { 'GET /logs': paged(3) });
    await choose(byTestId('activity-integration'), 'github-prod');
    await choose(byTestId('activity-connection'), 'user-1');
    await choose(byTestId('activity-type'), 'refresh');
    await choose(byTestId('activity-outcome'), 'failure');
    await choose(byTestId('activity-from'), '2030-01-01T10:00');
    const from = new Date(Date.parse('2030-01-01T10:00')).toISOString();
    expect(queries(t).at(-1)).toBe(`provider_config_key=github-prod&connection_id=user-1&type=refresh&outcome=failure&from=${encodeURIComponent(from)}&limit=50`);
    expect(t.nav.current().search).toBe(`?integration=github-prod&connection=user-1&type=refresh&outcome=failure&from=${encodeURIComponent(from)}`);
  });

  it('pages to older entries with the server\'s cursor, and back', async () => {
    const t = await mount('/dashboard/activity', { 'GET /logs': paged(120) });
    const first = () => within(byTestId('activity')).getAllByRole('row')[1]!.getAttribute('data-testid');
    expect(first()).toBe(`activity-${entry(120).id}`);
    expect((byTestId('activity-newer') as HTMLButtonElement).disabled).toBe(true);
    await click(byTestId('activity-older'));
    expect(queries(t).at(-1)).toBe(`cursor=${entry(71).id}&limit=50`);
    expect(first()).toBe(`activity-${entry(70).id}`);
    await click(byTestId('activity-older'));
    expect((byTestId('activity-older') as HTMLButtonElement).disabled).toBe(true);
    expect(within(byTestId('activity')).getAllByRole('row')).toHaveLength(21);
    await click(byTestId('activity-newer'));
    await click(byTestId('activity-newer'));
    expect(first()).toBe(`activity-${entry(120).id}`);
  });

  it('a connection has an Activity tab, filtered to it', async () => {
    const t = await mount('/dashboard/connections/github-prod/user-1', { 'GET /logs': paged(2) });
    await click(byTestId('tab-activity'));
    expect(t.nav.current().pathname).toBe('/dashboard/connections/github-prod/user-1/activity');
    expect(byTestId('tab-activity').getAttribute('aria-current')).toBe('page');
    expect(queries(t).at(-1)).toBe('provider_config_key=github-prod&connection_id=user-1&limit=50');
    expect(screen.queryByTestId('activity-connection')).toBeNull();
    await choose(byTestId('activity-outcome'), 'failure');
    expect(queries(t).at(-1)).toBe('provider_config_key=github-prod&connection_id=user-1&outcome=failure&limit=50');
    await click(byTestId('tab-details'));
    expect(t.nav.current().pathname).toBe('/dashboard/connections/github-prod/user-1');
  });

  it('an integration has an Activity tab, filtered to it', async () => {
    const t = await mount('/dashboard/integrations/github-prod', { 'GET /logs': paged(2) });
    await click(byTestId('tab-activity'));
    expect(t.nav.current().pathname).toBe('/dashboard/integrations/github-prod/activity');
    expect(queries(t).at(-1)).toBe('provider_config_key=github-prod&limit=50');
    expect(screen.queryByTestId('activity-integration')).toBeNull();
    expect(byTestId('activity-connection')).toBeTruthy();
  });

  it('says so when the log cannot be read, and tries again', async () => {
    let fail = true;
    await mount('/dashboard/activity', { 'GET /logs': (r) => (fail ? [500, { error: { code: 'server_error', message: 'boom' } }] : paged(1)(r)) });
    expect(byTestId('error').textContent).toContain('boom');
    fail = false;
    await click(within(byTestId('error')).getByRole('button'));
    expect(within(byTestId('activity')).getAllByRole('row')).toHaveLength(2);
  });
});
