// @vitest-environment happy-dom
import { fireEvent, screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { ATTIO, BAMBOO, TOKEN, ZOOMINFO, heading, mount, sessionOf, settle, type Harness } from './harness.ts';

const KEY = 'ab'.repeat(32);
const type = (label: string | RegExp, value: string) => settle(() => fireEvent.input(screen.getByLabelText(label), { target: { value } }));
const connect = () => settle(() => fireEvent.click(screen.getByRole('button', { name: 'Connect' })));
const describedBy = (el: HTMLElement) =>
  (el.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent)
    .join(' | ');

async function open(integration = ATTIO): Promise<Harness> {
  const t = mount();
  await t.start(sessionOf([integration]));
  return t;
}

describe('the API-key form', () => {
  it('is generated from the credentials: a label, the description, a masked input for a secret', async () => {
    await open();
    expect(heading().textContent).toBe('Connect Attio (API key)');
    const input = screen.getByLabelText('Access token') as HTMLInputElement;
    expect(input.type).toBe('password');
    expect(input.autocomplete).toBe('off');
    expect(describedBy(input)).toBe('From Workspace settings > Developers.');
    expect(screen.getByRole('link', { name: /Where to find them/ }).getAttribute('href')).toBe(ATTIO.docs);
    expect(screen.getByRole('link', { name: /Where to find them/ }).getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('shows a validation error inline, without any request, and focuses the field', async () => {
    const t = await open();
    await connect();
    const input = screen.getByLabelText('Access token');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(input)).toContain('Access token is required.');
    expect(document.activeElement).toBe(input);

    await type('Access token', 'not-hex');
    expect(describedBy(input)).toContain('Access token does not have the expected format.');
    await connect();
    expect(t.calls).toHaveLength(1); // the session only
    // Fixing the value clears the error at once.
    await type('Access token', KEY);
    expect(input.getAttribute('aria-invalid')).toBeNull();
    expect(describedBy(input)).not.toContain('format');
  });

  it("shows the server's error inline (the provider refused the key) and lets the user try again", async () => {
    const t = await open();
    await type('Access token', `  ${KEY}\n`);
    await connect();
    const post = t.calls[1]!;
    expect(post.url).toBe(`/api-auth/api-key/attio-key?connect_session_token=${TOKEN}`);
    expect(post.init.method).toBe('POST');
    expect(post.init.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(JSON.parse(String(post.init.body))).toEqual({ apiKey: KEY }); // pasted spaces dropped
    expect(screen.getByRole('status').textContent).toBe('Checking with Attio…');
    expect(screen.getByRole('button', { name: 'Connecting…' }).getAttribute('aria-disabled')).toBe('true');
    expect((screen.getByLabelText('Access token') as HTMLInputElement).readOnly).toBe(true);

    await post.respond(400, { error: { code: 'invalid_credentials', message: 'The provider refused these credentials (401)' } });
    expect(screen.getByRole('alert').textContent).toBe('The provider refused these credentials (401)');
    expect(heading().textContent).toBe('Connect Attio (API key)');
    expect(t.events().at(-1)).toEqual({
      source: 'keyway-connect-ui',
      type: 'error',
      payload: { errorType: 'invalid_credentials', errorMessage: 'The provider refused these credentials (401)' },
    });
    expect(t.events().some((e) => (e as { type: string }).type === 'connect')).toBe(false);

    await connect(); // try again
    await t.calls[2]!.respond(504, { error: { code: 'provider_timeout', message: 'The provider did not answer the verification request in time' } });
    expect(screen.getByRole('alert').textContent).toBe('The provider did not answer the verification request in time');
  });

  it('on success tells the parent `connect`, then Done sends close', async () => {
    const t = await open();
    await type('Access token', KEY);
    await connect();
    await t.calls[1]!.respond(200, { providerConfigKey: 'attio-key', connectionId: 'user-42' });
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'connect', payload: { providerConfigKey: 'attio-key', connectionId: 'user-42' } });
    expect(heading().textContent).toBe('Attio is connected');
    expect(document.activeElement).toBe(heading());
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'close' });
  });

  it('BASIC: username, password and connection config, posted to /api-auth/basic with params[...]', async () => {
    const t = await open(BAMBOO);
    expect((screen.getByLabelText('API key') as HTMLInputElement).type).toBe('password');
    expect(describedBy(screen.getByLabelText('BambooHR company domain'))).toBe('Example: acme');
    expect(describedBy(screen.getByLabelText('Password (any value)'))).toBe(''); // a secret's example is not shown
    await connect();
    expect(document.activeElement).toBe(screen.getByLabelText('BambooHR company domain'));
    expect(screen.getAllByText(/is required/)).toHaveLength(3);
    await type('BambooHR company domain', 'Acme Corp');
    await type('API key', 'f'.repeat(40));
    await type('Password (any value)', ' x ');
    await connect();
    expect(describedBy(screen.getByLabelText('BambooHR company domain'))).toContain('does not have the expected format (for example: acme).');
    expect(document.activeElement).toBe(screen.getByLabelText('BambooHR company domain'));
    await type('BambooHR company domain', 'acme-corp');
    await connect();
    const post = t.calls[1]!;
    expect(post.url).toBe(`/api-auth/basic/bamboo?connect_session_token=${TOKEN}&params[subdomain]=acme-corp`);
    expect(JSON.parse(String(post.init.body))).toEqual({ username: 'f'.repeat(40), password: ' x ' }); // a password is sent as typed
  });

  it('TWO_STEP: the typed credentials, posted to /api-auth/two-step (the server obtains the token)', async () => {
    const t = await open(ZOOMINFO);
    expect(heading().textContent).toBe('Connect ZoomInfo (username and password)');
    expect((screen.getByLabelText('Password') as HTMLInputElement).type).toBe('password');
    expect((screen.getByLabelText('ZoomInfo user name') as HTMLInputElement).type).toBe('text');
    await type('ZoomInfo user name', ' ana@example.com ');
    await type('Password', ' p w ');
    await connect();
    const post = t.calls[1]!;
    expect(post.url).toBe(`/api-auth/two-step/zoominfo?connect_session_token=${TOKEN}`);
    expect(JSON.parse(String(post.init.body))).toEqual({ username: 'ana@example.com', password: ' p w ' });
    await post.respond(200, { providerConfigKey: 'zoominfo', connectionId: 'user-42' });
    expect(heading().textContent).toBe('ZoomInfo is connected');
  });

  it('a server that cannot be reached: a readable message', async () => {
    const t = await open();
    await type('Access token', KEY);
    await connect();
    await t.calls[1]!.fail();
    expect(screen.getByRole('alert').textContent).toContain('could not be reached');
    expect(t.events().at(-1)).toMatchObject({ type: 'error', payload: { errorType: 'network_error' } });
  });

  it('a session that expired meanwhile: the expired screen', async () => {
    const t = await open();
    await type('Access token', KEY);
    await connect();
    await t.calls[1]!.respond(401, { error: { code: 'invalid_connect_session', message: 'The connect session is unknown or expired' } });
    expect(heading().textContent).toBe('This session has expired');
    expect(t.events().at(-1)).toMatchObject({ type: 'error', payload: { errorType: 'invalid_connect_session' } });
  });
});
