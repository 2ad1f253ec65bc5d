// @vitest-environment happy-dom
import { screen, within } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { CSRF, INTEGRATION, NOW, SETTINGS, byTestId, click, flush, heading, mount, statusText, submit, type } from './harness.ts';

const patched = (req: { body: unknown }) => [200, { data: { ...INTEGRATION, ...(req.body as object), updated_at: '2030-01-01T12:00:00.000Z' } }] as [number, unknown];

describe('an integration', () => {
  it('shows its facts and the client id and scopes, never the client secret', async () => {
    const t = await mount('/dashboard/integrations/github-prod');
    expect(heading().textContent).toBe('GitHub');
    expect(t.lines()).toContain('GET /integrations/github-prod?include=credentials');
    expect((screen.getByLabelText('Client ID') as HTMLInputElement).value).toBe('client-123');
    expect((screen.getByLabelText('Scopes') as HTMLInputElement).value).toBe('repo, user');
    const secret = screen.getByLabelText('Client secret') as HTMLInputElement;
    expect(secret.type).toBe('password');
    expect(secret.value).toBe('');
    expect(document.body.innerHTML).not.toContain('STORED-CLIENT-SECRET');
    expect(screen.getByRole('link', { name: 'View its connections' }).getAttribute('href')).toBe('/dashboard/connections?integration=github-prod');
  });

  it('saves a display name change alone: no credentials, no secret', async () => {
    const t = await mount('/dashboard/integrations/github-prod', { 'PATCH /integrations/:key': patched });
    await type(screen.getByLabelText('Display name'), 'GitHub (production)');
    await submit(byTestId('edit-form'));
    const patch = t.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.path).toBe('/integrations/github-prod');
    expect(patch.headers['X-Keyway-CSRF']).toBe(CSRF);
    expect(patch.body).toEqual({ display_name: 'GitHub (production)' });
    expect(statusText()).toBe('Changes saved.');
    expect(heading().textContent).toBe('GitHub (production)');
  });

  it('sends a new secret typed in the write-only field, then empties it', async () => {
    const t = await mount('/dashboard/integrations/github-prod', { 'PATCH /integrations/:key': patched });
    await type(screen.getByLabelText('Client secret'), 'new-secret');
    await submit(byTestId('edit-form'));
    expect(t.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ credentials: { type: 'OAUTH2', client_id: 'client-123', client_secret: 'new-secret', scopes: 'repo,user' } });
    expect((screen.getByLabelText('Client secret') as HTMLInputElement).value).toBe('');
  });

  it('keeps the stored secret when only the scopes change (the server replaces the whole client)', async () => {
    const t = await mount('/dashboard/integrations/github-prod', { 'PATCH /integrations/:key': patched });
    await type(screen.getByLabelText('Scopes'), 'repo');
    await submit(byTestId('edit-form'));
    expect(t.requests.filter((r) => r.method === 'GET' && r.path === '/integrations/github-prod')).toHaveLength(2);
    expect(t.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ credentials: { type: 'OAUTH2', client_id: 'client-123', client_secret: 'STORED-CLIENT-SECRET', scopes: 'repo' } });
    expect(document.body.innerHTML).not.toContain('STORED-CLIENT-SECRET');
  });

  it('sends nothing when nothing changed, and shows the server\'s error', async () => {
    const t = await mount('/dashboard/integrations/github-prod', {
      'PATCH /integrations/:key': () => [400, { error: { code: 'invalid_body', message: '`credentials` needs client_id and client_secret' } }],
    });
    await submit(byTestId('edit-form'));
    expect(statusText()).toBe('Nothing to save: no field was changed.');
    expect(t.requests.some((r) => r.method === 'PATCH')).toBe(false);
    await type(screen.getByLabelText('Client secret'), 'x');
    await submit(byTestId('edit-form'));
    expect(byTestId('form-error').textContent).toBe('`credentials` needs client_id and client_secret');
  });

  it('copies the redirect URL to register, or says how to copy it by hand', async () => {
    const t = await mount('/dashboard/integrations/github-prod');
    await click(byTestId('copy-callback'));
    expect(t.clipboard.writeText).toHaveBeenCalledWith('http://127.0.0.1:3003/oauth/callback');
    expect(byTestId('copy-callback-message').textContent).toBe('Copied.');
    t.clipboard.writeText.mockRejectedValueOnce(new Error('denied'));
    await click(byTestId('copy-callback'));
    expect(byTestId('copy-callback-message').textContent).toMatch(/Could not copy automatically/);
    expect(document.activeElement).toBe(screen.getByLabelText('Redirect URL to register at the provider'));
  });

  it('has no redirect URL nor "Try it" for an API-key integration, and no client fields', async () => {
    await mount('/dashboard/integrations/attio', {
      'GET /integrations/:key': () => [200, { data: { ...INTEGRATION, unique_key: 'attio', provider: 'attio-api-key', display_name: 'Attio', credentials: { type: 'OAUTH2', client_id: '', client_secret: '', scopes: null } } }],
    });
    expect(heading().textContent).toBe('Attio');
    expect(screen.queryByTestId('copy-callback')).toBeNull();
    expect(screen.queryByTestId('try-it')).toBeNull();
    expect(screen.queryByLabelText('Client ID')).toBeNull();
  });
});

