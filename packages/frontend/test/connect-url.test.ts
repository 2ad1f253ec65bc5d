import { describe, expect, it } from 'vitest';
import Nango, { AuthError, Nango as NamedNango } from '../src/index.ts';
import { APP_ORIGIN, HOST, flowIdOf, track, useFakes } from './fakes.ts';

describe('opening the popup', () => {
  const fakes = useFakes();

  it('exports the class as default and as Nango', () => {
    expect(Nango).toBe(NamedNango);
    expect(new AuthError('m', 'timeout')).toBeInstanceOf(Error);
  });

  it('builds the connect URL with every part encoded', () => {
    const nango = new Nango({ host: `${HOST}/base//`, publicKey: 'pk_1/+' });
    track(
      nango.auth('git hub/x', 'conn 1&a=b', {
        params: { subdomain: 'acme&x=1', 'we ird]': 'v' },
        authorization_params: { prompt: 'consent', access_type: undefined },
        user_scope: ['repo', 'read:org'],
      }),
    );
    const { url } = fakes().opened[0]!;
    const flowId = flowIdOf(fakes().opened[0]!);
    expect(flowId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(
      `${HOST}/base/oauth/connect/git%20hub%2Fx?connection_id=conn%201%26a%3Db&public_key=pk_1%2F%2B&flow_id=${flowId}` +
        `&origin=${encodeURIComponent(APP_ORIGIN)}&params[subdomain]=acme%26x%3D1&params[we%20ird%5D]=v` +
        `&authorization_params[prompt]=consent&authorization_params[access_type]=undefined&user_scope=repo,read%3Aorg`,
    );
    const q = new URL(url).searchParams;
    expect(q.get('connection_id')).toBe('conn 1&a=b');
    expect(q.get('params[subdomain]')).toBe('acme&x=1');
    expect(q.get('user_scope')).toBe('repo,read:org');
    expect(q.get('origin')).toBe(APP_ORIGIN);
  });

  it('sends the connect session token instead of the public key, and omits empty parts', () => {
    const nango = new Nango({ host: HOST, publicKey: 'pk', connectSessionToken: 'nango_connect_session_abc' });
    track(nango.auth('github', { user_scope: [], params: {}, authorization_params: {} }));
    const { url } = fakes().opened[0]!;
    expect(url).toBe(
      `${HOST}/oauth/connect/github?connect_session_token=nango_connect_session_abc&flow_id=${flowIdOf(fakes().opened[0]!)}` +
        `&origin=${encodeURIComponent(APP_ORIGIN)}`,
    );
  });

  it('takes the options as the second argument when there is no connection id (as Nango)', () => {
    track(new Nango({ host: HOST, publicKey: 'pk' }).auth('github', { params: { a: 'b' } }));
    const q = new URL(fakes().opened[0]!.url).searchParams;
    expect(q.has('connection_id')).toBe(false);
    expect(q.get('params[a]')).toBe('b');
  });

  it('opens a named popup centred on the current window, with the default size', () => {
    const nango = new Nango({ host: HOST, publicKey: 'pk' });
    track(nango.auth('github'));
    track(nango.auth('github'));
    const [a, b] = fakes().opened;
    // window at (100, 50), 1300 x 900: (100 + (1300 - 500) / 2, 50 + (900 - 600) / 2)
    expect(a!.features).toBe('popup,width=500,height=600,left=500,top=200');
    expect(a!.name).toMatch(/^keyway[a-z0-9]+$/);
    expect(a!.name).not.toBe(b!.name);
    expect(a!.name).not.toContain(flowIdOf(a!));
    expect(flowIdOf(a!)).not.toBe(flowIdOf(b!));
  });

  it('uses the width and height given', () => {
    track(new Nango({ host: HOST, publicKey: 'pk', width: 800, height: 700 }).auth('github'));
    expect(fakes().opened[0]!.features).toBe('popup,width=800,height=700,left=350,top=150');
  });

  it('defaults the host to http://127.0.0.1:3003', () => {
    track(new Nango({ publicKey: 'pk' }).auth('github'));
    expect(fakes().opened[0]!.url.startsWith('http://127.0.0.1:3003/oauth/connect/github?')).toBe(true);
  });

  it('rejects blocked_by_browser when window.open returns null, and starts nothing', async () => {
    fakes().blockPopups = true;
    const err = await new Nango({ host: HOST, publicKey: 'pk' }).auth('github').catch((e: AuthError) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ type: 'blocked_by_browser' });
    expect(fakes().calls).toHaveLength(0);
    expect(fakes().listeners.size).toBe(0);
  });

  it('rejects (does not throw) missing_auth_token without a public key or session token, opening nothing', async () => {
    const nango = new Nango({ host: HOST });
    let p: Promise<unknown> | undefined;
    expect(() => (p = nango.auth('github'))).not.toThrow();
    await expect(p).rejects.toMatchObject({ type: 'missing_auth_token' });
    expect(fakes().opened).toHaveLength(0);
  });

  it.each(['not a url', 'ftp://keyway.example', 'javascript:alert(1)', 'keyway.example'])(
    'throws invalid_host_url from the constructor for %s (as Nango)',
    (host) => {
      let err: unknown;
      try {
        new Nango({ host, publicKey: 'pk' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuthError);
      expect(err).toMatchObject({ type: 'invalid_host_url' });
    },
  );
});
