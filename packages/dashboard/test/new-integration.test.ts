// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, INTEGRATION, byTestId, choose, click, heading, mount, statusText, submit, type } from './harness.ts';

const shown = () => within(byTestId('templates')).queryAllByRole('link').map((a) => a.querySelector('.template-name')!.textContent);

describe('the template catalogue', () => {
  it('lists every template, searchable by name and key, filterable by category', async () => {
    await mount('/dashboard/integrations/new');
    expect(heading().textContent).toBe('New integration');
    expect(shown()).toEqual(['Attio (API key)', 'Auth0 (client credentials)', 'GitHub', 'Google Calendar', 'HubSpot', 'Zendesk']);
    expect(byTestId('catalogue-count').textContent).toBe('6 templates');

    await type(byTestId('catalogue-search'), 'goo cal');
    expect(shown()).toEqual(['Google Calendar']);
    expect(byTestId('catalogue-count').textContent).toBe('1 of 6 templates');
    await type(byTestId('catalogue-search'), 'ATTIO-API');
    expect(shown()).toEqual(['Attio (API key)']);
    await type(byTestId('catalogue-search'), 'ticketing');
    expect(shown()).toEqual(['Zendesk']);

    await type(byTestId('catalogue-search'), '');
    await choose(byTestId('catalogue-category'), 'crm');
    expect(shown()).toEqual(['Attio (API key)', 'HubSpot']);
    await type(byTestId('catalogue-search'), 'hub');
    expect(shown()).toEqual(['HubSpot']);
    await type(byTestId('catalogue-search'), 'salesforce');
    expect(screen.queryByTestId('templates')).toBeNull();
    expect(byTestId('catalogue-count').textContent).toBe('No template matches.');
  });

  it('handles 300+ templates', async () => {
    const many = Array.from({ length: 350 }, (_, i) => ({ name: `p${i}`, display_name: `Provider ${i}`, auth_mode: 'OAUTH2', categories: [i % 2 ? 'crm' : 'hr'], docs: '' }));
    await mount('/dashboard/integrations/new', { 'GET /providers': () => [200, { data: many }] });
    expect(byTestId('catalogue-count').textContent).toBe('350 templates');
    expect(byTestId('templates').children).toHaveLength(350);
    await type(byTestId('catalogue-search'), 'provider 34');
    expect(byTestId('catalogue-count').textContent).toBe('14 of 350 templates');
    await choose(byTestId('catalogue-category'), 'hr');
    expect([...byTestId('templates').querySelectorAll('.template-name')].map((e) => e.textContent)).toEqual(['Provider 134', 'Provider 234', 'Provider 334', 'Provider 34', 'Provider 340', 'Provider 342', 'Provider 344', 'Provider 346', 'Provider 348']);
  });

  it('shows an error with a retry when the templates cannot be loaded', async () => {
    let fail = true;
    await mount('/dashboard/integrations/new', {
      'GET /providers': () => (fail ? [500, { error: { code: 'server_error', message: 'Boom' } }] : [200, { data: [] }]),
    });
    expect(screen.getByRole('alert').textContent).toMatch(/Boom/);
    fail = false;
    await click(screen.getByRole('button', { name: 'Try again' }));
    expect(byTestId('catalogue-count').textContent).toBe('No template matches.');
  });
});

