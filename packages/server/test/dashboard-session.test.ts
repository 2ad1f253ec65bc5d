import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startFakeProvider } from './support/fake-provider.ts';
import { SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/** Dashboard sessions: revoked server-side at sign-out (on every instance), CSRF on every state change, Secure on https. */
interface Signed {
  readonly cookie: string;
  readonly csrf: string;
  readonly setCookie: string;
}

async function signIn(url: string): Promise<Signed> {
  const res = await fetch(`${url}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secretKey: SECRET_KEY }) });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie')!;
  const { csrf } = ((await res.json()) as { data: { csrf: string } }).data;
  return { cookie: setCookie.split(';')[0]!, csrf, setCookie };
}
const asDashboard = (url: string, s: Signed, path: string, init: { method?: string; csrf?: boolean } = {}) =>
  fetch(url + path, { method: init.method ?? 'GET', headers: { cookie: s.cookie, ...(init.csrf && { 'x-keyway-csrf': s.csrf }) } }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));

describe('sign-out', () => {
  let kw: TestKeyway;
  beforeAll(async () => {
    kw = await startKeyway();
  });
  afterAll(() => kw?.close());

  it('revokes the session server-side: a copy of the cookie kept after sign-out no longer works', async () => {
    const s = await signIn(kw.url);
    expect((await asDashboard(kw.url, s, '/integrations')).status).toBe(200);
    expect((await asDashboard(kw.url, s, '/dashboard/api/session')).status).toBe(200);

    const out = await asDashboard(kw.url, s, '/dashboard/api/session', { method: 'DELETE', csrf: true });
    expect(out.status).toBe(200);
    for (const path of ['/integrations', '/dashboard/api/session', '/dashboard/api/settings']) {
      const again = await asDashboard(kw.url, s, path);
      expect([path, again.status, again.body.error.code]).toEqual([path, 401, expect.stringMatching(/^(missing_auth_header|unknown_account)$/)]);
    }
    // Another sign-in is unaffected.
    const other = await signIn(kw.url);
    expect((await asDashboard(kw.url, other, '/integrations')).status).toBe(200);
  });

  it('needs the CSRF header (a cross-site page cannot sign the user out)', async () => {
    const s = await signIn(kw.url);
    const refused = await asDashboard(kw.url, s, '/dashboard/api/session', { method: 'DELETE' });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'csrf_failed']);
    expect((await asDashboard(kw.url, s, '/integrations')).status).toBe(200);
  });
});

describe('CSRF on state changes through the dashboard cookie', () => {
  let kw: TestKeyway;
  let provider: Awaited<ReturnType<typeof startFakeProvider>>;
  beforeAll(async () => {
    provider = await startFakeProvider();
    kw = await startKeyway({
      templates: { fake: { display_name: 'Fake', categories: ['other'], docs: 'https://example.com', auth_mode: 'OAUTH2', authorization_url: `${provider.url}/authorize`, token_url: `${provider.url}/token` } },
    });
    await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { client_id: 'id', client_secret: 'secret' } }) });
    await kw.keyway.connections.upsert({
      providerConfigKey: 'fake',
      connectionId: 'u1',
      provider: 'fake',
      credentials: { type: 'OAUTH2', access_token: 'old', refresh_token: 'r1', expires_at: new Date(Date.now() + 3_600_000).toISOString(), raw: {} },
      connectionConfig: {},
      endUser: null,
    });
    provider.onToken((_q, _b, res) => json(res, 200, { access_token: 'new', refresh_token: 'r2', expires_in: 3600 }));
  });
  afterAll(async () => {
    await kw?.close();
    await provider?.close();
  });
  const db = () => readFile(kw.config.dbPath, 'utf8');

  it('refuses GET ?force_refresh=true without the header: no call to the provider, the connection unchanged', async () => {
    const s = await signIn(kw.url);
    const before = await db();
    const calls = provider.requests.length;
    const res = await asDashboard(kw.url, s, '/connections/u1?provider_config_key=fake&force_refresh=true');
    expect([res.status, res.body.error.code]).toEqual([403, 'csrf_failed']);
    expect(provider.requests.length).toBe(calls);
    expect(await db()).toBe(before);
    // A plain read needs no header.
    expect((await asDashboard(kw.url, s, '/connections/u1?provider_config_key=fake')).body.credentials.access_token).toBe('old');
    // With the header, the forced refresh runs.
    const ok = await asDashboard(kw.url, s, '/connections/u1?provider_config_key=fake&force_refresh=true', { csrf: true });
    expect([ok.status, ok.body.credentials.access_token]).toEqual([200, 'new']);
  });

  it('refuses POST, PATCH and DELETE without the header, the store unchanged', async () => {
    const s = await signIn(kw.url);
    const before = await db();
    for (const [method, path] of [['DELETE', '/connections/u1?provider_config_key=fake'], ['POST', '/connect/sessions'], ['DELETE', '/integrations/fake']] as const) {
      const res = await asDashboard(kw.url, s, path, { method });
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 403, 'csrf_failed']);
    }
    expect(await db()).toBe(before);
  });
});

describe('the cookie', () => {
  it('is Secure whenever the public URL is https (and HttpOnly, SameSite=Strict); not Secure on plain http', async () => {
    const https = await startKeyway({ config: { serverUrl: 'https://keyway.example.com' } });
    try {
      expect((await signIn(https.url)).setCookie).toMatch(/; Secure/);
      expect((await signIn(https.url)).setCookie).toMatch(/HttpOnly/);
      expect((await signIn(https.url)).setCookie).toMatch(/SameSite=Strict/);
    } finally {
      await https.close();
    }
    const http = await startKeyway();
    try {
      expect((await signIn(http.url)).setCookie).not.toMatch(/Secure/);
    } finally {
      await http.close();
    }
  });
});

describe('two instances on one PostgreSQL database', () => {
  let pg: TestPostgres;
  let a: TestKeyway;
  let b: TestKeyway;
  beforeAll(async () => {
    pg = await startPostgres();
    const databaseUrl = await pg.createDatabase('dashboard_sessions');
    a = await startKeyway({ config: { databaseUrl } });
    b = await startKeyway({ config: { databaseUrl, encryptionKeys: a.config.encryptionKeys } });
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.stop();
  });

  it('a session made on one works on the other, and signing out on one ends it on both', async () => {
    const s = await signIn(a.url);
    expect((await asDashboard(b.url, s, '/integrations')).status).toBe(200);
    expect((await asDashboard(b.url, s, '/dashboard/api/session', { method: 'DELETE', csrf: true })).status).toBe(200);
    expect((await asDashboard(a.url, s, '/integrations')).status).toBe(401);
    expect((await asDashboard(b.url, s, '/integrations')).status).toBe(401);
  });
});
