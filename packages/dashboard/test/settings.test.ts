// @vitest-environment happy-dom
import { screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, SETTINGS, byTestId, click, heading, mount, pending, statusText } from './harness.ts';

describe('settings', () => {
  it('shows the public key, callback URL, origins, connect sessions and key ids', async () => {
    const t = await mount('/dashboard/settings');
    expect(heading().textContent).toBe('Settings');
    expect((screen.getByLabelText('Public key') as HTMLInputElement).value).toBe('kw_pk_public');
    expect((screen.getByLabelText('Redirect URL to register at providers') as HTMLInputElement).value).toBe('http://127.0.0.1:3003/oauth/callback');
    expect(byTestId('allowed-origins').textContent).toBe('http://127.0.0.1:5173');
    expect(byTestId('connect-sessions').textContent).toMatch(/^Optional/);
    expect(byTestId('webhook-url').textContent).toBe('http://127.0.0.1:4000/hooks');
    expect(byTestId('current-key-id').textContent).toBe('k-new');
    expect(byTestId('key-count').textContent).toBe('2 keys: the current one encrypts, 1 older key still decrypts');
    await click(byTestId('copy-public-key'));
    expect(t.clipboard.writeText).toHaveBeenCalledWith('kw_pk_public');
  });

  it('sends a test webhook and shows whether it was delivered', async () => {
    let answer: unknown = { delivered: true, status: 200 };
    const t = await mount('/dashboard/settings', { 'POST /dashboard/api/webhook-test': () => [200, { data: answer }] });
    await click(byTestId('test-webhook'));
    const post = t.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/dashboard/api/webhook-test');
    expect(post.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(byTestId('webhook-result').textContent).toBe('Delivered: the endpoint answered HTTP 200.');
    expect(statusText()).toBe('Delivered: the endpoint answered HTTP 200.');
    answer = { delivered: false, status: 500 };
    await click(byTestId('test-webhook'));
    expect(byTestId('webhook-result').textContent).toBe('Not delivered: the endpoint answered HTTP 500.');
    answer = { delivered: false, status: 0, error: 'unreachable' };
    await click(byTestId('test-webhook'));
    expect(byTestId('webhook-result').textContent).toBe('Not delivered: the endpoint is unreachable.');
  });

  it('cannot send a test webhook without a webhook URL; says when connect sessions are required and no origin is allowed', async () => {
    await mount('/dashboard/settings', {
      'GET /dashboard/api/settings': () => [200, { data: { ...SETTINGS, webhook_url: null, allowed_origins: [], require_connect_session: true, encryption: { current_key_id: 'k1', key_ids: ['k1'] } } }],
    });
    expect((byTestId('test-webhook') as HTMLButtonElement).disabled).toBe(true);
    expect(byTestId('webhook-url').textContent).toMatch(/Not configured/);
    expect(byTestId('allowed-origins').textContent).toMatch(/^None/);
    expect(byTestId('connect-sessions').textContent).toMatch(/^Required/);
    expect(byTestId('key-count').textContent).toBe('1 key');
  });

  it('has loading and error states', async () => {
    const t = await mount('/dashboard/settings', { 'GET /dashboard/api/settings': pending });
    expect(byTestId('loading').textContent).toBe('Loading the settings…');
    t.route('GET /dashboard/api/settings', () => [500, { error: { code: 'server_error', message: 'Nope' } }]);
    await click(screen.getByRole('link', { name: 'Integrations' }));
    await click(screen.getByRole('link', { name: 'Settings' }));
    expect(screen.getByRole('alert').textContent).toMatch(/The settings could not be loaded\. Nope/);
  });
});
