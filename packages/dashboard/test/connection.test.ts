// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, byTestId, click, connection, heading, mount, statusText, submit, summary, type } from './harness.ts';

const PATH = '/dashboard/connections/github-prod/user-1';
const fact = (term: string) => screen.getByText(term, { selector: 'dt' }).nextElementSibling!.textContent;

describe('a connection', () => {
  it('shows its config, metadata, expiry and status, and never a token', async () => {
    const t = await mount(PATH);
    expect(heading().textContent).toBe('user-1');
    expect(t.lines()).toContain('GET /connections/user-1?provider_config_key=github-prod');
    expect(fact('Auth')).toBe('OAuth 2.0');
    expect(fact('Status')).toBe('OK');
    expect(screen.getByText('Token expires', { selector: 'dt' }).nextElementSibling!.querySelector('time')!.getAttribute('datetime')).toBe('2030-01-01T13:00:00.000Z');
    expect(fact('Token expires')).toMatch(/in 1 hour/);
    expect(fact('team_id')).toBe('T123');
    expect(JSON.parse((byTestId('metadata') as HTMLTextAreaElement).value)).toEqual({ plan: 'pro' });
    expect(screen.getByText(/None: the last refresh succeeded/)).toBeTruthy();
    const html = document.body.innerHTML;
    expect(html).not.toContain('ACCESS-TOKEN-SECRET');
    expect(html).not.toContain('REFRESH-TOKEN-SECRET');
  });

  it('shows the last refresh failure with the provider\'s error', async () => {
    await mount(PATH, {
      'GET /connections/:id': () => [
        200,
        connection({
          last_refresh_failure: { at: '2030-01-01T11:00:00.000Z', code: 'invalid_grant', description: 'Token has been revoked', backoff_until: '2030-01-01T12:30:00.000Z', days: ['2029-12-31', '2030-01-01'] },
        }),
      ],
    });
    expect(fact('Status')).toBe('Refresh failed');
    const failure = within(byTestId('refresh-failure'));
    expect(failure.getByText('invalid_grant')).toBeTruthy();
    expect(failure.getByText('Token has been revoked')).toBeTruthy();
    expect(failure.getByText(/2 of 4/)).toBeTruthy();
  });

  it('falls back to the summary, with the error, when reading it fails on a refused refresh', async () => {
    await mount(PATH, {
      'GET /connections/:id': () => [424, { error: { code: 'refresh_exhausted', message: 'The provider has refused refreshes on 4 days (invalid_grant); the user must connect again', provider_error: 'invalid_grant', provider_error_description: 'Revoked' } }],
      'GET /connections': (req) => {
        expect(req.query.toString()).toBe('integrationId=github-prod&connectionId=user-1&limit=1&page=0');
        return [200, { connections: [summary('user-1', { status: 'exhausted', metadata: { plan: 'free' } })], total: 1 }];
      },
    });
    expect(fact('Status')).toBe('Needs reconnect');
    expect(byTestId('read-error').textContent).toMatch(/the user must connect again Provider error: invalid_grant — Revoked/);
    expect(JSON.parse((byTestId('metadata') as HTMLTextAreaElement).value)).toEqual({ plan: 'free' });
  });

  it('says so when the connection does not exist', async () => {
    await mount(PATH, { 'GET /connections/:id': () => [404, { error: { code: 'unknown_connection', message: 'There is no connection "user-1" for "github-prod"' } }] });
    expect(screen.getByRole('alert').textContent).toMatch(/No such connection\. There is no connection/);
  });
});

