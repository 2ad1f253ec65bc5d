import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, reconnectToken, startKeyway, type TestKeyway } from './support/keyway.ts';
import { readDb } from './support/json-db.ts';
import { oauthTemplate, providerTemplate, tenantTemplate } from './support/templates.ts';

/** The connect flow's failure paths, against a provider whose token endpoint misbehaves on demand. */
let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let kw: TestKeyway;

beforeAll(async () => {
  provider = await startFakeProvider();
  kw = await startKeyway({
    templates: {
      fake: providerTemplate(provider.url, {
        issuer: provider.url,
        scope_separator: ',',
        default_scopes: ['a', 'b'],
        token_response_metadata: ['team.id'],
        redirect_uri_metadata: ['realmId'],
      }),
      selfhosted: oauthTemplate('Self-hosted', {
        authorization_url: 'https://${connectionConfig.host}/oauth/authorize',
        token_url: 'https://${connectionConfig.host}/oauth/token',
        connection_config: { host: { title: 'Host', pattern: '[a-z0-9.-]{1,253}', example: 'git.example.com' } },
      }),
      tenant: tenantTemplate(),
    },
    config: { ...ALLOW_PUBLIC_KEY, providerTimeoutMs: 500 },
  });
  expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 's+cr%t:x' } }) })).status).toBe(200);
  expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'selfhosted', provider: 'selfhosted', credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'sec' }, allowed_hosts: ['git.example.com'] }) })).status).toBe(200);
  expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'tenant', provider: 'tenant', credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'sec' } }) })).status).toBe(200);
});
afterAll(async () => {
  await kw?.close();
  await provider?.close();
});

/** The durable part of the DB file (integrations and connections; flows come and go). */
const dbText = async () => {
  const { integrations, connections } = await readDb(kw.config.dbPath);
  return JSON.stringify({ integrations, connections });
};

/** Starts a flow; returns the browser (holding the binding cookie) and the provider URL it was sent to. */
async function start(connectionId = 'user-1', extra = '') {
  const browser = new TestBrowser();
  const hop = await browser.request(`${kw.url}/oauth/connect/fake?connection_id=${connectionId}&public_key=${PUBLIC_KEY}${extra}`);
  expect(hop.status).toBe(302);
  const authorize = new URL(hop.headers.get('location')!);
  return { browser, authorize, state: authorize.searchParams.get('state')! };
}

const callback = (browser: TestBrowser, params: Record<string, string>) =>
  browser.request(`${kw.url}/oauth/callback?${new URLSearchParams(params)}`, { headers: { accept: 'application/json' } });