describe('the create form', () => {
  async function open(name: string) {
    const t = await mount('/dashboard/integrations/new', { 'POST /integrations': (req) => [200, { data: { ...INTEGRATION, ...(req.body as object) } }] });
    await click(byTestId(`template-${name}`));
    return t;
  }

  it('opens from the catalogue with the config key defaulting to the template name, and the redirect URL to register', async () => {
    const t = await open('github');
    expect(t.nav.current().search).toBe('?provider=github');
    expect(screen.getByRole('heading', { level: 2, name: 'GitHub' })).toBe(document.activeElement);
    expect((screen.getByLabelText('Config key') as HTMLInputElement).value).toBe('github');
    expect((screen.getByLabelText('Display name') as HTMLInputElement).value).toBe('GitHub');
    expect((screen.getByLabelText('Client secret') as HTMLInputElement).type).toBe('password');
    expect((screen.getByLabelText('Redirect URL to register at the provider') as HTMLInputElement).value).toBe('http://127.0.0.1:3003/oauth/callback');
    expect(screen.getByText(/Empty: the template's default \(repo, user\)/)).toBeTruthy();
  });

  it('validates before sending: a config key, a client id and secret for OAuth', async () => {
    const t = await open('github');
    await type(screen.getByLabelText('Config key'), 'bad key!');
    await submit(byTestId('create-form'));
    expect(screen.getByText(/Use 1 to 100 letters, digits/)).toBeTruthy();
    expect(screen.getByText('Enter the client ID of your app at the provider.')).toBeTruthy();
    expect(screen.getByText('Enter the client secret of your app at the provider.')).toBeTruthy();
    expect(screen.getByLabelText('Config key').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(screen.getByLabelText('Config key'));
    expect(t.requests.some((r) => r.method === 'POST')).toBe(false);
  });

  it('posts Nango\'s body, then opens the new integration', async () => {
    const t = await open('github');
    await type(screen.getByLabelText('Config key'), 'github-prod');
    await type(screen.getByLabelText('Client ID'), ' client-123 ');
    await type(screen.getByLabelText('Client secret'), 's3cret');
    await type(screen.getByLabelText('Scopes'), 'repo, read:org  user');
    await submit(byTestId('create-form'));
    const post = t.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/integrations');
    expect(post.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(post.body).toEqual({
      unique_key: 'github-prod',
      provider: 'github',
      display_name: 'GitHub',
      credentials: { type: 'OAUTH2', client_id: 'client-123', client_secret: 's3cret', scopes: 'repo,read:org,user' },
    });
    expect(t.nav.current().pathname).toBe('/dashboard/integrations/github-prod');
    expect(statusText()).toBe('Integration “GitHub” created.');
    expect(heading().textContent).toBe('GitHub');
  });

  it('asks no client for API-key templates and sends no credentials', async () => {
    const t = await open('attio-api-key');
    expect(screen.queryByLabelText('Client ID')).toBeNull();
    expect(screen.queryByLabelText('Client secret')).toBeNull();
    expect(screen.queryByTestId('copy-callback')).toBeNull();
    expect(screen.getByText(/Users type their own API key/)).toBeTruthy();
    await submit(byTestId('create-form'));
    expect(t.requests.find((r) => r.method === 'POST')!.body).toEqual({ unique_key: 'attio-api-key', provider: 'attio-api-key', display_name: 'Attio (API key)' });
  });

  it('asks a client for client-credentials templates, optional there (each connection may bring its own), but not half of one', async () => {
    const t = await open('auth0-cc');
    expect(screen.getByLabelText('Client ID')).toBeTruthy();
    expect(screen.getByLabelText('Client secret')).toBeTruthy();
    expect(screen.queryByTestId('copy-callback')).toBeNull();
    await type(screen.getByLabelText('Client ID'), 'only-the-id');
    await submit(byTestId('create-form'));
    expect(screen.getByText('Enter the client secret of your app at the provider.')).toBeTruthy();
    expect(t.requests.some((r) => r.method === 'POST')).toBe(false);
    await type(screen.getByLabelText('Client ID'), '');
    await submit(byTestId('create-form'));
    expect(t.requests.find((r) => r.method === 'POST')!.body).toEqual({ unique_key: 'auth0-cc', provider: 'auth0-cc', display_name: 'Auth0 (client credentials)' });
  });

  it('shows a duplicate key on the config key field', async () => {
    const t = await open('attio-api-key');
    t.route('POST /integrations', () => [409, { error: { code: 'duplicate_provider_config', message: 'An integration "attio-api-key" already exists' } }]);
    await submit(byTestId('create-form'));
    expect(screen.getByText('An integration "attio-api-key" already exists')).toBeTruthy();
    expect(screen.getByLabelText('Config key').getAttribute('aria-invalid')).toBe('true');
    expect(t.nav.current().search).toBe('?provider=attio-api-key');
  });

  it('goes back to the catalogue with the search kept', async () => {
    const t = await mount('/dashboard/integrations/new');
    await type(byTestId('catalogue-search'), 'git');
    await click(byTestId('template-github'));
    await click(screen.getByRole('link', { name: '← All templates' }));
    expect(t.nav.current().search).toBe('');
    expect((byTestId('catalogue-search') as HTMLInputElement).value).toBe('git');
    expect(shown()).toEqual(['GitHub']);
  });

  it('says so for an unknown template', async () => {
    await mount('/dashboard/integrations/new?provider=nope');
    expect(screen.getByText(/There is no provider template “nope”/)).toBeTruthy();
  });
});
