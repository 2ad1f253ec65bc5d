import { describe, expect, it, vi } from 'vitest';
import Nango from '../src/index.ts';
import { HOST, flowIdOf, tick, track, useFakes } from './fakes.ts';

const SUCCESS = { providerConfigKey: 'github', connectionId: 'conn-1' };

describe('the outcome', () => {
  const fakes = useFakes();
  const start = (opts: Parameters<Nango['auth']>[2] = {}) => {
    const t = track(new Nango({ host: HOST, publicKey: 'pk' }).auth('github', 'conn-1', opts));
    const opened = fakes().opened.at(-1)!;
    return { t, popup: opened.popup, flowId: flowIdOf(opened) };
  };

  describe('by postMessage', () => {
    it('ignores forged and misdirected messages, then accepts the real one', async () => {
      const { t, popup, flowId } = start();
      const ok = { source: 'keyway', flowId, ok: true, ...SUCCESS };
      const f = fakes();
      f.post(ok, 'https://evil.example'); // wrong origin
      f.post(ok, 'http://keyway.example'); // wrong scheme
      f.post(ok, 'https://keyway.example.evil.example');
      f.post(ok, 'null');
      f.post(ok, HOST, {}); // another window
      f.post(ok, HOST, null);
      f.post({ ...ok, flowId: 'x'.repeat(43) }); // another flow
      f.post({ ...ok, source: 'nango' });
      f.post({ ...ok, flowId: undefined });
      f.post(JSON.stringify(ok));
      f.post(null);
      f.post({ type: 'authorization_response', code: 'abc' }); // a provider page talking
      await tick(100);
      expect(t.state).toBe('pending');
      expect(popup.close).not.toHaveBeenCalled();

      f.post(ok);
      await tick();
      expect(t).toMatchObject({ state: 'resolved', value: SUCCESS });
      expect(popup.close).toHaveBeenCalled();
    });

    it('cleans up on settling: listener removed, poll aborted, no timer left', async () => {
      const { t, flowId } = start({ detectClosedAuthWindow: true });
      expect(fakes().listeners.size).toBe(1);
      expect(vi.getTimerCount()).toBe(2); // the timeout and the closed-window check
      fakes().post({ source: 'keyway', flowId, ok: true, ...SUCCESS });
      await tick();
      expect(t.state).toBe('resolved');
      expect(fakes().listeners.size).toBe(0);
      expect(fakes().calls[0]!.init.signal!.aborted).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      expect(fakes().calls).toHaveLength(1);
    });

    it('rejects with the server error code and leaves the popup open', async () => {
      const { t, popup, flowId } = start();
      fakes().post({ source: 'keyway', flowId, ok: false, error: { code: 'access_denied', message: 'The user said no' } });
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: 'access_denied', message: 'The user said no' } });
      expect(popup.close).not.toHaveBeenCalled();
    });

    it('settles once: a later poll answer changes nothing', async () => {
      const { t, flowId } = start();
      fakes().post({ source: 'keyway', flowId, ok: true, ...SUCCESS });
      fakes().calls[0]!.respond(200, { status: 'error', error: { code: 'token_err', message: 'x' } });
      fakes().post({ source: 'keyway', flowId, ok: false, error: { code: 'state_err', message: 'x' } });
      await tick(10_000);
      expect(t).toMatchObject({ state: 'resolved', value: SUCCESS });
      expect(fakes().calls).toHaveLength(1);
    });
  });

  describe('by long-poll', () => {
    it('polls the flow with a simple GET from the start', () => {
      const { flowId } = start();
      expect(fakes().calls).toHaveLength(1);
      const { url, init } = fakes().calls[0]!;
      expect(url).toBe(`${HOST}/oauth/flows/${flowId}?wait=25`);
      expect(init.method).toBeUndefined();
      expect(init.headers).toBeUndefined();
      expect(init.body).toBeUndefined();
      expect(init.credentials).toBe('omit');
      expect(init.signal).toBeInstanceOf(AbortSignal);
    });

    it('resolves on success and closes the popup', async () => {
      const { t, popup } = start();
      fakes().calls[0]!.respond(200, { status: 'success', ...SUCCESS });
      await tick();
      expect(t).toMatchObject({ state: 'resolved', value: SUCCESS });
      expect(popup.close).toHaveBeenCalled();
      expect(fakes().listeners.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('polls again at once after a held "pending", and at most once a second when answered at once', async () => {
      const { t } = start();
      const calls = fakes().calls;
      await tick(25_000);
      calls[0]!.respond(200, { status: 'pending' });
      await tick();
      expect(calls).toHaveLength(2);
      calls[1]!.respond(200, { status: 'pending' });
      await tick(999);
      expect(calls).toHaveLength(2);
      await tick(1);
      expect(calls).toHaveLength(3);
      calls[2]!.respond(200, { status: 'success', ...SUCCESS });
      await tick();
      expect(t.state).toBe('resolved');
    });

    it.each([
      ['access_denied', 'The user denied access'],
      ['state_err', 'Invalid state'],
      ['token_err', 'The provider refused the code'],
      ['unknown_config_key', 'No integration github'],
      ['invalid_connection_id', 'Bad connection id'],
    ])('passes the server error %s through as the type, popup left open', async (code, message) => {
      const { t, popup } = start();
      fakes().calls[0]!.respond(200, { status: 'error', error: { code, message } });
      await tick();
      expect(t).toMatchObject({ state: 'rejected', error: { type: code, message } });
      expect(popup.close).not.toHaveBeenCalled();
      expect(vi.getTimerCount()).toBe(0);
    });

    it('retries failed polls after 0.5, 1, 2 and 4 s, then rejects unknown_error on the fifth failure', async () => {
      const { t, popup } = start();
      const calls = fakes().calls;
      calls[0]!.fail(); // network error (what a CORS refusal looks like)
      await tick(499);
      expect(calls).toHaveLength(1);
      await tick(1);
      expect(calls).toHaveLength(2);
      calls[1]!.respond(500, { error: { code: 'server_error', message: 'boom' } });
      await tick(999);
      expect(calls).toHaveLength(2);
      await tick(1);
      expect(calls).toHaveLength(3);
      calls[2]!.respond(200, '{not json');
      await tick(1999);
      expect(calls).toHaveLength(3);
      await tick(1);
      expect(calls).toHaveLength(4);
      calls[3]!.respond(200, { status: 'weird' });
      await tick(3999);
      expect(calls).toHaveLength(4);
      await tick(1);
      expect(calls).toHaveLength(5);
      expect(t.state).toBe('pending');
      calls[4]!.respond(404, { error: { code: 'not_found', message: 'x' } });
      await tick();
      expect(t.state).toBe('rejected');
      expect(t.error!.type).toBe('unknown_error');
      expect(t.error!.message).toBe(
        `cannot reach the Keyway server at ${HOST} for the flow's outcome; is this page's origin in KEYWAY_ALLOWED_ORIGINS?`,
      );
      expect(popup.close).not.toHaveBeenCalled();
      expect(vi.getTimerCount()).toBe(0);
      expect(fakes().listeners.size).toBe(0);
    });

    it('counts only consecutive failures', async () => {
      const { t } = start();
      const calls = fakes().calls;
      for (let i = 0; i < 4; i++) {
        calls.at(-1)!.fail();
        await tick(10_000);
      }
      calls.at(-1)!.respond(200, { status: 'pending' });
      await tick(1000);
      for (let i = 0; i < 4; i++) {
        calls.at(-1)!.fail();
        await tick(10_000);
      }
      expect(t.state).toBe('pending');
      calls.at(-1)!.respond(200, { status: 'success', ...SUCCESS });
      await tick();
      expect(t.state).toBe('resolved');
    });
  });
});
