import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, DEMO_USER, startSandbox, type Sandbox } from '../src/index.ts';
import { HttpClient, submitForm, type FollowResult } from './http-client.ts';

const CLIENT_ID = DEFAULT_CLIENT.clientId;
const CLIENT_SECRET = DEFAULT_CLIENT.clientSecret;
// Nothing listens here: the follower stops when a redirect reaches it.
const REDIRECT_URI = 'http://127.0.0.1:3003/oauth/callback';

function basicAuth(id = CLIENT_ID, secret = CLIENT_SECRET): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationUrl(sandbox: Sandbox, params: Record<string, string>): URL {
  const url = new URL(sandbox.authorizationUrl);
  const all: Record<string, string> = {
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access',
    prompt: 'consent',
    ...params,
  };
  // An empty value means: leave the parameter out.
  url.search = new URLSearchParams(Object.entries(all).filter(([, value]) => value !== '')).toString();
  return url;
}

/** Starts an authorization request and stops at the interaction page (or at the callback). */
async function openAuthorization(client: HttpClient, sandbox: Sandbox, params: Record<string, string>): Promise<FollowResult> {
  return client.follow(authorizationUrl(sandbox, params), { stopAt: REDIRECT_URI });
}

interface Authorized {
  code: string;
  verifier: string;
  callback: URL;
}

/** The whole front channel: /auth, the page, Approve, back to the redirect_uri. */
async function authorize(sandbox: Sandbox, params: Record<string, string> = {}, client = new HttpClient()): Promise<Authorized> {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('hex');
  const page = await openAuthorization(client, sandbox, {
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  });
  let callback = page.stoppedAt;
  if (callback === undefined) {
    expect(page.response.status).toBe(200);
    const approved = await submitForm(client, page.body ?? '', page.url, 'approve', { stopAt: REDIRECT_URI });
    callback = approved.stoppedAt;
  }
  expect(callback).toBeDefined();
  const url = callback as URL;
  expect(url.searchParams.get('state')).toBe(state);
  expect(url.searchParams.get('error')).toBeNull();
  const code = url.searchParams.get('code');
  expect(code).toBeTruthy();
  return { code: code as string, verifier, callback: url };
}