describe('"Try it"', () => {
  it('runs the connect flow with the public key (when the server allows it) for a test connection id, and links to the new connection', async () => {
    const t = await mount('/dashboard/integrations/github-prod');
    let finish!: (v: unknown) => void;
    t.auth.mockImplementation(() => new Promise((r) => (finish = r)));
    const id = screen.getByLabelText('Test connection id') as HTMLInputElement;
    expect(id.value).toBe(`test-${NOW}`);
    await click(byTestId('try-it'));
    expect(t.createAuthClient).toHaveBeenCalledWith({ publicKey: 'kw_pk_public' });
    expect(t.auth).toHaveBeenCalledWith('github-prod', `test-${NOW}`, {});
    expect(byTestId('try-it').textContent).toBe('Waiting for the popup…');
    finish({ providerConfigKey: 'github-prod', connectionId: `test-${NOW}` });
    await flush();
    expect(statusText()).toBe(`Connected: the test connection “test-${NOW}” was created.`);
    await click(screen.getByRole('link', { name: `Open the connection “test-${NOW}”` }));
    expect(t.nav.current().pathname).toBe(`/dashboard/connections/github-prod/test-${NOW}`);
  });

  it('calls auth() synchronously in the click (no popup blocker), and shows a failure', async () => {
    const t = await mount('/dashboard/integrations/github-prod');
    t.auth.mockImplementation(() => Promise.reject(Object.assign(new Error('The user denied access'), { type: 'access_denied' })));
    await type(screen.getByLabelText('Test connection id'), 'my-test');
    byTestId('try-it').click(); // no await: auth() must have run by now
    expect(t.auth).toHaveBeenCalledWith('github-prod', 'my-test', {});
    await flush();
    expect(byTestId('try-result').textContent).toBe('The connect flow failed: The user denied access (access_denied)');
    expect(statusText()).toMatch(/The connect flow failed/);
  });

  it('when the server requires connect sessions (the default), makes one for the test id beforehand and starts the flow with it', async () => {
    const sessions: unknown[] = [];
    const t = await mount('/dashboard/integrations/github-prod', {
      'GET /dashboard/api/settings': () => [200, { data: { ...SETTINGS, require_connect_session: true } }],
      'POST /connect/sessions': (req) => {
        sessions.push(req.body);
        return [201, { data: { token: `kw_cs_for_${(req.body as { end_user: { id: string } }).end_user.id}`, expires_at: new Date(NOW + 30 * 60_000).toISOString() } }];
      },
    });
    t.auth.mockResolvedValue({ providerConfigKey: 'github-prod', connectionId: 'my-test' });
    expect(byTestId('try-it-session').textContent).toMatch(/requires connect sessions/);
    await type(screen.getByLabelText('Test connection id'), 'my-test');
    await flush();
    expect(sessions.at(-1)).toEqual({ end_user: { id: 'my-test' }, allowed_integrations: ['github-prod'] });
    expect(t.requests.find((r) => r.method === 'POST' && r.path === '/connect/sessions')!.headers['X-Keyway-CSRF']).toBe(CSRF);
    byTestId('try-it').click(); // no await: auth() must run within the click
    expect(t.createAuthClient).toHaveBeenCalledWith({ connectSessionToken: 'kw_cs_for_my-test' });
    expect(t.auth).toHaveBeenCalledWith('github-prod', 'my-test', {});
  });

  it('with connect sessions required, says so instead of opening a popup while the session is not ready or was refused', async () => {
    const t = await mount('/dashboard/integrations/github-prod', {
      'GET /dashboard/api/settings': () => [200, { data: { ...SETTINGS, require_connect_session: true } }],
      'POST /connect/sessions': () => [400, { error: { code: 'invalid_body', message: 'nope' } }],
    });
    await type(screen.getByLabelText('Test connection id'), 'my-test');
    await flush();
    await submit(byTestId('try-it').closest('form')!);
    expect(t.auth).not.toHaveBeenCalled();
    expect(screen.getByText(/No connect session: nope/)).toBeTruthy();
  });

  it('checks the connection id and the template\'s inputs, and passes them as params', async () => {
    const t = await mount('/dashboard/integrations/zd', {
      'GET /integrations/:key': () => [200, { data: { ...INTEGRATION, unique_key: 'zd', provider: 'zendesk', display_name: 'Zendesk', credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 's', scopes: null } } }],
    });
    t.auth.mockResolvedValue({ providerConfigKey: 'zd', connectionId: 'x' });
    await type(screen.getByLabelText('Test connection id'), 'bad id');
    await type(screen.getByLabelText('Zendesk subdomain'), 'Not A Domain');
    await click(byTestId('try-it'));
    expect(t.auth).not.toHaveBeenCalled();
    expect(screen.getByText(/Use 1 to 255 letters/)).toBeTruthy();
    expect(screen.getByText('This is not a valid Zendesk subdomain (for example acme).')).toBeTruthy();
    await type(screen.getByLabelText('Test connection id'), 'ok-id');
    await type(screen.getByLabelText('Zendesk subdomain'), 'acme');
    await click(byTestId('try-it'));
    expect(t.auth).toHaveBeenCalledWith('zd', 'ok-id', { params: { subdomain: 'acme' } });
  });
});

