import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../src/http/outbound.ts';
import { freeHostInput, hostInputs } from '../src/templates/hosts.ts';
import { TemplateCatalog, BUILT_IN_TEMPLATES_DIR } from '../src/templates/catalog.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { tenantTemplate } from './support/templates.ts';

/**
 * Hosts chosen by the end user (issue 12, item 2): the client secret goes only to hosts the
 * operator fixed or allowed, `host:port` inputs work, and every request for a connection refuses
 * names that resolve to loopback or private addresses, without opening a socket to them.
 */
const HOST_INPUT = { title: 'Host', pattern: '(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9](?::[0-9]{1,5})?', example: 'git.example.com' };
const TEMPLATES = {
  selfhosted: {
    display_name: 'Self-hosted',
    categories: ['other'],
    docs: 'https://example.com/docs',
    auth_mode: 'OAUTH2',
    authorization_url: 'https://${connectionConfig.host}/oauth/authorize',
    token_url: 'https://${connectionConfig.host}/oauth/token',
    connection_config: { host: HOST_INPUT },
  },
  'selfhosted-key': {
    display_name: 'Self-hosted (API key)',
    categories: ['other'],
    docs: 'https://example.com/docs',
    auth_mode: 'API_KEY',
    credentials: { apiKey: { title: 'API key' } },
    verification: { url: 'https://${connectionConfig.host}/api/me', headers: { 'X-Key': '${credentials.apiKey}' } },
    connection_config: { host: HOST_INPUT },
  },
  tenant: tenantTemplate(),
};

/** The resolver stub: public-looking names that answer loopback or private addresses. */
const ANSWERS: Record<string, string> = {
  'loopback.looks-public.example': '127.0.0.1',
  'private.looks-public.example': '10.0.0.1',
  'mapped.looks-public.example': '::ffff:127.0.0.1',
};
const resolveHost: HostResolver = async (name) => {
  const address = ANSWERS[name];
  if (!address) throw Object.assign(new Error(`${name} is not in the stub`), { code: 'ENOTFOUND' });
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};

/** A TCP listener on 127.0.0.1 standing for an internal service: it counts the sockets opened to it. */
let internal: Server;
let internalPort = 0;
let sockets = 0;
let kw: TestKeyway;

const integration = (unique_key: string, provider: string, extra: Record<string, unknown> = {}) =>
  kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key, provider, credentials: { client_id: 'cid', client_secret: 'the secret' }, ...extra }) });
const connect = (path: string) => fetch(`${kw.url}${path}`, { redirect: 'manual', headers: { accept: 'application/json' } });
const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
const dbText = () => readFile(kw.config.dbPath, 'utf8');

beforeAll(async () => {
  internal = createServer((s) => s.destroy());
  internal.on('connection', () => sockets++);
  await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
  internalPort = (internal.address() as { port: number }).port;
  // The guard as in production: no opt-in for private targets.
  // A provider on loopback (as the tests' providers are), and one whose host the user types.
  const local = { display_name: 'Local', categories: ['other'], docs: 'https://example.com/docs', auth_mode: 'OAUTH2', authorization_url: `http://127.0.0.1:${internalPort}/authorize`, token_url: `http://127.0.0.1:${internalPort}/token` };
  const cc = { display_name: 'CC', categories: ['other'], docs: 'https://example.com/docs', auth_mode: 'OAUTH2_CC', token_url: 'https://${connectionConfig.host}/token', connection_config: { host: HOST_INPUT } };
  kw = await startKeyway({ templates: { ...TEMPLATES, local, cc }, config: { ...ALLOW_PUBLIC_KEY, allowPrivateNetwork: false }, overrides: { resolveHost } });
  expect((await integration('local', 'local')).status).toBe(200);
  expect((await integration('cc', 'cc', { allowed_hosts: [`loopback.looks-public.example:${internalPort}`] })).status).toBe(200);
  expect((await integration('open', 'selfhosted')).status).toBe(200);
  expect((await integration('allowed', 'selfhosted', { allowed_hosts: ['gitlab.acme.com:8443', '*.corp.example'] })).status).toBe(200);
  expect((await integration('fixed', 'selfhosted', { connection_config: { host: 'gitlab.acme.com' } })).status).toBe(200);
  expect((await integration('tenant', 'tenant')).status).toBe(200);
  expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'key', provider: 'selfhosted-key' }) })).status).toBe(200);
});
afterAll(async () => {
  await kw?.close();
  await new Promise<void>((r) => internal?.close(() => r()));
});

