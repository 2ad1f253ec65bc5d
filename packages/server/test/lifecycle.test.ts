import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nango as KeywayNode } from '@keyway/node';
import { TestBrowser } from './support/browser.ts';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, sessionToken, startKeyway, type TestKeyway, oauth2 } from './support/keyway.ts';
import { SANDBOX_CLIENT, startSandboxStack } from './support/sandbox-stack.ts';

/** The token lifecycle: refresh under load with rotating tokens, refusals, back-off, exhaustion, transient failures. */
async function connectSandbox(url: string, connectionId: string) {
  const browser = new TestBrowser();
  const consent = await browser.follow(`${url}/oauth/connect/sandbox?connect_session_token=${await sessionToken(url, connectionId)}`);
  const done = await browser.submit(consent, 'approve');
  expect(done.status).toBe(200);
}

describe('with the sandbox issuing hour-long tokens and rotating refresh tokens', () => {
  let stack: Awaited<ReturnType<typeof startSandboxStack>>;
  let client: KeywayNode;
  beforeAll(async () => {
    // Tokens outlive the test: expiry is made by writing it into the store, never by waiting for a clock.
    stack = await startSandboxStack();
    client = new KeywayNode({ host: stack.kw.url, secretKey: SECRET_KEY });
    await client.createIntegration({ unique_key: 'sandbox', provider: 'keyway-sandbox', credentials: { type: 'OAUTH2', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret } });
  });
  afterAll(() => stack?.close());

  it('100 concurrent getToken calls on an expired connection cause one refresh and get one new token', async () => {
    await connectSandbox(stack.kw.url, 'load');
    const { connection: before } = await stack.kw.keyway.store.writeConnection('sandbox', 'load', (cur) => ({
      ...cur!,
      credentials: { ...cur!.credentials, expires_at: new Date(Date.now() - 1000).toISOString() }, // expired for Keyway (still valid at the provider)
    }));
    const refreshesBefore = stack.sandbox.tokenGrants.refresh_token;
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken('sandbox', 'load')));
    expect(stack.sandbox.tokenGrants.refresh_token - refreshesBefore).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(oauth2(before!).access_token);
    expect((await fetch(stack.sandbox.userinfoUrl, { headers: { authorization: `Bearer ${tokens[0] as string}` } })).status).toBe(200);
    // The rotated refresh token was kept: the next refresh works.
    const next = await client.getToken('sandbox', 'load', true);
    expect(next).not.toBe(tokens[0]);
    expect(stack.sandbox.tokenGrants.refresh_token - refreshesBefore).toBe(2);
  });

  it('a revoked refresh token gives refresh_failed (invalid_grant), then refresh_backoff, and leaves the credentials as they were', async () => {
    await connectSandbox(stack.kw.url, 'revoked');
    const stored = (await stack.kw.keyway.store.getConnection('sandbox', 'revoked'))!;
    const revoke = await fetch(stack.sandbox.revocationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: oauth2(stored).refresh_token!, token_type_hint: 'refresh_token', client_id: SANDBOX_CLIENT.clientId, client_secret: SANDBOX_CLIENT.clientSecret }),
    });
    expect(revoke.status).toBe(200);

    await expect(client.getToken('sandbox', 'revoked', true)).rejects.toMatchObject({ status: 400, code: 'refresh_failed', payload: { error: { provider_error: 'invalid_grant' } } });
    await expect(client.getToken('sandbox', 'revoked', true)).rejects.toMatchObject({ status: 424, code: 'refresh_backoff' });
    const after = (await stack.kw.keyway.store.getConnection('sandbox', 'revoked'))!;
    expect(after.credentials).toEqual(stored.credentials);
    expect(after.last_refresh_failure).toMatchObject({ code: 'invalid_grant', days: [new Date().toISOString().slice(0, 10)] });
    // While the old access token is valid, a plain read still serves it.
    expect(await client.getToken('sandbox', 'revoked')).toBe(oauth2(stored).access_token);
    const summary = (await client.listConnections({ connectionId: 'revoked' })).connections[0]!;
    expect(summary.errors).toEqual([{ type: 'auth', log_id: '' }]);
  });

  it('marks a connection exhausted after refusals on several days, and a new connect flow clears it', async () => {
    await connectSandbox(stack.kw.url, 'tired');
    const store = stack.kw.keyway.store;
    const c = (await store.getConnection('sandbox', 'tired'))!;
    // Three earlier days of refusals, the last back-off long over; today's refusal makes four.
    await store.writeConnection('sandbox', 'tired', (cur) => ({
      ...cur!,
      credentials: { ...cur!.credentials, refresh_token: 'no-longer-valid', expires_at: new Date(Date.now() - 1000).toISOString() },
      last_refresh_failure: { at: '2026-11-20T00:00:00Z', code: 'invalid_grant', backoff_until: '2026-11-20T00:00:30Z', days: ['2026-11-18', '2026-11-19', '2026-11-20'] },
    }));
    await expect(client.getToken('sandbox', 'tired')).rejects.toMatchObject({ code: 'refresh_failed' });
    await store.writeConnection('sandbox', 'tired', (cur) => ({ ...cur!, last_refresh_failure: { ...cur!.last_refresh_failure!, backoff_until: new Date(Date.now() - 1).toISOString() } }));
    await expect(client.getToken('sandbox', 'tired')).rejects.toMatchObject({ status: 424, code: 'refresh_exhausted' });
    expect(c.id).toBeDefined();
    await connectSandbox(stack.kw.url, 'tired');
    expect((await store.getConnection('sandbox', 'tired'))!.last_refresh_failure).toBeNull();
    expect(await client.getToken('sandbox', 'tired')).toEqual(expect.any(String));
  });

  it('the background job refreshes connections whose credentials have aged', async () => {
    await connectSandbox(stack.kw.url, 'idle');
    const before = (await stack.kw.keyway.store.getConnection('sandbox', 'idle'))!;
    // Make this connection's credentials look a week old.
    await stack.kw.keyway.store.writeConnection('sandbox', 'idle', (cur) => ({ ...cur!, credentials: { ...cur!.credentials, obtained_at: new Date(Date.now() - 8 * 86_400_000).toISOString() } }));
    const result = await stack.kw.keyway.backgroundRefresh.runOnce();
    expect(result.refreshed).toBeGreaterThanOrEqual(1);
    const after = (await stack.kw.keyway.store.getConnection('sandbox', 'idle'))!;
    expect(oauth2(after).refresh_token).not.toBe(oauth2(before).refresh_token);
    expect(Date.now() - Date.parse(oauth2(after).obtained_at!)).toBeLessThan(60_000);
  });
});

