import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthorizationUrl } from '../src/oauth/client.ts';
import { TemplateCatalog } from '../src/templates/catalog.ts';
import { validateTemplate } from '../src/templates/validate.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { acmeTemplate } from './support/templates.ts';

/**
 * The OAuth 2.0 fields for providers that rename or relocate the flow's own parameters (Amazon
 * Selling Partner, TikTok Ads, Apollo, eBay, Smartsheet): what the loader refuses, what the
 * authorization URL looks like, and the integration-only inputs in a real flow. The catalogue's
 * templates themselves run through the whole flow in conformance.test.ts.
 */
const ruName = { title: 'RuName', pattern: '[A-Za-z0-9_-]+', example: 'Acme-App-PRD-1', from_integration: true };
/** Acme with `extra` over it (support/templates.ts). */
const valid = (extra: Record<string, unknown>) => validateTemplate('acme', acmeTemplate(extra));

describe('template validation of the flow-name fields', () => {
  it('accepts renamed parameters, a fragment route, a callback code parameter, a hashed secret and an integration redirect_uri', () => {
    const t = valid({
      authorization_url_replacements: { client_id: 'app_id' },
      authorization_url_fragment: '/oauth/authorize',
      authorization_code_param_in_callback: 'auth_code',
      token_param_names: { client_id: 'app_id', client_secret: 'secret', code: 'auth_code' },
      token_request_auth_method: 'secret_hash',
      redirect_uri: '${connectionConfig.ruName}',
      connection_config: { ruName },
    });
    expect(t.name).toBe('acme');
  });

  it.each([
    [{ authorization_url_replacements: { client_key: 'app_id' } }, /`authorization_url_replacements.client_key` is not a parameter it can rename/],
    [{ authorization_url_replacements: { client_id: 'app id' } }, /`authorization_url_replacements.client_id` must be a parameter name/],
    [{ authorization_url_replacements: { client_id: 'state' } }, /`authorization_url_replacements.client_id` renames to "state", which another parameter already uses/],
    [{ authorization_url_replacements: {} }, /`authorization_url_replacements` must map parameter names/],
    [{ token_param_names: { code: 'x', refresh_token: 'x' } }, /`token_param_names.refresh_token` renames to "x", which another parameter already uses/],
    [{ token_param_names: 'app_id' }, /`token_param_names` must map parameter names/],
    [{ authorization_url_fragment: '/oauth/authorize?x=1' }, /`authorization_url_fragment` must be a route/],
    [{ authorization_url_fragment: '/${connectionConfig.x}' }, /`authorization_url_fragment` must be a route/],
    [{ authorization_code_param_in_callback: 'state' }, /`authorization_code_param_in_callback` must be a parameter name \(not state\)/],
    [{ authorization_code_param_in_callback: 'spapi oauth code' }, /`authorization_code_param_in_callback` must be a parameter name/],
    [{ redirect_uri: 'https://evil.example.com/callback' }, /`redirect_uri` must be \$\{connectionConfig.<input>\}/],
    [{ redirect_uri: '${connectionConfig.ruName}', connection_config: { ruName: { ...ruName, from_integration: false } } }, /`redirect_uri` names "ruName", which must be a required input with from_integration: true/],
    [{ redirect_uri: '${connectionConfig.ruName}', connection_config: { ruName: { ...ruName, optional: true } } }, /`redirect_uri` names "ruName", which must be a required input/],
    [{ redirect_uri: '${connectionConfig.nothing}' }, /`redirect_uri` names "nothing"/],
    [{ connection_config: { ruName: { ...ruName, from_integration: 'yes' } } }, /`connection_config.ruName.from_integration` must be true or false/],
    [{ connection_config: { ruName: { ...ruName, callback_param: 'ru' } } }, /`connection_config.ruName.from_integration` cannot be combined with callback_param/],
    [{ token_request_auth_method: 'hash' }, /`token_request_auth_method` must be "basic", "body" or "secret_hash"/],
    [{ auth_mode: 'OAUTH2_CC', authorization_url: undefined, token_request_auth_method: 'secret_hash' }, /`token_request_auth_method` must be "basic" or "body"/],
  ])('refuses %j', (extra, message) => expect(() => valid(extra)).toThrow(message));

  it('names the file and the field when the catalogue loads a bad template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyway-templates-'));
    try {
      await writeFile(join(dir, 'acme.json'), JSON.stringify({ ...acmeTemplate(), token_param_names: { code: 'auth code' } }));
      await expect(TemplateCatalog.load([dir])).rejects.toThrow(/template .*acme\.json: field `token_param_names.code` must be a parameter name/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the authorization URL', () => {
  const request = {
    authorizationUrl: 'https://app.acme.example.com/',
    clientId: 'client-1',
    redirectUri: 'https://keyway.example.com/oauth/callback?x=1',
    state: 'state-1',
    codeVerifier: null,
    scopes: ['a', 'b'],
    scopeSeparator: ' ',
  };

  it('puts the query after a fragment route, encoded once', () => {
    const url = buildAuthorizationUrl({ ...request, params: { prompt: 'consent' }, fragment: '/oauth/authorize' });
    const [before, hash] = url.split('#') as [string, string];
    expect(before).toBe('https://app.acme.example.com/');
    const [route, query] = hash.split('?') as [string, string];
    expect(route).toBe('/oauth/authorize');
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual({ response_type: 'code', client_id: 'client-1', redirect_uri: request.redirectUri, state: 'state-1', scope: 'a b', prompt: 'consent' });
  });

  it('renames OAuth\'s own parameters, and a caller\'s parameter cannot take over a renamed one', () => {
    const url = new URL(buildAuthorizationUrl({ ...request, params: { app_id: 'attacker' }, paramNames: { client_id: 'app_id' } }));
    expect(url.searchParams.getAll('app_id')).toEqual(['client-1']);
    expect(url.searchParams.get('client_id')).toBeNull();
    expect(url.searchParams.get('state')).toBe('state-1');
  });
});

describe('inputs the integration sets, and the code parameter, in a real flow', () => {
  let kw: TestKeyway;
  let provider: string;
  let close: () => Promise<void>;
  const tokenBodies: URLSearchParams[] = [];

  beforeAll(async () => {
    // A provider that maps the RuName to Keyway's callback and names the code `auth_code`.
    const server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://127.0.0.1');
      if (url.pathname === '/authorize') {
        const back = new URL(`${kw.url}/oauth/callback`);
        back.searchParams.set(url.searchParams.get('mode') === 'plain-code' ? 'code' : 'auth_code', 'c1');
        back.searchParams.set('state', url.searchParams.get('state')!);
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        tokenBodies.push(new URLSearchParams(Buffer.concat(chunks).toString()));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'at-1', token_type: 'bearer' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    provider = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
    kw = await startKeyway({
      templates: {
        acme: {
          ...acmeTemplate(),
          authorization_url: `${provider}/authorize`,
          token_url: `${provider}/token`,
          pkce: false,
          redirect_uri: '${connectionConfig.ruName}',
          authorization_code_param_in_callback: 'auth_code',
          connection_config: { ruName },
        },
      },
      config: ALLOW_PUBLIC_KEY,
    });
    const integration = (key: string, config?: Record<string, string>) =>
      kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: key, provider: 'acme', credentials: { client_id: 'id', client_secret: 'secret' }, ...(config && { connection_config: config }) }) });
    expect((await integration('acme', { ruName: 'Acme-App-PRD-1' })).status).toBe(200);
    expect((await integration('acme-unset')).status).toBe(200);
    expect((await integration('acme-bad', { ruName: 'not a runame' })).status).toBe(400);
  });
  afterAll(async () => {
    await kw?.close();
    await close?.();
  });

  const connect = (key: string, query = '') => new TestBrowser().follow(`${kw.url}/oauth/connect/${key}?connection_id=c-${Math.random().toString(36).slice(2)}&public_key=${PUBLIC_KEY}${query}`);

  it('sends the integration\'s value as redirect_uri in both requests and reads the code from the parameter the template names', async () => {
    const done = await connect('acme');
    expect(done.status, done.body.slice(0, 300)).toBe(200);
    const body = tokenBodies.at(-1)!;
    expect([body.get('code'), body.get('redirect_uri')]).toEqual(['c1', 'Acme-App-PRD-1']);
  });

  it('refuses to start while the integration has not set the value', async () => {
    const done = await connect('acme-unset');
    expect(done.status).toBe(400);
    expect(done.body).toContain('invalid_connection_config');
    expect(done.body).toContain('connection_config.ruName');
  });

  it('never takes the value from the end user', async () => {
    const sent = tokenBodies.length;
    const other = await connect('acme', '&params[ruName]=Evil-App-PRD-9');
    expect(other.status).toBe(400);
    expect(other.body).toContain('invalid_connection_config');
    const unset = await connect('acme-unset', '&params[ruName]=Evil-App-PRD-9');
    expect(unset.status).toBe(400);
    expect(tokenBodies.length).toBe(sent);
  });

  it('lets an integration fix an input given by an enum (Smartsheet\'s region), checked as the input checks it', async () => {
    const create = (key: string, domain: string) =>
      kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: key, provider: 'smartsheet', credentials: { client_id: 'id', client_secret: 'secret' }, connection_config: { domain } }) });
    expect((await create('smartsheet-eu', 'smartsheet.eu')).status).toBe(200);
    expect((await create('smartsheet-evil', 'evil.example.com')).status).toBe(400);
  });

  it('never asks the end user for it in the Connect UI, even before the integration has it', async () => {
    const token = (await kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify({ end_user: { id: 'u1' } }) })).body.data.token as string;
    const res = await fetch(`${kw.url}/connect/session`, { headers: { authorization: `Bearer ${token}` } });
    const listed = ((await res.json()) as { data: { integrations: { unique_key: string; connection_config: Record<string, unknown> }[] } }).data.integrations;
    expect(listed.find((i) => i.unique_key === 'acme-unset')!.connection_config).toEqual({});
  });

  it('fails with missing_code when the code comes under another name', async () => {
    const sent = tokenBodies.length;
    const done = await connect('acme', '&authorization_params[mode]=plain-code');
    expect(done.status).toBe(400);
    expect(done.body).toContain('missing_code');
    expect(tokenBodies.length).toBe(sent);
  });
});