async function tokenRequest(sandbox: Sandbox, params: Record<string, string>, auth = basicAuth()) {
  const response = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function exchange(sandbox: Sandbox, { code, verifier }: Authorized) {
  return tokenRequest(sandbox, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

async function userinfo(sandbox: Sandbox, accessToken: string) {
  return fetch(sandbox.userinfoUrl, { headers: { authorization: `Bearer ${accessToken}` } });
}

async function introspect(sandbox: Sandbox, token: string) {
  const response = await fetch(sandbox.introspectionUrl, {
    method: 'POST',
    headers: { authorization: basicAuth(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('@keyway/sandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('exposes its URLs on 127.0.0.1', () => {
    expect(sandbox.url).toBe(`http://127.0.0.1:${sandbox.port}`);
    expect(sandbox.authorizationUrl).toBe(`${sandbox.url}/auth`);
    expect(sandbox.tokenUrl).toBe(`${sandbox.url}/token`);
    expect(sandbox.userinfoUrl).toBe(`${sandbox.url}/me`);
    expect(sandbox.introspectionUrl).toBe(`${sandbox.url}/token/introspection`);
    expect(sandbox.clients).toEqual([{ ...DEFAULT_CLIENT }]);
  });

  it('runs the authorization code flow with PKCE S256 and prompt=consent, and /me accepts the token', async () => {
    const client = new HttpClient();
    const { verifier, challenge } = pkce();
    const page = await openAuthorization(client, sandbox, {
      state: 'state-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(page.response.status).toBe(200);
    expect(page.url.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    const html = page.body ?? '';
    expect(html).toContain('<title>Keyway Sandbox</title>');
    expect(html).toContain(CLIENT_ID);
    expect(html).toContain(DEMO_USER.name);
    expect(html).toContain(DEMO_USER.email);
    expect(html).toContain('offline_access');
    expect(html).toMatch(/id="approve"/);
    expect(html).toMatch(/id="deny"/);
    expect(html).not.toMatch(/<(?:script|link|img)\b/i);

    const approved = await submitForm(client, html, page.url, 'approve', { stopAt: REDIRECT_URI });
    const callback = approved.stoppedAt;
    expect(callback?.origin + (callback?.pathname ?? '')).toBe(REDIRECT_URI);
    expect(callback?.searchParams.get('state')).toBe('state-1');
    expect(callback?.searchParams.get('iss')).toBe(sandbox.url);
    const code = callback?.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const { status, json } = await exchange(sandbox, { code, verifier, callback: callback as URL });
    expect(status).toBe(200);
    expect(json.token_type).toBe('Bearer');
    expect(typeof json.access_token).toBe('string');
    expect(typeof json.refresh_token).toBe('string');
    expect(typeof json.id_token).toBe('string');
    expect(json.expires_in).toBe(3600);
    expect(String(json.scope).split(' ').sort()).toEqual(['offline_access', 'openid']);

    const me = await userinfo(sandbox, String(json.access_token));
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ sub: DEMO_USER.accountId });

    // The code is single-use.
    const again = await exchange(sandbox, { code, verifier, callback: callback as URL });
    expect(again.status).toBe(400);
    expect(again.json.error).toBe('invalid_grant');
  });

  it('grants profile, email and API scopes, and /me returns the demo user claims', async () => {
    const authorized = await authorize(sandbox, { scope: 'openid profile email contacts:read contacts:write' });
    const { status, json } = await exchange(sandbox, authorized);
    expect(status).toBe(200);
    expect(json.refresh_token).toBeUndefined();
    expect(String(json.scope).split(' ').sort()).toEqual(['contacts:read', 'contacts:write', 'email', 'openid', 'profile']);
    const me = await userinfo(sandbox, String(json.access_token));
    expect(await me.json()).toEqual({
      sub: 'demo-user',
      name: 'Demo User',
      email: 'demo@keyway.test',
      email_verified: true,
    });
  });

  it('rejects a wrong PKCE verifier', async () => {
    const authorized = await authorize(sandbox);
    const { status, json } = await exchange(sandbox, { ...authorized, verifier: pkce().verifier });
    expect(status).toBe(400);
    expect(json.error).toBe('invalid_grant');
  });

  it('accepts client_secret_post at the token endpoint', async () => {
    const authorized = await authorize(sandbox);
    const response = await fetch(sandbox.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: authorized.code,
        redirect_uri: REDIRECT_URI,
        code_verifier: authorized.verifier,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
      }),
    });
    expect(response.status).toBe(200);
  });

  it('drops offline_access (no refresh token) when prompt=consent is missing', async () => {
    const client = new HttpClient();
    const authorized = await authorize(sandbox, { prompt: '' }, client);
    const { json } = await exchange(sandbox, authorized);
    expect(json.scope).toBe('openid');
    expect(json.refresh_token).toBeUndefined();
  });

  it('rotates refresh tokens, and replaying a used one fails with invalid_grant', async () => {
    const tokens = await exchange(sandbox, await authorize(sandbox));
    const first = String(tokens.json.refresh_token);

    const refreshed = await tokenRequest(sandbox, { grant_type: 'refresh_token', refresh_token: first });
    expect(refreshed.status).toBe(200);
    const second = String(refreshed.json.refresh_token);
    expect(second).not.toBe(first);
    expect(refreshed.json.access_token).not.toBe(tokens.json.access_token);
    expect((await userinfo(sandbox, String(refreshed.json.access_token))).status).toBe(200);

    const replay = await tokenRequest(sandbox, { grant_type: 'refresh_token', refresh_token: first });
    expect(replay.status).toBe(400);
    expect(replay.json.error).toBe('invalid_grant');

    // oidc-provider then revokes the whole grant: the newer refresh token is dead too.
    const after = await tokenRequest(sandbox, { grant_type: 'refresh_token', refresh_token: second });
    expect(after.status).toBe(400);
    expect(after.json.error).toBe('invalid_grant');
  });

  it('sends error=access_denied and the state to the callback on Deny', async () => {
    const client = new HttpClient();
    const page = await openAuthorization(client, sandbox, { state: 'deny-state', code_challenge: pkce().challenge, code_challenge_method: 'S256' });
    expect(page.response.status).toBe(200);
    const denied = await submitForm(client, page.body ?? '', page.url, 'deny', { stopAt: REDIRECT_URI });
    const callback = denied.stoppedAt;
    expect(callback).toBeDefined();
    expect(callback?.searchParams.get('error')).toBe('access_denied');
    expect(callback?.searchParams.get('state')).toBe('deny-state');
    expect(callback?.searchParams.get('code')).toBeNull();
  });

  it.each([
    ['an unregistered URI', 'http://127.0.0.1:3003/evil'],
    ['another port', 'http://127.0.0.1:3005/oauth/callback'],
    ['a trailing slash', 'http://127.0.0.1:3003/oauth/callback/'],
    ['an extra query', 'http://127.0.0.1:3003/oauth/callback?x=1'],
  ])('refuses a wrong redirect_uri (%s) without redirecting to it', async (_label, redirectUri) => {
    const client = new HttpClient();
    const result = await client.follow(authorizationUrl(sandbox, { redirect_uri: redirectUri, state: 's' }), {
      stopAt: (url) => url.origin !== sandbox.url,
    });
    expect(result.stoppedAt).toBeUndefined();
    expect(result.hops).toHaveLength(1);
    expect(result.response.status).toBe(400);
    expect(result.response.headers.get('location')).toBeNull();
    expect(result.body).toContain('redirect_uri');
  });

  it('revokes tokens, and /me and introspection see it', async () => {
    const { json } = await exchange(sandbox, await authorize(sandbox));
    const accessToken = String(json.access_token);
    const info = await introspect(sandbox, accessToken);
    expect(info).toMatchObject({ active: true, client_id: CLIENT_ID, sub: 'demo-user', token_type: 'Bearer' });
    expect(await introspect(sandbox, String(json.refresh_token))).toMatchObject({ active: true, client_id: CLIENT_ID });

    const revoked = await fetch(sandbox.revocationUrl, {
      method: 'POST',
      headers: { authorization: basicAuth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
    });
    expect(revoked.status).toBe(200);
    expect((await userinfo(sandbox, accessToken)).status).toBe(401);
    expect(await introspect(sandbox, accessToken)).toEqual({ active: false });
  });

  it('answers 401 at /me for an unknown token', async () => {
    const me = await userinfo(sandbox, 'not-a-token');
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('sends no Cross-Origin-Opener-Policy header by default', async () => {
    const page = await openAuthorization(new HttpClient(), sandbox, { code_challenge: pkce().challenge, code_challenge_method: 'S256' });
    for (const hop of page.hops) expect(hop.headers.get('cross-origin-opener-policy')).toBeNull();
  });
});

describe('@keyway/sandbox options', () => {
  it('expires access tokens exactly (accessTokenTtlSeconds: 1), with autoApprove skipping the page', async () => {
    const sandbox = await startSandbox({ port: 0, accessTokenTtlSeconds: 1, autoApprove: true });
    try {
      const client = new HttpClient();
      const { verifier, challenge } = pkce();
      const result = await openAuthorization(client, sandbox, { state: 'auto', code_challenge: challenge, code_challenge_method: 'S256' });
      // No page: the chain went straight from /auth to the callback.
      expect(result.stoppedAt).toBeDefined();
      expect(result.hops.every((hop) => hop.status === 303)).toBe(true);
      const code = result.stoppedAt?.searchParams.get('code') ?? '';
      const { status, json } = await exchange(sandbox, { code, verifier, callback: result.stoppedAt as URL });
      expect(status).toBe(200);
      expect(json.expires_in).toBe(1);

      await new Promise((resolve) => setTimeout(resolve, 2100));
      const me = await userinfo(sandbox, String(json.access_token));
      expect(me.status).toBe(401);
      expect(me.headers.get('www-authenticate')).toMatch(/invalid_token/);
      // The refresh token still works and gives a fresh access token. Tokens issued from now on live an hour:
      // a 1-second token could expire before the check below on a busy machine (seen under pnpm test:loaded).
      sandbox.setAccessTokenTtl(3600);
      const refreshed = await tokenRequest(sandbox, { grant_type: 'refresh_token', refresh_token: String(json.refresh_token) });
      expect(refreshed.status).toBe(200);
      expect(refreshed.json.expires_in).toBe(3600);
      expect((await userinfo(sandbox, String(refreshed.json.access_token))).status).toBe(200);
    } finally {
      await sandbox.close();
    }
  });

  it('sends Cross-Origin-Opener-Policy: same-origin on the flow pages when crossOriginOpenerPolicy is true', async () => {
    const sandbox = await startSandbox({ port: 0, crossOriginOpenerPolicy: true });
    try {
      const client = new HttpClient();
      const page = await openAuthorization(client, sandbox, { state: 'coop', code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      expect(page.response.status).toBe(200);
      expect(page.hops.length).toBeGreaterThanOrEqual(2);
      for (const hop of page.hops) expect(hop.headers.get('cross-origin-opener-policy')).toBe('same-origin');

      const approved = await submitForm(client, page.body ?? '', page.url, 'approve', { stopAt: REDIRECT_URI });
      expect(approved.stoppedAt?.searchParams.get('code')).toBeTruthy();
      for (const hop of approved.hops) expect(hop.headers.get('cross-origin-opener-policy')).toBe('same-origin');

      // Not on the back-channel endpoints.
      const discovery = await fetch(`${sandbox.url}/.well-known/openid-configuration`);
      expect(discovery.headers.get('cross-origin-opener-policy')).toBeNull();
    } finally {
      await sandbox.close();
    }
  });

  it('takes its own clients, and keeps two sandboxes apart', async () => {
    const callback = 'http://localhost:4010/cb';
    const other = await startSandbox({
      port: 0,
      autoApprove: true,
      clients: [{ clientId: 'other', clientSecret: 's3cret', redirectUris: [callback], tokenEndpointAuthMethod: 'client_secret_post' }],
    });
    try {
      expect(other.clients[0]?.tokenEndpointAuthMethod).toBe('client_secret_post');
      const client = new HttpClient();
      const { verifier, challenge } = pkce();
      const url = new URL(other.authorizationUrl);
      url.search = new URLSearchParams({
        client_id: 'other', response_type: 'code', redirect_uri: callback, scope: 'openid',
        code_challenge: challenge, code_challenge_method: 'S256',
      }).toString();
      const result = await client.follow(url, { stopAt: callback });
      const code = result.stoppedAt?.searchParams.get('code') ?? '';
      const response = await fetch(other.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code', code, redirect_uri: callback, code_verifier: verifier,
          client_id: 'other', client_secret: 's3cret',
        }),
      });
      expect(response.status).toBe(200);
      // The default client does not exist on this one.
      const unknown = await client.follow(authorizationUrl(other, {}), { stopAt: REDIRECT_URI });
      expect(unknown.stoppedAt).toBeUndefined();
      expect(unknown.response.status).toBe(400);
    } finally {
      await other.close();
    }
  });

  it('refuses a host that is not loopback', async () => {
    await expect(startSandbox({ port: 0, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('closes cleanly and frees its port', async () => {
    const sandbox = await startSandbox({ port: 0 });
    const { port } = sandbox;
    await sandbox.close();
    await sandbox.close();
    await expect(fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).rejects.toThrow();
    const again = await startSandbox({ port });
    expect(again.port).toBe(port);
    await again.close();
  });
});