describe('a host chosen by the end user', () => {
  it('works with a port (host:port), when the operator allowed that host and port', async () => {
    const res = await connect(`/oauth/connect/allowed?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=gitlab.acme.com:8443`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect([to.protocol, to.host, to.pathname]).toEqual(['https:', 'gitlab.acme.com:8443', '/oauth/authorize']);
  });

  it.each([
    ['a host the operator did not allow', 'open', 'attacker.example'],
    ['an allowed host on another port', 'allowed', 'gitlab.acme.com:9443'],
    ['an allowed host on the default port when only :8443 is allowed', 'allowed', 'gitlab.acme.com'],
    ['a look-alike of an allowed domain', 'allowed', 'corp.example.attacker.example'],
  ])('refuses %s before the redirect, writing nothing', async (_name, key, host) => {
    const before = await dbText();
    const res = await connect(`/oauth/connect/${key}?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=${host}`);
    expect(await errorOf(res)).toEqual([403, 'host_not_allowed']);
    expect(await dbText()).toBe(before);
  });

  it('goes to a host matched by a wildcard pattern', async () => {
    const res = await connect(`/oauth/connect/allowed?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=git.corp.example`);
    expect(new URL(res.headers.get('location')!).host).toBe('git.corp.example');
  });

  it('needs no allowed host when the template pins the domain (a subdomain input)', async () => {
    const res = await connect(`/oauth/connect/tenant?connection_id=u&public_key=${PUBLIC_KEY}&params[subdomain]=acme`);
    expect(new URL(res.headers.get('location')!).host).toBe('acme.example.com');
  });
});

describe('inputs fixed on the integration', () => {
  it('are used without the end user giving them', async () => {
    const res = await connect(`/oauth/connect/fixed?connection_id=u&public_key=${PUBLIC_KEY}`);
    expect(new URL(res.headers.get('location')!).host).toBe('gitlab.acme.com');
  });

  it('cannot be changed by the end user', async () => {
    const res = await connect(`/oauth/connect/fixed?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=attacker.example`);
    expect(await errorOf(res)).toEqual([400, 'invalid_connection_config']);
    const same = await connect(`/oauth/connect/fixed?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=gitlab.acme.com`);
    expect(same.status).toBe(302);
  });

  it('are not asked for in the Connect UI', async () => {
    const token = (await kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify({ end_user: { id: 'user-1' }, allowed_integrations: ['fixed', 'open'] }) })).body.data.token;
    const res = await fetch(`${kw.url}/connect/session`, { headers: { authorization: `Bearer ${token}` } });
    const inputs = Object.fromEntries(((await res.json()) as any).data.integrations.map((i: any) => [i.unique_key, Object.keys(i.connection_config)]));
    expect(inputs).toEqual({ fixed: [], open: ['host'] });
  });

  it('are validated, shown and changed through the integrations API', async () => {
    const bad = [
      { connection_config: { nope: 'x' } },
      { connection_config: { host: 'not a host' } },
      { allowed_hosts: ['https://gitlab.acme.com'] },
      { allowed_hosts: 'gitlab.acme.com' },
    ];
    for (const body of bad) expect((await integration(`bad-${bad.indexOf(body)}`, 'selfhosted', body)).status).toBe(400);
    const patched = await kw.api('/integrations/open', { method: 'PATCH', body: JSON.stringify({ allowed_hosts: ['Git.Example.com'] }) });
    expect(patched.body.data).toMatchObject({ connection_config: {}, allowed_hosts: ['git.example.com'] });
    expect((await kw.api('/integrations/fixed')).body.data).toMatchObject({ connection_config: { host: 'gitlab.acme.com' }, allowed_hosts: [] });
    expect((await connect(`/oauth/connect/open?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=git.example.com`)).status).toBe(302);
  });
});

describe('requests for a connection (SSRF guard)', () => {
  it.each(Object.entries(ANSWERS))('refuses %s (%s) with a typed error, opening no socket to it', async (name) => {
    const before = sockets;
    const db = await dbText();
    const res = await fetch(`${kw.url}/api-auth/api-key/key?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=${name}:${internalPort}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ apiKey: 'k' }),
    });
    expect(await errorOf(res)).toEqual([400, 'private_address_refused']);
    expect(sockets).toBe(before);
    expect(await dbText()).toBe(db);
  });

  it('guards the code exchange: a token endpoint on loopback is refused at the callback', async () => {
    const browser = new TestBrowser();
    const hop = await browser.request(`${kw.url}/oauth/connect/local?connection_id=u&public_key=${PUBLIC_KEY}`);
    const state = new URL(hop.headers.get('location')!).searchParams.get('state')!;
    const before = sockets;
    const done = await browser.request(`${kw.url}/oauth/callback?state=${state}&code=c`, { headers: { accept: 'application/json' } });
    expect([done.status, JSON.parse(done.body).error.code]).toEqual([400, 'private_address_refused']);
    expect(sockets).toBe(before);
  });

  it('guards client-credentials token requests (made from the backend)', async () => {
    const before = sockets;
    const res = await kw.api('/auth/oauth2-cc/cc', { method: 'POST', body: JSON.stringify({ connection_id: 'u', connection_config: { host: `loopback.looks-public.example:${internalPort}` } }) });
    expect([res.status, res.body.error.code]).toEqual([400, 'private_address_refused']);
    expect(sockets).toBe(before);
  });

  it('reaches the same address once the operator allows private targets (the check above can fail)', async () => {
    const open = await startKeyway({ templates: TEMPLATES, config: { ...ALLOW_PUBLIC_KEY, allowPrivateNetwork: true }, overrides: { resolveHost } });
    try {
      expect((await open.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'key', provider: 'selfhosted-key' }) })).status).toBe(200);
      const before = sockets;
      const res = await fetch(`${open.url}/api-auth/api-key/key?connection_id=u&public_key=${PUBLIC_KEY}&params[host]=loopback.looks-public.example:${internalPort}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ apiKey: 'k' }),
      });
      expect(await errorOf(res)).toEqual([424, 'verification_failed']); // our listener is no TLS server
      expect(sockets).toBe(before + 1);
    } finally {
      await open.close();
    }
  });
});

describe('which templates let the end user choose the host', async () => {
  const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
  it('self-managed products do; tenant subdomains and region lists do not', () => {
    const free = (name: string) => {
      const t = catalog.get(name)!;
      return ['token_url' in t ? t.token_url : '', 'verification' in t ? (t.verification?.url ?? '') : ''].some((u) => u && freeHostInput(t, u) !== undefined);
    };
    expect(['gitlab-self-managed', 'keycloak', 'gitea', 'forgejo', 'jira-data-center', 'mattermost', 'posthog'].filter((n) => !free(n))).toEqual([]);
    expect(['okta', 'zendesk', 'zoho', 'datadog', 'auth0', 'github'].filter(free)).toEqual([]);
    expect(hostInputs(catalog.get('zendesk')!)).toEqual(['subdomain']);
  });
});
