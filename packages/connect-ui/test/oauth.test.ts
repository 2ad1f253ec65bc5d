// @vitest-environment happy-dom
import { fireEvent, screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { GITHUB, TOKEN, ZENDESK, heading, mount, sessionOf, settle } from './harness.ts';

const click = (name: string | RegExp) => fireEvent.click(screen.getByRole('button', { name }));
const authError = (type: string, message: string) => Object.assign(new Error(message), { type });

describe('OAuth integrations', () => {
  it("Connect calls the SDK's auth() synchronously in the click, with the config key and the params", async () => {
    const t = mount();
    await t.start(sessionOf([ZENDESK, GITHUB]));
    await settle(() => click(/^Zendesk/));
    expect(screen.getByLabelText('Zendesk subdomain')).toBeTruthy();
    await settle(() => fireEvent.input(screen.getByLabelText('Zendesk subdomain'), { target: { value: 'acme' } }));

    click('Connect'); // no await: auth() must have run inside the click
    expect(t.auths).toHaveLength(1);
    const [call] = t.auths;
    expect(call!.token).toBe(TOKEN);
    expect(call!.args).toEqual(['zendesk', { params: { subdomain: 'acme' }, signal: expect.any(AbortSignal) }]);
    await settle(() => {});
    expect(screen.getByRole('status').textContent).toContain('Waiting for you to finish in the Zendesk window');

    await call!.result.resolve({ providerConfigKey: 'zendesk', connectionId: 'user-42' });
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'connect', payload: { providerConfigKey: 'zendesk', connectionId: 'user-42' } });
    expect(heading().textContent).toBe('Zendesk is connected');
  });

  it('no inputs: Connect opens the popup at once with empty params', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB]));
    click('Connect');
    expect(t.auths[0]!.args).toEqual(['github', { params: {}, signal: expect.any(AbortSignal) }]);
  });

  it('an invalid connection config input: inline error, no popup', async () => {
    const t = mount();
    await t.start(sessionOf([ZENDESK]));
    await settle(() => fireEvent.input(screen.getByLabelText('Zendesk subdomain'), { target: { value: 'acme.zendesk.com' } }));
    await settle(() => click('Connect'));
    expect(t.auths).toHaveLength(0);
    expect(screen.getByText('Zendesk subdomain does not have the expected format (for example: acme).')).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByLabelText('Zendesk subdomain'));
  });

  it('a flow error is shown inline and told to the parent; the user can try again', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB]));
    click('Connect');
    await t.auths[0]!.result.reject(authError('access_denied', 'The user denied access.'));
    expect(screen.getByRole('alert').textContent).toBe('The user denied access.');
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'error', payload: { errorType: 'access_denied', errorMessage: 'The user denied access.' } });
    click('Connect');
    expect(t.auths).toHaveLength(2);
  });

  it('a blocked popup gets a message saying what to do', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB]));
    click('Connect');
    await t.auths[0]!.result.reject(authError('blocked_by_browser', 'Modal blocked by browser'));
    expect(screen.getByRole('alert').textContent).toBe('Your browser blocked the GitHub window. Allow pop-ups for this page, then try again.');
    expect(t.events().at(-1)).toMatchObject({ type: 'error', payload: { errorType: 'blocked_by_browser' } });
  });

  it('Cancel aborts the flow (the SDK closes its popup) and tells the parent nothing', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB]));
    click('Connect');
    click('Connect'); // a double click opens one popup
    await settle(() => {});
    const { signal } = t.auths[0]!.args[1] as { signal: AbortSignal };
    click('Connect'); // a second click while the popup is open starts nothing
    expect(t.auths).toHaveLength(1);
    await settle(() => click('Cancel'));
    expect(signal.aborted).toBe(true);
    await t.auths[0]!.result.reject(authError('aborted', 'The authorization was aborted.'));
    expect(screen.getByRole('status').textContent).toBe('Cancelled.');
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    expect(t.events()).toEqual([{ source: 'keyway-connect-ui', type: 'ready' }]);
  });

  it('leaving the screen aborts a running flow', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB, ZENDESK]));
    await settle(() => click(/^GitHub/));
    click('Connect');
    await settle(() => click(/All integrations/));
    expect((t.auths[0]!.args[1] as { signal: AbortSignal }).signal.aborted).toBe(true);
  });
});
