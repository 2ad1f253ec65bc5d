// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { h } from 'preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type DemoApi } from '../src/api.ts';
import { App } from '../src/App.tsx';
import type { AuthClient } from '../src/auth.ts';
import type { DemoConfig, DemoConnection, TokenView } from '../src/types.ts';

const config: DemoConfig = { keywayHost: 'http://127.0.0.1:3003', userId: 'demo-user', connectSessionToken: 'kw_cs_test', sessionExpiresAt: new Date(Date.now() + 30 * 60_000).toISOString() };
const token: TokenView = {
  connectionId: 'demo-user',
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  metadata: {},
  connectionConfig: {},
  maskedToken: 'abcd…yz',
};

function fakeApi(connections: DemoConnection[] = []): DemoApi & { getToken: ReturnType<typeof vi.fn> } {
  return {
    getConfig: async () => config,
    listIntegrations: async () => [
      { uniqueKey: 'keyway-sandbox', provider: 'keyway-sandbox', displayName: 'Keyway Sandbox' },
      { uniqueKey: 'github', provider: 'github', displayName: 'GitHub' },
    ],
    listConnections: async () => connections,
    getToken: vi.fn(async () => token),
  };
}

/** A stand-in for @keyway/frontend's Nango whose auth() the test settles. */
function fakeNango() {
  let settle!: { resolve: (v: { providerConfigKey: string; connectionId: string }) => void; reject: (e: unknown) => void };
  const auth = vi.fn(
    (_providerConfigKey: string, _connectionId: string, _options?: { signal?: AbortSignal }) =>
      new Promise<{ providerConfigKey: string; connectionId: string }>((resolve, reject) => {
        settle = { resolve, reject };
      }),
  );
  const client: AuthClient = { auth };
  return { client, auth, settle: () => settle };
}

class FakeAuthError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

afterEach(cleanup);

describe('App', () => {
  it('lists the integrations and creates the SDK client once, from the config (its connect session)', async () => {
    const nango = fakeNango();
    const create = vi.fn(() => nango.client);
    render(h(App, { api: fakeApi(), createAuthClient: create }));
    await screen.findByTestId('connect-keyway-sandbox');
    expect(screen.getByTestId('connect-github')).toBeTruthy();
    expect(create).toHaveBeenCalledTimes(1);
    expect(create).toHaveBeenCalledWith(config);
  });

  it('Connect calls auth(configKey, userId) synchronously in the click, then shows the token view', async () => {
    const nango = fakeNango();
    const api = fakeApi();
    render(h(App, { api, createAuthClient: () => nango.client }));
    const button = await screen.findByTestId('connect-keyway-sandbox');

    fireEvent.click(button);
    // No await between the click and this line: the popup opens inside the user's gesture.
    expect(nango.auth).toHaveBeenCalledTimes(1);
    expect(nango.auth.mock.calls[0]?.[0]).toBe('keyway-sandbox');
    expect(nango.auth.mock.calls[0]?.[1]).toBe('demo-user');

    await waitFor(() => expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connecting'));
    nango.settle().resolve({ providerConfigKey: 'keyway-sandbox', connectionId: 'demo-user' });
    const view = await screen.findByTestId('token-keyway-sandbox');
    expect(view.textContent).toContain('abcd…yz');
    expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connected');
    expect(api.getToken).toHaveBeenCalledWith('keyway-sandbox');
    expect(screen.getByTestId('status-github').textContent).not.toContain('connected');

    fireEvent.click(screen.getByRole('button', { name: /Refresh the view of the Keyway Sandbox/ }));
    await waitFor(() => expect(api.getToken).toHaveBeenCalledTimes(2));
  });

  it('a rejected auth shows the AuthError type and message', async () => {
    const nango = fakeNango();
    render(h(App, { api: fakeApi(), createAuthClient: () => nango.client }));
    fireEvent.click(await screen.findByTestId('connect-github'));
    nango.settle().reject(new FakeAuthError('Modal blocked by browser', 'blocked_by_browser'));
    const error = await screen.findByTestId('error-github');
    expect(error.textContent).toContain('blocked_by_browser');
    expect(error.textContent).toContain('Modal blocked by browser');
    expect(screen.getByTestId('status-github').textContent).not.toContain('connected');
  });

  it('Cancel aborts the flow and returns to idle', async () => {
    const nango = fakeNango();
    render(h(App, { api: fakeApi(), createAuthClient: () => nango.client }));
    fireEvent.click(await screen.findByTestId('connect-keyway-sandbox'));
    const signal = nango.auth.mock.calls[0]?.[2]?.signal;
    fireEvent.click(await screen.findByTestId('cancel-keyway-sandbox'));
    expect(signal?.aborted).toBe(true);
    nango.settle().reject(new FakeAuthError('The authorization was aborted.', 'aborted'));
    await waitFor(() => expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('no connection yet'));
    expect(screen.queryByTestId('error-keyway-sandbox')).toBeNull();
  });

  it('an existing connection is shown connected with its token view on load', async () => {
    const api = fakeApi([{ providerConfigKey: 'keyway-sandbox', connectionId: 'demo-user', provider: 'keyway-sandbox', createdAt: '2030-01-01T00:00:00Z' }]);
    render(h(App, { api, createAuthClient: () => fakeNango().client }));
    expect((await screen.findByTestId('token-keyway-sandbox')).textContent).toContain('abcd…yz');
    expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connected');
  });

  it('a failed load is reported', async () => {
    const api = { ...fakeApi(), listIntegrations: () => Promise.reject(new ApiError('network_error', 'The demo backend did not answer', 0)) };
    render(h(App, { api, createAuthClient: () => fakeNango().client }));
    expect((await screen.findByTestId('load-error')).textContent).toContain('network_error');
  });
});