describe('an integration whose template takes a host from the end user', () => {
  const GITLAB = {
    name: 'gitlab-self-managed',
    display_name: 'GitLab Self-Managed',
    auth_mode: 'OAUTH2',
    categories: ['dev-tools'],
    docs: 'https://docs.gitlab.com',
    connection_config: { host: { title: 'GitLab host', pattern: '[a-z0-9.:-]+', example: 'gitlab.example.com' }, group: { title: 'Group', pattern: '[a-z]+' } },
    host_inputs: ['host'],
  };
  const STORED = { ...INTEGRATION, unique_key: 'gitlab', provider: 'gitlab-self-managed', display_name: 'GitLab', connection_config: { group: 'eng' }, allowed_hosts: ['gitlab.acme.com'] };
  const routes = {
    'GET /providers/:name': () => [200, { data: GITLAB }] as [number, unknown],
    'GET /integrations/:key': () => [200, { data: { ...STORED, credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 'S', scopes: '', webhook_secret: null } } }] as [number, unknown],
    'PATCH /integrations/:key': (req: { body: unknown }) => [200, { data: { ...STORED, ...(req.body as object) } }] as [number, unknown],
  };

  it('shows the host fields, and saves a fixed host and the allowed hosts, keeping other fixed inputs', async () => {
    const t = await mount('/dashboard/integrations/gitlab', routes);
    expect((screen.getByLabelText('Allowed hosts') as HTMLInputElement).value).toBe('gitlab.acme.com');
    expect((screen.getByLabelText('Fixed GitLab host') as HTMLInputElement).value).toBe('');
    await type(screen.getByLabelText('Fixed GitLab host'), 'gitlab.acme.internal:8443');
    await type(screen.getByLabelText('Allowed hosts'), 'gitlab.acme.com, *.git.acme.com\n');
    await submit(byTestId('hosts-form'));
    const patch = t.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.body).toEqual({ connection_config: { group: 'eng', host: 'gitlab.acme.internal:8443' }, allowed_hosts: ['gitlab.acme.com', '*.git.acme.com'] });
    expect(statusText()).toBe('Hosts saved.');
  });

  it('has no host fields when the template takes no host', async () => {
    await mount('/dashboard/integrations/github-prod');
    expect(screen.queryByLabelText('Allowed hosts')).toBeNull();
    expect(screen.queryByTestId('app-inputs-form')).toBeNull();
  });
});

describe('an integration whose template has inputs only the integration sets', () => {
  const EBAY = {
    name: 'ebay',
    display_name: 'eBay',
    auth_mode: 'OAUTH2',
    categories: ['e-commerce'],
    docs: 'https://developer.ebay.com',
    connection_config: { ruName: { title: 'RuName', description: 'The RuName of the app.', pattern: '[A-Za-z0-9_-]+', example: 'Acme-App-PRD', from_integration: true }, market: { title: 'Market', pattern: '[A-Z_]+' } },
    host_inputs: [],
  };
  const STORED = { ...INTEGRATION, unique_key: 'ebay', provider: 'ebay', display_name: 'eBay', connection_config: { market: 'EBAY_DE' }, allowed_hosts: [] };
  const routes = {
    'GET /providers/:name': () => [200, { data: EBAY }] as [number, unknown],
    'GET /integrations/:key': () => [200, { data: { ...STORED, credentials: { type: 'OAUTH2', client_id: 'c', client_secret: 'S', scopes: '', webhook_secret: null } } }] as [number, unknown],
    'PATCH /integrations/:key': (req: { body: unknown }) => [200, { data: { ...STORED, ...(req.body as object) } }] as [number, unknown],
  };

  it('shows them under App settings (not the other inputs), and saves one keeping the other fixed inputs', async () => {
    const t = await mount('/dashboard/integrations/ebay', routes);
    expect(screen.queryByLabelText('Allowed hosts')).toBeNull();
    const form = byTestId('app-inputs-form');
    expect(within(form).getAllByRole('textbox').map((i) => i.getAttribute('data-testid'))).toEqual(['app-input-ruName']);
    expect(screen.getByText('The RuName of the app. For example Acme-App-PRD.')).toBeTruthy();
    await type(screen.getByLabelText('RuName'), 'Acme-App-PRD-123');
    await submit(form);
    expect(t.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ connection_config: { market: 'EBAY_DE', ruName: 'Acme-App-PRD-123' } });
    expect(statusText()).toBe('App settings saved.');
    // "Try it" asks only what an end user gives: the RuName is not among its fields.
    expect(within(byTestId('try-it').closest('form')!).queryByLabelText('RuName')).toBeNull();
  });
});