describe('the authorization request', () => {
  it('carries state, PKCE S256, the exact redirect URI, the template scopes and params', async () => {
    const { authorize, state } = await start('u', '&authorization_params[login_hint]=x%40y.z&authorization_params[state]=evil&user_scope=c,d');
    expect(authorize.origin + authorize.pathname).toBe(`${provider.url}/authorize`);
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${kw.url}/oauth/callback`);
    expect(authorize.searchParams.get('scope')).toBe('a,b');
    expect(authorize.searchParams.get('user_scope')).toBe('c,d');
    expect(authorize.searchParams.get('login_hint')).toBe('x@y.z');
    expect(authorize.searchParams.getAll('state')).toEqual([state]); // a caller cannot override OAuth's own params
  });
});

describe('bad input at /oauth/connect', () => {
  const cases: [string, string, number, string][] = [
    ['unknown config key', '/oauth/connect/nope?connection_id=u&public_key=' + PUBLIC_KEY, 404, 'unknown_config_key'],
    ['missing public key', '/oauth/connect/fake?connection_id=u', 401, 'missing_public_key'],
    ['wrong public key', '/oauth/connect/fake?connection_id=u&public_key=wrong', 401, 'invalid_public_key'],
    ['secret key as public key', '/oauth/connect/fake?connection_id=u&public_key=test-secret-key-0123456789', 401, 'invalid_public_key'],
    ['empty connection id', `/oauth/connect/fake?connection_id=&public_key=${PUBLIC_KEY}`, 400, 'missing_connection_id'],
    ['__proto__', `/oauth/connect/fake?connection_id=__proto__&public_key=${PUBLIC_KEY}`, 400, 'invalid_connection_id'],
    ['constructor', `/oauth/connect/fake?connection_id=constructor&public_key=${PUBLIC_KEY}`, 400, 'invalid_connection_id'],
    ['10,000 characters', `/oauth/connect/fake?connection_id=${'x'.repeat(10_000)}&public_key=${PUBLIC_KEY}`, 400, 'invalid_connection_id'],
    ['missing subdomain', `/oauth/connect/tenant?connection_id=u&public_key=${PUBLIC_KEY}`, 400, 'invalid_connection_config'],
    ['subdomain that changes the host', `/oauth/connect/tenant?connection_id=u&public_key=${PUBLIC_KEY}&params[subdomain]=evil.com%2F`, 400, 'invalid_connection_config'],
    ['undeclared connection config', `/oauth/connect/tenant?connection_id=u&public_key=${PUBLIC_KEY}&params[subdomain]=acme&params[host]=x`, 400, 'invalid_connection_config'],
  ];
  it.each(cases)('%s', async (_name, path, status, code) => {
    const before = await dbText();
    const res = await fetch(kw.url + path, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toBe(code);
    expect(await dbText()).toBe(before);
  });

  it('answers a browser with an HTML error page under a strict CSP', async () => {
    const res = await fetch(`${kw.url}/oauth/connect/nope?connection_id=u&public_key=${PUBLIC_KEY}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toContain('data-error-code="unknown_config_key"');
  });

  it.each(['127.0.0.1', 'localhost', '10.0.0.1', '169.254.169.254', 'intranet'])('refuses a host input of %s (SSRF)', async (host) => {
    const res = await fetch(`${kw.url}/oauth/connect/selfhosted?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=${host}`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([400, 'invalid_connection_config']);
  });

  it('accepts a public host input', async () => {
    const res = await fetch(`${kw.url}/oauth/connect/selfhosted?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=git.example.com`, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).origin).toBe('https://git.example.com');
  });

  it('builds tenant URLs from a valid subdomain', async () => {
    const res = await fetch(`${kw.url}/oauth/connect/tenant?connection_id=u&public_key=${PUBLIC_KEY}&params[subdomain]=acme`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).origin).toBe('https://acme.example.com');
  });
});

