// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { h } from 'preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IntegrationCard, type IntegrationCardProps } from '../src/components/IntegrationCard.tsx';
import type { CardState } from '../src/components/state.ts';
import { relativeTime } from '../src/time.ts';
import type { TokenView } from '../src/types.ts';

const NOW = Date.parse('2030-01-01T12:00:00.000Z');
const sandbox = { uniqueKey: 'keyway-sandbox', provider: 'keyway-sandbox', displayName: 'Keyway Sandbox' };
const token: TokenView = {
  connectionId: 'demo-user',
  expiresAt: new Date(NOW + 59 * 60_000).toISOString(),
  metadata: { team: 'blue' },
  connectionConfig: {},
  maskedToken: 'abcd…yz',
};

function renderCard(state: CardState, props: Partial<IntegrationCardProps> = {}) {
  const onConnect = vi.fn();
  const onRefresh = vi.fn();
  const onCancel = vi.fn();
  render(h(IntegrationCard, { integration: sandbox, state, onConnect, onRefresh, onCancel, now: NOW, ...props }));
  return { onConnect, onRefresh, onCancel };
}

afterEach(cleanup);

describe('IntegrationCard', () => {
  it('idle: a labelled Connect button and a status without the word "connected"', () => {
    const { onConnect } = renderCard({ status: 'idle' });
    const status = screen.getByTestId('status-keyway-sandbox');
    expect(status.textContent).toContain('no connection yet');
    expect(status.textContent).not.toContain('connected');
    expect(status.getAttribute('aria-live')).toBe('polite');
    const button = screen.getByRole('button', { name: 'Connect Keyway Sandbox' });
    expect(button).toBe(screen.getByTestId('connect-keyway-sandbox'));
    fireEvent.click(button);
    expect(onConnect).toHaveBeenCalledWith('keyway-sandbox');
    expect(screen.queryByTestId('token-keyway-sandbox')).toBeNull();
    expect(screen.queryByTestId('error-keyway-sandbox')).toBeNull();
  });

  it('connecting: the button is disabled and Cancel is offered', () => {
    const { onCancel } = renderCard({ status: 'connecting' });
    expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connecting');
    expect(screen.getByTestId('status-keyway-sandbox').textContent).not.toContain('connected');
    expect((screen.getByTestId('connect-keyway-sandbox') as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel connecting Keyway Sandbox' }));
    expect(onCancel).toHaveBeenCalledWith('keyway-sandbox');
  });

  it('connected: the masked token, the relative expiry and the metadata; Refresh view', () => {
    const { onRefresh } = renderCard({ status: 'connected', token, loading: false, tokenError: null });
    expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connected');
    const view = screen.getByTestId('token-keyway-sandbox');
    expect(view.textContent).toContain('abcd…yz');
    expect(view.textContent).toContain('expires in 59 minutes');
    expect(view.textContent).toContain('"team": "blue"');
    expect(view.querySelector('time')?.getAttribute('datetime')).toBe(token.expiresAt);
    fireEvent.click(screen.getByRole('button', { name: 'Refresh the view of the Keyway Sandbox connection' }));
    expect(onRefresh).toHaveBeenCalledWith('keyway-sandbox');
  });

  it('connected, expired token and no expiry', () => {
    renderCard({ status: 'connected', token: { ...token, expiresAt: new Date(NOW - 120_000).toISOString() }, loading: false, tokenError: null });
    expect(screen.getByTestId('expiry-keyway-sandbox').textContent).toContain('expired 2 minutes ago');
    cleanup();
    renderCard({ status: 'connected', token: { ...token, expiresAt: null, maskedToken: null }, loading: false, tokenError: null });
    expect(screen.getByTestId('expiry-keyway-sandbox').textContent).toContain('no expiry given');
  });

  it('connected while the first read is under way: no token view yet', () => {
    renderCard({ status: 'connected', token: null, loading: true, tokenError: null });
    expect(screen.getByTestId('status-keyway-sandbox').textContent).toContain('connected');
    expect(screen.queryByTestId('token-keyway-sandbox')).toBeNull();
    expect(screen.getByText(/Reading the connection/)).toBeTruthy();
  });

  it('error: the AuthError type and message, and a Retry', () => {
    const { onConnect } = renderCard({ status: 'error', errorType: 'window_closed', message: 'The window was closed' });
    const error = screen.getByTestId('error-keyway-sandbox');
    expect(error.textContent).toContain('window_closed');
    expect(error.textContent).toContain('The window was closed');
    expect(error.getAttribute('role')).toBe('alert');
    expect(screen.getByTestId('status-keyway-sandbox').textContent).not.toContain('connected');
    fireEvent.click(screen.getByRole('button', { name: 'Retry Keyway Sandbox' }));
    expect(onConnect).toHaveBeenCalledWith('keyway-sandbox');
  });
});

describe('relativeTime', () => {
  it('uses the largest whole unit', () => {
    expect(relativeTime(new Date(NOW + 3 * 3600_000).toISOString(), NOW)).toBe('in 3 hours');
    expect(relativeTime(new Date(NOW + 30_000).toISOString(), NOW)).toBe('in 30 seconds');
    expect(relativeTime(new Date(NOW - 2 * 86_400_000).toISOString(), NOW)).toBe('2 days ago');
    expect(relativeTime(new Date(NOW).toISOString(), NOW)).toBe('now');
    expect(relativeTime('not a date', NOW)).toBe('at an unknown time');
  });
});
