// @vitest-environment happy-dom
import { screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, byTestId, click, heading, mount, pending, statusText, submit } from './harness.ts';

const signedOut = () => [401, { error: { code: 'unknown_account', message: 'Sign in to the dashboard with the secret key' } }] as [number, unknown];

describe('sign-in', () => {
  it('shows a loading state while the session is checked', async () => {
    await mount('/dashboard/', { 'GET /dashboard/api/session': pending });
    expect(screen.getByTestId('loading').textContent).toMatch(/Loading the dashboard/);
  });

  it('asks for the secret key when signed out, with its heading focused', async () => {
    await mount('/dashboard/integrations', { 'GET /dashboard/api/session': signedOut });
    expect(heading().textContent).toBe('Sign in');
    expect(document.activeElement).toBe(heading());
    const input = screen.getByLabelText('Secret key') as HTMLInputElement;
    expect(input.type).toBe('password');
    expect(screen.queryByRole('navigation', { name: 'Main' })).toBeNull();
  });

  it('says what is wrong: an empty key, then the server\'s message; the input is cleared', async () => {
    const t = await mount('/dashboard/', {
      'GET /dashboard/api/session': signedOut,
      'POST /dashboard/api/session': () => [401, { error: { code: 'unknown_account', message: 'The secret key is not valid' } }],
    });
    await submit(byTestId('sign-in-form'));
    expect(byTestId('sign-in-error').textContent).toBe('Enter the secret key.');
    expect(t.requests.filter((r) => r.method === 'POST')).toHaveLength(0);

    const input = screen.getByLabelText('Secret key') as HTMLInputElement;
    input.value = 'kw_sk_wrong';
    await submit(byTestId('sign-in-form'));
    const post = t.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({ secretKey: 'kw_sk_wrong' });
    expect(screen.getByRole('alert').textContent).toBe('The secret key is not valid');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.value).toBe('');
    expect(heading().textContent).toBe('Sign in');
  });

  it('signs in, goes to the integrations, keeps the key nowhere, and sends the CSRF token on changes', async () => {
    let signedIn = false;
    const t = await mount('/dashboard/', {
      'GET /dashboard/api/session': () => (signedIn ? [200, { data: { csrf: CSRF, expires_at: 'x' } }] : signedOut()),
      'POST /dashboard/api/session': (req) => {
        signedIn = (req.body as { secretKey: string }).secretKey === 'kw_sk_right';
        return [200, { data: { csrf: 'fresh-csrf', expires_at: '2030-01-01T12:30:00.000Z' } }];
      },
    });
    const input = screen.getByLabelText('Secret key') as HTMLInputElement;
    input.value = 'kw_sk_right';
    await submit(byTestId('sign-in-form'));

    expect(t.nav.current().pathname).toBe('/dashboard/integrations');
    expect(heading().textContent).toBe('Integrations');
    expect(document.activeElement).toBe(heading());
    expect(screen.getByTestId('integration-github-prod')).toBeTruthy();
    expect(document.body.innerHTML).not.toContain('kw_sk_right');
    expect(localStorage.length + sessionStorage.length).toBe(0);
    expect(document.cookie).toBe('');

    // Sign out: DELETE with the token from the sign-in answer, then the sign-in form again.
    await click(byTestId('sign-out'));
    const del = t.requests.find((r) => r.method === 'DELETE')!;
    expect(del.path).toBe('/dashboard/api/session');
    expect(del.headers['X-Keyway-CSRF']).toBe('fresh-csrf');
    expect(heading().textContent).toBe('Sign in');
    expect(t.nav.current().pathname).toBe('/dashboard/sign-in');
    expect(screen.getByText('You are signed out.')).toBeTruthy();
  });

  it('keeps a deep link: signing in at a connection opens it', async () => {
    let signedIn = false;
    const t = await mount('/dashboard/connections/github-prod/user-1', {
      'GET /dashboard/api/session': () => (signedIn ? [200, { data: { csrf: CSRF, expires_at: 'x' } }] : signedOut()),
      'POST /dashboard/api/session': () => {
        signedIn = true;
        return [200, { data: { csrf: CSRF, expires_at: 'x' } }];
      },
    });
    (screen.getByLabelText('Secret key') as HTMLInputElement).value = 'kw_sk_right';
    await submit(byTestId('sign-in-form'));
    expect(t.nav.current().pathname).toBe('/dashboard/connections/github-prod/user-1');
    expect(heading().textContent).toBe('user-1');
  });

  it('goes back to the sign-in form when the session ends during use', async () => {
    const t = await mount('/dashboard/integrations');
    expect(heading().textContent).toBe('Integrations');
    t.route('GET /connections', signedOut);
    await click(screen.getByRole('link', { name: 'Connections' }));
    expect(heading().textContent).toBe('Sign in');
    expect(screen.getByText(/session has ended/)).toBeTruthy();
    expect(statusText()).toBe('');
  });

  it('reports a server that cannot be reached, with a retry', async () => {
    let up = false;
    await mount('/dashboard/', {
      'GET /dashboard/api/session': () => {
        if (!up) throw new TypeError('Failed to fetch');
        return [200, { data: { csrf: CSRF, expires_at: 'x' } }];
      },
    });
    expect(screen.getByRole('alert').textContent).toMatch(/could not be reached/);
    up = true;
    await click(screen.getByRole('button', { name: 'Try again' }));
    expect(heading().textContent).toBe('Integrations');
  });
});

