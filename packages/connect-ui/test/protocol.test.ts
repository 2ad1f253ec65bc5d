// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { h } from 'preact';
import { describe, expect, it } from 'vitest';
import { createApi } from '../src/api.ts';
import { App } from '../src/App.tsx';
import { linkTokenOf, parentOriginOf } from '../src/parent.ts';
import { ATTIO, GITHUB, PARENT_ORIGIN, TOKEN, heading, mount, sessionOf } from './harness.ts';

const session = (token: string) => ({ source: 'keyway-connect', type: 'session', token });

describe('the parent window protocol', () => {
  it('says ready to the parent, at its exact origin, once mounted', () => {
    const t = mount();
    expect(t.parent.postMessage).toHaveBeenCalledTimes(1);
    expect(t.parent.postMessage).toHaveBeenCalledWith({ source: 'keyway-connect-ui', type: 'ready' }, PARENT_ORIGIN);
    expect(heading().textContent).toBe('Connect an account');
    expect(screen.getByRole('status').textContent).toContain('Loading');
    expect(document.activeElement).toBe(heading());
  });

  it('loads the session with the token the parent sends, and only then', async () => {
    const t = mount();
    await t.message(session(TOKEN));
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.url).toBe('/connect/session');
    expect(t.calls[0]!.init.headers).toEqual({ Authorization: `Bearer ${TOKEN}` });
    expect(t.calls[0]!.init.credentials).toBe('omit');
    await t.calls[0]!.respond(200, { data: sessionOf([GITHUB, ATTIO]) });
    expect(screen.getByRole('button', { name: /GitHub/ })).toBeTruthy();
  });

  it('ignores a token from another origin, from another window, or not shaped as a session message', async () => {
    const t = mount();
    await t.message(session(TOKEN), 'https://evil.example');
    await t.message(session(TOKEN), 'https://app.example:8443');
    await t.message(session(TOKEN), PARENT_ORIGIN, window); // right origin, but not the parent window
    await t.message(session(TOKEN), PARENT_ORIGIN, null);
    await t.message({ source: 'keyway', type: 'session', token: TOKEN });
    await t.message({ source: 'keyway-connect', type: 'token', token: TOKEN });
    await t.message({ source: 'keyway-connect', type: 'session', token: 42 });
    await t.message({ source: 'keyway-connect', type: 'session', token: '' });
    await t.message(`{"source":"keyway-connect","type":"session","token":"${TOKEN}"}`);
    expect(t.calls).toHaveLength(0);
    expect(heading().textContent).toBe('Connect an account');
    await t.message(session(TOKEN));
    expect(t.calls).toHaveLength(1);
  });

  it('reloads the session when the parent sends a new token, ignoring the answer for the old one', async () => {
    const t = mount();
    await t.message(session('kw_cs_old'));
    await t.message(session('kw_cs_new'));
    expect(t.calls.map((c) => (c.init.headers as Record<string, string>).Authorization)).toEqual(['Bearer kw_cs_old', 'Bearer kw_cs_new']);
    await t.calls[1]!.respond(200, { data: sessionOf([GITHUB, ATTIO]) });
    await t.calls[0]!.respond(401, { error: { code: 'invalid_connect_session', message: 'expired' } });
    expect(heading().textContent).toBe('Connect an account');
    expect(screen.getByRole('button', { name: /GitHub/ })).toBeTruthy();
    expect(t.events()).toEqual([{ source: 'keyway-connect-ui', type: 'ready' }]);
  });

  it('Escape sends close, wherever the focus is', async () => {
    const t = mount();
    await t.start();
    fireEvent.keyDown(screen.getByRole('searchbox', { name: 'Search integrations' }), { key: 'Escape' });
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'close' });
    fireEvent.keyDown(document.body, { key: 'Escape' });
    expect(t.events().filter((e) => (e as { type: string }).type === 'close')).toHaveLength(2);
  });

  it('the close button sends close', async () => {
    const t = mount();
    await t.start();
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'close' });
  });

  it('keeps Tab inside the dialog', async () => {
    const t = mount();
    await t.start(sessionOf([GITHUB, ATTIO]));
    const close = screen.getByRole('button', { name: 'Close' });
    const last = screen.getAllByRole('button').at(-1)!;
    last.focus();
    fireEvent.keyDown(last, { key: 'Tab' });
    expect(document.activeElement).toBe(close);
    fireEvent.keyDown(close, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(last);
  });
});