describe('bad input at /oauth/callback', () => {
  beforeEach(() => {
    provider.onToken((_req, _body, res) => json(res, 200, { access_token: 'at-1', token_type: 'bearer' }));
  });

  it('refuses a forged state', async () => {
    const { browser } = await start();
    const res = await callback(browser, { state: 'forged', code: 'c' });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'state_err']);
  });

  it('refuses a missing state', async () => {
    const res = await callback(new TestBrowser(), { code: 'c' });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'state_err']);
  });

  it('refuses a replayed state: the first callback wins, the second stores nothing', async () => {
    const { browser, state } = await start('replay');
    expect((await callback(browser, { state, code: 'c' })).status).toBe(200);
    const before = await dbText();
    const again = await callback(browser, { state, code: 'c' });
    expect([again.status, JSON.parse(again.body).error.code]).toEqual([400, 'state_err']);
    expect(await dbText()).toBe(before);
  });

  it('refuses an expired state', async () => {
    const short = await startKeyway({ templates: { fake: { display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token` } }, config: { ...ALLOW_PUBLIC_KEY, flowTtlMs: 50 } });
    try {
      await short.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { client_id: 'a', client_secret: 'b' } }) });
      const browser = new TestBrowser();
      const hop = await browser.request(`${short.url}/oauth/connect/fake?connection_id=u&public_key=${PUBLIC_KEY}`);
      const state = new URL(hop.headers.get('location')!).searchParams.get('state')!;
      await new Promise((r) => setTimeout(r, 100));
      const res = await browser.request(`${short.url}/oauth/callback?state=${state}&code=c`, { headers: { accept: 'application/json' } });
      expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'state_err']);
      expect((await short.api('/connections')).body.connections).toEqual([]);
    } finally {
      await short.close();
    }
  });

  it('refuses a callback from another browser (binding cookie)', async () => {
    const { state } = await start('other-browser');
    const res = await callback(new TestBrowser(), { state, code: 'c' });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'state_err']);
    expect(provider.requests.some((r) => r.body.get('code') === 'c' && r.body.get('client_id') === null)).toBe(false);
  });

  it('refuses a mismatched issuer before any token request', async () => {
    const { browser, state } = await start('mixup');
    const count = provider.requests.length;
    const res = await callback(browser, { state, code: 'c', iss: 'https://evil.example' });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'issuer_mismatch']);
    expect(provider.requests.length).toBe(count);
  });

  it('passes on access_denied and stores nothing', async () => {
    const { browser, state } = await start('denied');
    const before = await dbText();
    const res = await callback(browser, { state, error: 'access_denied', error_description: 'User said no' });
    const body = JSON.parse(res.body);
    expect([res.status, body.error.code, body.error.provider_error_description]).toEqual([400, 'access_denied', 'User said no']);
    expect(await dbText()).toBe(before);
  });

  it('refuses a callback without a code', async () => {
    const { browser, state } = await start('nocode');
    const res = await callback(browser, { state });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([400, 'missing_code']);
  });

  const providerFailures: [string, Parameters<typeof provider.onToken>[0], number, string, RegExp][] = [
    ['answers 500', (_q, _b, res) => res.writeHead(500).end('boom'), 502, 'token_err', /500/],
    ['answers HTML', (_q, _b, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>'), 502, 'token_err', /not JSON/],
    ['answers an OAuth error', (_q, _b, res) => json(res, 400, { error: 'invalid_grant', error_description: 'bad code' }), 502, 'token_err', /invalid_grant/],
    ['answers 200 with an error field', (_q, _b, res) => json(res, 200, { error: 'bad_verification_code' }), 502, 'token_err', /bad_verification_code/],
    ['answers 200 without an access token', (_q, _b, res) => json(res, 200, { token_type: 'bearer' }), 502, 'token_err', /no access token/],
    ['never answers', () => undefined, 504, 'provider_timeout', /timed out/],
  ];
  it.each(providerFailures)('reports a token endpoint that %s, and stores nothing', async (_name, handler, status, code, message) => {
    provider.onToken(handler);
    const { browser, state } = await start('provider-fails');
    const before = await dbText();
    const res = await callback(browser, { state, code: 'c' }); // "never answers" ends only by our own time-out
    const body = JSON.parse(res.body);
    expect([res.status, body.error.code]).toEqual([status, code]);
    expect(body.error.message).toMatch(message);
    expect(await dbText()).toBe(before);
  });

  it('sends the client secret in the body when the template says so, with the verifier', async () => {
    const { browser, state } = await start('body-auth');
    await callback(browser, { state, code: 'the-code', realmId: '42' });
    const req = provider.requests.at(-1)!;
    expect(req.headers.authorization).toBeUndefined();
    expect(req.body.get('client_id')).toBe('cid');
    expect(req.body.get('client_secret')).toBe('s+cr%t:x');
    expect(req.body.get('code')).toBe('the-code');
    expect(req.body.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(req.body.get('redirect_uri')).toBe(`${kw.url}/oauth/callback`);
  });

  it('keeps token-response and callback metadata, and says created then overridden', async () => {
    provider.onToken((_q, _b, res) => json(res, 200, { access_token: 'at-meta', token_type: 'bearer', team: { id: 'T1' }, expires_in: 3600 }));
    for (const title of ['Connected', 'Reconnected']) {
      // Replacing credentials needs a reconnect session; the public key only creates.
      const { browser, state } = await start('meta', title === 'Reconnected' ? `&connect_session_token=${await reconnectToken(kw.url, 'fake', 'meta')}` : '');
      const res = await callback(browser, { state, code: 'c', realmId: '42' });
      expect(res.status).toBe(200);
      expect(res.body).toContain(`<h1>${title}</h1>`); // the first flow creates, the second overrides
    }
    const conn = (await kw.api('/connections/meta?provider_config_key=fake')).body;
    expect(conn.connection_config).toEqual({ 'team.id': 'T1', realmId: '42' });
    expect(conn.credentials.access_token).toBe('at-meta');
  });
});