describe('against a token endpoint that fails on demand', () => {
  let provider: Awaited<ReturnType<typeof startFakeProvider>>;
  let kw: TestKeyway;
  let client: KeywayNode;
  const template = (extra: Record<string, unknown> = {}) => ({ display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token`, ...extra });

  beforeAll(async () => {
    provider = await startFakeProvider();
    kw = await startKeyway({ templates: { fake: template(), lifetime: template({ default_expires_in: 3600, token_expiration_buffer: 60 }) }, config: { ...ALLOW_PUBLIC_KEY, providerTimeoutMs: 400 } });
    client = new KeywayNode({ host: kw.url, secretKey: SECRET_KEY });
    for (const key of ['fake', 'lifetime']) await client.createIntegration({ unique_key: key, provider: key, credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret' } });
  });
  afterAll(async () => {
    await kw?.close();
    await provider?.close();
  });

  let n = 0;
  async function connect(key: string, tokenResponse: Record<string, unknown>): Promise<string> {
    const id = `c${++n}`;
    provider.onToken((_q, _b, res) => json(res, 200, tokenResponse));
    const browser = new TestBrowser();
    const hop = await browser.request(`${kw.url}/oauth/connect/${key}?connection_id=${id}&public_key=${PUBLIC_KEY}`);
    const state = new URL(hop.headers.get('location')!).searchParams.get('state')!;
    expect((await browser.request(`${kw.url}/oauth/callback?state=${state}&code=c`)).status).toBe(200);
    return id;
  }

  it('retries once after a 500 and returns the new token', async () => {
    const id = await connect('fake', { access_token: 'old', refresh_token: 'r1', expires_in: 3600 });
    let calls = 0;
    provider.onToken((_q, body, res) => {
      calls++;
      if (calls === 1) res.writeHead(500).end('oops');
      else json(res, 200, { access_token: 'new', refresh_token: 'r2', expires_in: 3600, grant: body.get('grant_type') });
    });
    expect(await client.getToken('fake', id, true)).toBe('new');
    expect(calls).toBe(2);
  });

  it('returns the old token when the provider keeps failing but the old one is still valid', async () => {
    const id = await connect('fake', { access_token: 'still-good', refresh_token: 'r1', expires_in: 3600 });
    provider.onToken((_q, _b, res) => res.writeHead(503).end());
    expect(await client.getToken('fake', id, true)).toBe('still-good');
  });

  it('gives a time-out error, not a hang, when the token endpoint never answers', async () => {
    const id = await connect('fake', { access_token: 'short', refresh_token: 'r1', expires_in: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    provider.onToken(() => undefined);
    // The endpoint never answers: only our own time-out can end this call (else the test's time-out would).
    await expect(client.getToken('fake', id)).rejects.toMatchObject({ status: 504, code: 'provider_timeout' });
  });

  it('never refreshes a token without expiry unless forced; a template may give a default lifetime', async () => {
    const forever = await connect('fake', { access_token: 'forever', refresh_token: 'r1' });
    let calls = 0;
    provider.onToken((_q, _b, res) => {
      calls++;
      json(res, 200, { access_token: 'forced', expires_in: 3600 });
    });
    expect(await client.getToken('fake', forever)).toBe('forever');
    expect(calls).toBe(0);
    expect(await client.getToken('fake', forever, true)).toBe('forced');
    const conn = await client.getConnection('fake', forever, false, true);
    expect((conn.credentials as { refresh_token?: string }).refresh_token).toBe('r1'); // kept: the response had none

    const withDefault = await connect('lifetime', { access_token: 'lt' });
    const expiresAt = Date.parse((await client.getConnection('lifetime', withDefault)).credentials.expires_at as string);
    expect(expiresAt - Date.now()).toBeGreaterThan(3500_000);
  });
});
