import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from './support/browser.ts';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/** The server side of the SDK's result channel: outcomes by flow id, long-poll, and the callback page's postMessage. */
const APP = 'http://127.0.0.1:5999';
let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let kw: TestKeyway;

beforeAll(async () => {
  provider = await startFakeProvider();
  provider.onToken((_q, _b, res) => json(res, 200, { access_token: 'at', token_type: 'bearer' }));
  kw = await startKeyway({
    templates: { fake: { display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token` } },
    config: { ...ALLOW_PUBLIC_KEY, allowedOrigins: [APP] },
  });
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { client_id: 'a', client_secret: 'b' } }) });
});
afterAll(async () => {
  await kw?.close();
  await provider?.close();
});

const flowId = () => randomBytes(32).toString('base64url');
const poll = (id: string, wait = 0, origin = APP) =>
  fetch(`${kw.url}/oauth/flows/${id}?wait=${wait}`, { headers: { origin } }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }));
const connect = (browser: TestBrowser, id: string, extra = '') =>
  browser.request(`${kw.url}/oauth/connect/fake?connection_id=u1&public_key=${PUBLIC_KEY}&flow_id=${id}&origin=${encodeURIComponent(APP)}${extra}`);

describe('GET /oauth/flows/:flowId', () => {
  it('is pending before the flow ends, with CORS for the allowed origin only', async () => {
    const res = await poll(flowId());
    expect(res.body).toEqual({ status: 'pending' });
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('vary')).toMatch(/Origin/);
    const other = await poll(flowId(), 0, 'https://evil.example');
    expect([other.status, other.body.error.code, other.headers.get('access-control-allow-origin')]).toEqual([403, 'origin_not_allowed', null]);
  });

  it('refuses a malformed flow id and an overlong wait', async () => {
    expect((await poll('short')).body.error.code).toBe('invalid_flow_id');
    const res = await fetch(`${kw.url}/oauth/flows/${flowId()}?wait=60`);
    expect(res.status).toBe(400);
  });

  it('wakes a waiting long-poll as soon as the callback ends, and posts to the exact origin', async () => {
    const id = flowId();
    const browser = new TestBrowser();
    const hop = await connect(browser, id);
    const state = new URL(hop.headers.get('location')!).searchParams.get('state')!;
    const started = Date.now();
    const waiting = poll(id, 25);
    await new Promise((r) => setTimeout(r, 100));
    const page = await browser.request(`${kw.url}/oauth/callback?state=${state}&code=c`);
    const res = await waiting;
    expect(Date.now() - started).toBeLessThan(20_000); // woken by the callback, not by the end of its 25 s wait
    expect(res.body).toEqual({ status: 'success', providerConfigKey: 'fake', connectionId: 'u1', operation: 'creation' });
    // The page posts to the app's origin, never '*', with the flow id, and holds no token.
    expect(page.body).toContain(`"origin":"${APP}"`);
    expect(page.body).toContain(`"flowId":"${id}"`);
    expect(page.body).not.toMatch(/postMessage\([^)]*['"]\*['"]/);
    expect(page.body).not.toContain('"at"');
    const csp = page.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    // Read again later: still there (the SDK may poll after the page already posted).
    expect((await poll(id)).body.status).toBe('success');
  });

  it('records a connect-time error under the flow id', async () => {
    const id = flowId();
    const page = await new TestBrowser().request(`${kw.url}/oauth/connect/nope?connection_id=u1&public_key=${PUBLIC_KEY}&flow_id=${id}&origin=${encodeURIComponent(APP)}`);
    expect(page.status).toBe(404);
    expect(page.body).toContain('"code":"unknown_config_key"');
    expect((await poll(id)).body).toEqual({ status: 'error', error: { code: 'unknown_config_key', message: expect.any(String) } });
  });

  it('refuses a flow from a disallowed origin and posts nothing', async () => {
    const id = flowId();
    const page = await new TestBrowser().request(`${kw.url}/oauth/connect/fake?connection_id=u1&public_key=${PUBLIC_KEY}&flow_id=${id}&origin=${encodeURIComponent('https://evil.example')}`);
    expect(page.status).toBe(403);
    expect(page.body).toContain('data-error-code="origin_not_allowed"');
    expect(page.body).not.toContain('postMessage');
    expect((await poll(id)).body).toEqual({ status: 'pending' });
  });

  it('posts nothing for a flow started without an origin', async () => {
    const browser = new TestBrowser();
    const hop = await browser.request(`${kw.url}/oauth/connect/fake?connection_id=u2&public_key=${PUBLIC_KEY}`);
    const state = new URL(hop.headers.get('location')!).searchParams.get('state')!;
    const page = await browser.request(`${kw.url}/oauth/callback?state=${state}&code=c`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<script');
  });
});