describe('metadata', () => {
  it('must parse as JSON and be an object before anything is sent', async () => {
    const t = await mount(PATH, { 'POST /connections/metadata': () => [200, {}] });
    const area = byTestId('metadata');
    await type(area, '{"plan": ');
    await submit(area.closest('form')!);
    expect(byTestId('metadata-error').textContent).toMatch(/^This is not valid JSON: /);
    expect(area.getAttribute('aria-invalid')).toBe('true');
    await type(area, '["a"]');
    await submit(area.closest('form')!);
    expect(byTestId('metadata-error').textContent).toBe('The metadata must be a JSON object, like {"plan": "pro"}.');
    await type(area, 'null');
    await submit(area.closest('form')!);
    expect(byTestId('metadata-error').textContent).toMatch(/must be a JSON object/);
    expect(t.requests.some((r) => r.method === 'POST')).toBe(false);

    await type(area, '{"plan": "enterprise", "seats": 12}');
    await submit(area.closest('form')!);
    const post = t.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/connections/metadata');
    expect(post.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(post.body).toEqual({ connection_id: 'user-1', provider_config_key: 'github-prod', metadata: { plan: 'enterprise', seats: 12 } });
    expect(statusText()).toBe('Metadata saved.');
    expect(screen.queryByTestId('metadata-error')).toBeNull();
  });

  it('shows the server\'s refusal', async () => {
    await mount(PATH, { 'POST /connections/metadata': () => [400, { error: { code: 'invalid_body', message: 'metadata key "__proto__" at metadata is not allowed' } }] });
    const area = byTestId('metadata');
    await type(area, '{"x": 1}');
    await submit(area.closest('form')!);
    expect(byTestId('metadata-error').textContent).toBe('metadata key "__proto__" at metadata is not allowed');
  });
});

describe('force refresh', () => {
  it('shows the new expiry', async () => {
    const t = await mount(PATH);
    t.route('GET /connections/:id', () => [200, connection({ credentials: { type: 'OAUTH2', access_token: 'NEW-TOKEN', expires_at: '2030-01-01T14:00:00.000Z', raw: {} } })]);
    await click(byTestId('force-refresh'));
    expect(t.lines().at(-1)).toBe('GET /connections/user-1?provider_config_key=github-prod&force_refresh=true');
    expect(t.requests.at(-1)!.headers['X-Keyway-CSRF']).toBe(CSRF); // the server refuses a forced refresh without it
    expect(byTestId('refresh-result').textContent).toMatch(/^Token refreshed\. It now expires .+ \(in 2 hours\)\.$/);
    expect(statusText()).toMatch(/^Token refreshed/);
    expect(screen.getByText('Token expires', { selector: 'dt' }).nextElementSibling!.querySelector('time')!.getAttribute('datetime')).toBe('2030-01-01T14:00:00.000Z');
    expect(document.body.innerHTML).not.toContain('NEW-TOKEN');
  });

  it('shows the error with the provider\'s, and the recorded failure', async () => {
    let failed = false;
    const t = await mount(PATH, {
      'GET /connections/:id': (req) => {
        if (req.query.get('force_refresh') === 'true') {
          failed = true;
          return [400, { error: { code: 'refresh_failed', message: 'The provider refused the refresh', provider_error: 'invalid_grant', provider_error_description: 'Bad refresh token' } }];
        }
        return [200, connection(failed ? { last_refresh_failure: { at: '2030-01-01T12:00:00.000Z', code: 'invalid_grant', backoff_until: '2030-01-01T12:05:00.000Z', days: ['2030-01-01'] } } : {})];
      },
    });
    await click(byTestId('force-refresh'));
    expect(byTestId('refresh-result').textContent).toBe('Refresh failed: The provider refused the refresh (provider error: invalid_grant — Bad refresh token)');
    expect(statusText()).toBe(byTestId('refresh-result').textContent);
    expect(t.lines().filter((l) => l.startsWith('GET /connections/'))).toHaveLength(3);
    expect(within(byTestId('refresh-failure')).getByText('invalid_grant')).toBeTruthy();
  });

  it('is not offered for API-key connections', async () => {
    await mount(PATH, { 'GET /connections/:id': () => [200, connection({ credentials: { type: 'API_KEY', apiKey: 'THE-API-KEY' } })] });
    expect(screen.queryByTestId('force-refresh')).toBeNull();
    expect(fact('Token expires')).toBe('Not applicable (no token)');
    expect(document.body.innerHTML).not.toContain('THE-API-KEY');
  });
});

describe('deleting a connection', () => {
  it('asks first, then deletes and goes back to the integration\'s connections', async () => {
    const t = await mount(PATH, { 'DELETE /connections/:id': () => [200, { success: true }] });
    await click(byTestId('delete'));
    expect(within(screen.getByRole('dialog')).getByRole('heading').textContent).toBe('Delete the connection “user-1”?');
    await click(byTestId('cancel'));
    expect(screen.queryByRole('dialog')).toBeNull();
    await click(byTestId('delete'));
    await click(byTestId('confirm'));
    const del = t.requests.find((r) => r.method === 'DELETE')!;
    expect(`${del.path}?${del.query}`).toBe('/connections/user-1?provider_config_key=github-prod');
    expect(del.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(t.nav.current().pathname + t.nav.current().search).toBe('/dashboard/connections?integration=github-prod');
    expect(statusText()).toBe('Connection “user-1” deleted.');
  });
});
