import { describe, expect, it, vi } from 'vitest';
import Nango from '../src/index.ts';
import { HOST, flowIdOf, tick, track, useFakes } from './fakes.ts';

const SUCCESS = { providerConfigKey: 'github', connectionId: 'conn-1' };

describe('the flow lifecycle', () => {
  const fakes = useFakes();
  const nango = () => new Nango({ host: HOST, publicKey: 'pk' });
  const start = (opts: Parameters<Nango['auth']>[2] = {}) => {
    const t = track(nango().auth('github', 'conn-1', opts));
    const opened = fakes().opened.at(-1)!;
    return { t, popup: opened.popup, flowId: flowIdOf(opened) };
  };
  const checks = () => fakes().calls.filter((c) => c.url.endsWith('?wait=0'));

  describe('detectClosedAuthWindow', () => {
    it('rejects window_closed only when the server says the flow is still pending', async () => {
      const { t, popup, flowId } = start({ detectClosedAuthWindow: true });
      await tick(1500);
      expect(checks()).toHaveLength(0);
      popup.closed = true;
      await tick(500);
      expect(checks()).toHaveLength(1);
      expect(checks()[0]!.url).toBe(`${HOST}/oauth/flows/${flowId}?wait=0`);
      expect(t.state).toBe('pending');
      await tick(2000);
      expect(checks()).toHaveLength(1); // asked once
      checks()[0]!.respond(200, { status: 'pending' });
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'window_closed' } });
      expect(fakes().calls[0]!.init.signal!.aborted).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('resolves a flow that completed although the window is closed', async () => {
      const { t, popup } = start({ detectClosedAuthWindow: true });
      popup.closed = true;
      await tick(500);
      checks()[0]!.respond(200, { status: 'success', ...SUCCESS });
      await tick();
      expect(t).toMatchObject({ state: 'resolved', value: SUCCESS });
    });

    it('passes a completed flow error through although the window is closed', async () => {
      const { t, popup } = start({ detectClosedAuthWindow: true });
      popup.closed = true;
      await tick(500);
      checks()[0]!.respond(200, { status: 'error', error: { code: 'token_err', message: 'nope' } });
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'token_err', message: 'nope' } });
    });

    it('rejects window_closed when the check cannot reach the server', async () => {
      const { t, popup } = start({ detectClosedAuthWindow: true });
      popup.closed = true;
      await tick(500);
      checks()[0]!.fail();
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'window_closed' } });
    });

    it('is off by default: a closed (or COOP-hidden) popup changes nothing and the poll still answers', async () => {
      const { t, popup } = start();
      popup.closed = true;
      await tick(5000);
      expect(checks()).toHaveLength(0);
      expect(t.state).toBe('pending');
      fakes().calls[0]!.respond(200, { status: 'success', ...SUCCESS });
      await tick();
      expect(t.state).toBe('resolved');
    });
  });

  describe('abort', () => {
    it('rejects aborted and closes the popup when the signal aborts later', async () => {
      const ac = new AbortController();
      const { t, popup } = start({ signal: ac.signal });
      await tick(1000);
      ac.abort();
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'aborted' } });
      expect(popup.close).toHaveBeenCalled();
      expect(fakes().calls[0]!.init.signal!.aborted).toBe(true);
      expect(fakes().listeners.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('rejects aborted at once for an already aborted signal, opening no popup', async () => {
      const err = await nango()
        .auth('github', { signal: AbortSignal.abort() })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'aborted' });
      expect(fakes().opened).toHaveLength(0);
      expect(fakes().calls).toHaveLength(0);
    });

    it('does nothing once settled', async () => {
      const ac = new AbortController();
      const { t, popup } = start({ signal: ac.signal });
      fakes().calls[0]!.respond(200, { status: 'error', error: { code: 'access_denied', message: 'no' } });
      await tick();
      ac.abort();
      await tick();
      expect(t.error!.type).toBe('access_denied');
      expect(popup.close).not.toHaveBeenCalled();
    });
  });

  describe('timeout', () => {
    it('rejects timeout after 10 minutes by default and closes the popup', async () => {
      const { t, popup } = start();
      await tick(599_999);
      expect(t.state).toBe('pending');
      await tick(1);
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'timeout' } });
      expect(popup.close).toHaveBeenCalled();
      expect(fakes().calls[0]!.init.signal!.aborted).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('uses timeoutMs', async () => {
      const { t } = start({ timeoutMs: 2000 });
      await tick(1999);
      expect(t.state).toBe('pending');
      await tick(1);
      expect(t.error!.type).toBe('timeout');
    });

    it('waits forever with timeoutMs: Infinity', async () => {
      const { t } = start({ timeoutMs: Infinity });
      await tick(3_600_000);
      expect(t.state).toBe('pending');
    });
  });

  it('runs two flows at once, each with its own flow id, popup, listener and poll', async () => {
    const n = nango();
    const a = track(n.auth('github', 'a'));
    const b = track(n.auth('slack', 'b'));
    const [oa, ob] = fakes().opened;
    const [fa, fb] = [flowIdOf(oa!), flowIdOf(ob!)];
    expect(fa).not.toBe(fb);
    expect(oa!.name).not.toBe(ob!.name);
    expect(fakes().listeners.size).toBe(2);
    expect(fakes().calls.map((c) => c.url)).toEqual([`${HOST}/oauth/flows/${fa}?wait=25`, `${HOST}/oauth/flows/${fb}?wait=25`]);

    // Flow A's message sent from popup B is ignored, and flow B's message from popup B settles B only.
    fakes().post({ source: 'keyway', flowId: fa, ok: true, providerConfigKey: 'github', connectionId: 'a' }, HOST, ob!.popup);
    fakes().post({ source: 'keyway', flowId: fb, ok: true, providerConfigKey: 'slack', connectionId: 'b' }, HOST, ob!.popup);
    await tick();
    expect(a.state).toBe('pending');
    expect(b).toMatchObject({ state: 'resolved', value: { providerConfigKey: 'slack', connectionId: 'b' } });
    expect(ob!.popup.close).toHaveBeenCalled();
    expect(oa!.popup.close).not.toHaveBeenCalled();
    expect(fakes().listeners.size).toBe(1);
    expect(fakes().calls[0]!.init.signal!.aborted).toBe(false);

    fakes().calls[0]!.respond(200, { status: 'success', providerConfigKey: 'github', connectionId: 'a' });
    await tick();
    expect(a).toMatchObject({ state: 'resolved', value: { providerConfigKey: 'github', connectionId: 'a' } });
    expect(fakes().listeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('reconnect()', () => {
  const fakes = useFakes();

  it('runs auth() with the reconnect session token, as @nangohq/frontend does', async () => {
    const t = track(new Nango({ host: HOST, connectSessionToken: 'kw_cs_reconnect' }).reconnect('github'));
    const opened = fakes().opened.at(-1)!;
    const url = new URL(opened.url);
    expect(url.pathname).toBe('/oauth/connect/github');
    expect(url.searchParams.get('connect_session_token')).toBe('kw_cs_reconnect');
    expect(t.state).toBe('pending');
  });

  it('is auth() with the public key too (the server, not the SDK, refuses to replace a connection with it)', () => {
    track(new Nango({ host: HOST, publicKey: 'pk' }).reconnect('github'));
    expect(new URL(fakes().opened.at(-1)!.url).searchParams.get('public_key')).toBe('pk');
  });
});