describe('session errors', () => {
  it('an expired session: a clear message, an error event, and a Close button', async () => {
    const t = mount();
    await t.message(session(TOKEN));
    await t.calls[0]!.respond(401, { error: { code: 'invalid_connect_session', message: 'The connect session is unknown or expired; ask your backend for a new one' } });
    expect(heading().textContent).toBe('This session has expired');
    expect(document.activeElement).toBe(heading());
    expect(screen.getByRole('alert').textContent).toContain('Close it and start connecting again');
    expect(t.events().at(-1)).toEqual({
      source: 'keyway-connect-ui',
      type: 'error',
      payload: { errorType: 'invalid_connect_session', errorMessage: 'The connect session is unknown or expired; ask your backend for a new one' },
    });
    const [cross, button] = screen.getAllByRole('button', { name: 'Close' });
    expect(cross!.className).toBe('kw-close');
    fireEvent.click(button!);
    expect(t.events().at(-1)).toEqual({ source: 'keyway-connect-ui', type: 'close' });
  });

  it('a server that cannot be reached', async () => {
    const t = mount();
    await t.message(session(TOKEN));
    await t.calls[0]!.fail();
    expect(heading().textContent).toBe('Something went wrong');
    expect(screen.getByRole('alert').textContent).toContain('could not be reached');
    expect(t.events().at(-1)).toMatchObject({ type: 'error', payload: { errorType: 'network_error' } });
  });

  it('a page that is not framed (or has no origin) says so and posts nothing', () => {
    const parent = { postMessage: () => expect.unreachable('posted') };
    render(h(App, { deps: { parentOrigin: PARENT_ORIGIN, parent: null, events: window, api: createApi(fetch), createAuthClient: () => expect.unreachable() } }));
    expect(heading().textContent).toBe('Nothing to show here');
    expect(screen.queryByRole('button', { name: 'Close' })).toBeNull();
    cleanup();
    render(h(App, { deps: { parentOrigin: null, parent, events: window, api: createApi(fetch), createAuthClient: () => expect.unreachable() } }));
    expect(heading().textContent).toBe('Nothing to show here');
    act(() => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    });
  });
});

describe('parentOriginOf', () => {
  it('accepts an exact http(s) origin only', () => {
    expect(parentOriginOf('?origin=https%3A%2F%2Fapp.example')).toBe('https://app.example');
    expect(parentOriginOf('?origin=http%3A%2F%2F127.0.0.1%3A5173')).toBe('http://127.0.0.1:5173');
    for (const bad of ['', '?origin=', '?origin=*', '?origin=null', '?origin=https%3A%2F%2Fapp.example%2F', '?origin=https%3A%2F%2Fapp.example%2Fpath', '?origin=javascript%3Aalert(1)', '?origin=HTTPS%3A%2F%2FAPP.example']) {
      expect(parentOriginOf(bad), bad).toBeNull();
    }
  });

  it("falls back to the framing page's origin for the official SDK, which sends no ?origin=", () => {
    expect(parentOriginOf('?apiURL=x', { ancestorOrigin: 'https://app.example' })).toBe('https://app.example');
    expect(parentOriginOf('?apiURL=x', { referrer: 'https://app.example/settings?tab=1' })).toBe('https://app.example');
    expect(parentOriginOf('?origin=https%3A%2F%2Fours.example', { ancestorOrigin: 'https://app.example' })).toBe('https://ours.example');
    expect(parentOriginOf('', { referrer: 'not a url' })).toBeNull();
    expect(parentOriginOf('', { ancestorOrigin: 'null' })).toBeNull();
  });
});

describe("the official @nangohq/frontend's messages", () => {
  it('takes its { type: session_token, sessionToken } from the parent, and from the parent only', async () => {
    const t = mount();
    await t.message({ type: 'session_token', sessionToken: TOKEN }, 'https://evil.example');
    await t.message({ type: 'session_token', token: TOKEN });
    await t.message({ type: 'session_token', sessionToken: '' });
    expect(t.calls).toHaveLength(0);
    await t.message({ type: 'session_token', sessionToken: TOKEN });
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.init.headers).toEqual({ Authorization: `Bearer ${TOKEN}` });
  });
});

describe('connect links (the page opened on its own, the token in #session_token=)', () => {
  it('loads the session with the link token and lists what it may connect; nothing is posted anywhere', async () => {
    const t = mount({ parent: null, parentOrigin: null, linkToken: TOKEN });
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.init.headers).toEqual({ Authorization: `Bearer ${TOKEN}` });
    await t.calls[0]!.respond(200, { data: sessionOf([GITHUB, ATTIO]) });
    expect(screen.getByRole('button', { name: /GitHub/ })).toBeTruthy();
    expect(t.parent.postMessage).not.toHaveBeenCalled();
    cleanup();
  });

  it('reads the token from the fragment only when it is shaped as one', () => {
    expect(linkTokenOf(`#session_token=${TOKEN}`)).toBe(TOKEN);
    expect(linkTokenOf('#session_token=kw_cs_short')).toBeNull();
    expect(linkTokenOf('')).toBeNull();
  });
});
