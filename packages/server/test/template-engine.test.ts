import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywayError } from '../src/errors.ts';
import { callbackInputs, resolveEndpoints, validateConnectionConfig } from '../src/templates/interpolate.ts';
import type { OAuth2Template, ProviderTemplate } from '../src/templates/schema.ts';
import { validateTemplate } from '../src/templates/validate.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { acmeTemplate } from './support/templates.ts';

/** The engine's newer fields: what the loader accepts and refuses, and what the flow does with them. */
const valid = (extra: Record<string, unknown>) => validateTemplate('acme', acmeTemplate(extra));
const refused = (extra: Record<string, unknown>, message: RegExp) => expect(() => valid(extra)).toThrow(message);

describe('template validation of the engine fields', () => {
  it('accepts proxy, refresh_params, body_format, rich inputs, callback inputs and a post-connection request', () => {
    const t = valid({
      body_format: 'json',
      refresh_params: { type: 'refresh' },
      verified: { source: 'https://acme.example.com/docs', date: '2026-11-30' },
      token_url: 'https://${connectionConfig.dataCentre}/token',
      connection_config: {
        region: { title: 'Region', enum: ['eu', 'us'], default_value: 'us', optional: true, doc_section: '#regions', prefix: 'https://', suffix: '.acme.example.com' },
        dataCentre: { title: 'Data centre', callback_param: 'dc', format: 'hostname', pattern: '[a-z0-9]+\\.acme\\.example\\.com', example: 'eu1.acme.example.com' },
        apiVersion: { title: 'API version', pattern: 'v[0-9]+', default_value: 'v2', hidden: true },
      },
      post_connection: { url: 'https://acme.example.com/me', headers: { Authorization: 'OAuth ${accessToken}' }, connection_config: { siteId: '0.id' } },
      proxy: { base_url: 'https://${connectionConfig.region}.acme.example.com/${connectionConfig.apiVersion}/sites/${connectionConfig.siteId}', headers: { 'X-Api-Version': '${connectionConfig.apiVersion}' }, query: { format: 'json' }, retry: { after: ['retry-after'], at: ['x-ratelimit-reset'] } },
    });
    expect(t.name).toBe('acme');
    // A whole origin the token response gives (Salesforce's instance_url) may start the base URL.
    expect(valid({ token_response_metadata: ['instance_url'], proxy: { base_url: '${connectionConfig.instance_url}/services/data/v62.0' } }).name).toBe('acme');
  });

  it.each([
    [{ proxy: { headers: {} } }, /proxy.base_url` is missing/],
    [{ proxy: { base_url: 'http://api.acme.example.com' } }, /proxy.base_url` must be an https URL/],
    [{ proxy: { base_url: 'https://api.acme.example.com', verification: {} } }, /proxy.verification` is not a proxy field/],
    [{ proxy: { base_url: 'https://api.acme.example.com', retry: { after: 'retry-after' } } }, /proxy.retry.after` must be a list of header names/],
    [{ proxy: { base_url: 'https://api.acme.example.com', retry: { every: ['x'] } } }, /proxy.retry.every` is not a retry field/],
    [{ proxy: { base_url: 'https://${connectionConfig.nowhere}.acme.example.com' } }, /no input, post-connection request or token response provides/],
    [{ proxy: { base_url: 'https://api.acme.example.com', headers: { 'x-client': '${integration.clientSecret}' } } }, /\$\{integration.clientSecret\} is not a placeholder the proxy fills/],
    [{ proxy: { base_url: 'https://api.acme.example.com', query: { key: '${apikey}' } } }, /\$\{apikey\} is not a placeholder the proxy fills/],
    [{ body_format: 'xml' }, /body_format` must be "form" or "json"/],
    [{ default_scopes: ['https://${connectionConfig.org}/user_impersonation'] }, /must declare "org"/],
    [{ refresh_params: { a: 1 } }, /refresh_params` must map names to strings/],
    [{ verified: { source: 'https://acme.example.com', date: 'yesterday' } }, /verified.date` must be a date/],
    [{ verified: { source: 'ftp://acme.example.com', date: '2026-11-30' } }, /verified.source` must be an https URL/],
    [{ post_connection: { url: 'https://acme.example.com/me' } }, /post_connection.connection_config` is missing/],
    [{ post_connection: { url: 'https://acme.example.com/me', method: 'PUT', connection_config: { a: 'b' } } }, /post_connection.method` must be GET or POST/],
    [{ post_connection: { url: 'http://10.0.0.1/me', connection_config: { a: 'b' } } }, /post_connection.url` must be an https URL/],
    [{ connection_config: { r: { title: 'R' } } }, /connection_config.r.pattern` is missing \(or give an enum\)/],
    [{ connection_config: { r: { title: 'R', enum: [] } } }, /connection_config.r.enum` must be a non-empty list/],
    [{ connection_config: { r: { title: 'R', enum: ['eu'], default_value: 'us' } } }, /connection_config.r.default_value` must be a string the input accepts/],
    [{ connection_config: { r: { title: 'R', pattern: '[a-z]+', format: 'email' } } }, /connection_config.r.format` must be hostname, uuid or uri/],
    [{ connection_config: { r: { title: 'R', pattern: '.+', format: 'hostname', example: '10.0.0.1' } } }, /connection_config.r.example` must be a string the input accepts/],
    [{ connection_config: { r: { title: 'R', pattern: '[a-z]+', doc_section: 'step-1' } } }, /connection_config.r.doc_section` must be an anchor/],
    [{ connection_config: { r: { title: 'R', pattern: '[a-z]+', hidden: true } } }, /connection_config.r.hidden` needs a default_value/],
    [{ connection_config: { r: { title: 'R', pattern: '[a-z]+', order: 1 } } }, /connection_config.r.order` is not an input field/],
    [{ authorization_url: 'https://${connectionConfig.dc}/authorize', connection_config: { dc: { title: 'DC', pattern: '[a-z.]+', example: 'eu.acme.example.com', callback_param: 'dc' } } }, /cannot use "dc": it comes from the callback/],
  ])('refuses %j', (extra, message) => refused(extra, message));
});

describe('connection config values', () => {
  const template = valid({
    connection_config: {
      region: { title: 'Region', enum: ['eu', 'us'], default_value: 'us', optional: true },
      host: { title: 'Host', pattern: '[a-z0-9.-]+', format: 'hostname', example: 'acme.example.com' },
      note: { title: 'Note', pattern: '[a-z]+', optional: true },
      dc: { title: 'DC', callback_param: 'accounts-server', format: 'hostname', pattern: 'accounts\\.acme\\.(?:com|eu)', example: 'accounts.acme.eu' },
    },
  }) as ProviderTemplate;
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as KeywayError).code;
    }
    return 'none';
  };

  it('fills an optional input with its default, checks enums and formats, and never takes a callback input from the user', () => {
    expect({ ...validateConnectionConfig(template, { host: 'acme.example.com' }) }).toEqual({ region: 'us', host: 'acme.example.com' });
    expect({ ...validateConnectionConfig(template, { host: 'acme.example.com', region: 'eu', note: 'hi' }) }).toEqual({ region: 'eu', host: 'acme.example.com', note: 'hi' });
    expect(code(() => validateConnectionConfig(template, { host: 'acme.example.com', region: 'ap' }))).toBe('invalid_connection_config');
    expect(code(() => validateConnectionConfig(template, { host: '10.0.0.1' }))).toBe('invalid_connection_config');
    expect(code(() => validateConnectionConfig(template, { host: 'acme.example.com', dc: 'accounts.acme.eu' }))).toBe('invalid_connection_config');
  });

  it('fills an input added later with its default when a stored connection lacks it (a refresh must keep working)', () => {
    const t = valid({ token_url: 'https://${connectionConfig.loginHost}/token', connection_config: { loginHost: { title: 'Login host', pattern: '[a-z.]+', default_value: 'login.acme.example.com', optional: true } } }) as OAuth2Template;
    expect(resolveEndpoints(t, {}).refreshUrl).toBe('https://login.acme.example.com/token');
    expect(resolveEndpoints(t, { loginHost: 'eu.acme.example.com' }).refreshUrl).toBe('https://eu.acme.example.com/token');
  });

  it('takes a callback input from the callback query: an https origin gives its host; a value that does not fit is the provider\'s error', () => {
    expect(callbackInputs(template, new URLSearchParams({ 'accounts-server': 'https://accounts.acme.eu' }))).toEqual({ dc: 'accounts.acme.eu' });
    expect(callbackInputs(template, new URLSearchParams({ 'accounts-server': 'accounts.acme.com' }))).toEqual({ dc: 'accounts.acme.com' });
    expect(code(() => callbackInputs(template, new URLSearchParams({ 'accounts-server': 'https://accounts.evil.example.com' })))).toBe('authorization_err');
    expect(code(() => callbackInputs(template, new URLSearchParams({ 'accounts-server': 'https://accounts.acme.eu/path' })))).toBe('authorization_err');
    expect(code(() => callbackInputs(template, new URLSearchParams()))).toBe('authorization_err');
  });
});

describe('the post-connection request in a real flow', () => {
  let kw: TestKeyway;
  let provider: string;
  let close: () => Promise<void>;
  let metadataStatus = 200;
  const seen: { authorization?: string }[] = [];

  beforeAll(async () => {
    const server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://127.0.0.1');
      if (url.pathname === '/authorize') {
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', 'c1');
        back.searchParams.set('state', url.searchParams.get('state')!);
        res.writeHead(302, { location: back.href }).end();
      } else if (url.pathname === '/token') {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'at-1', token_type: 'bearer' })));
      } else {
        seen.push({ authorization: req.headers.authorization });
        res.writeHead(metadataStatus, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: 'cloud-1', url: 'https://acme.example.com' }]));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    provider = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
    kw = await startKeyway({
      templates: {
        acme: { ...acmeTemplate(), authorization_url: `${provider}/authorize`, token_url: `${provider}/token`, post_connection: { url: `${provider}/resources`, headers: { Authorization: 'OAuth ${accessToken}' }, connection_config: { cloudId: '0.id' } } },
      },
      config: ALLOW_PUBLIC_KEY, // these flows start with the public key: the explicit opt-in
    });
    expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'acme', provider: 'acme', credentials: { client_id: 'id', client_secret: 'secret' } }) })).status).toBe(200);
  });
  afterAll(async () => {
    await kw?.close();
    await close?.();
  });

  it('keeps the answer\'s values in connection_config, sent with the new token as the template says', async () => {
    metadataStatus = 200;
    const done = await new TestBrowser().follow(`${kw.url}/oauth/connect/acme?connection_id=ok&public_key=${PUBLIC_KEY}`);
    expect(done.status).toBe(200);
    expect(seen.at(-1)).toEqual({ authorization: 'OAuth at-1' });
    expect((await kw.keyway.store.getConnection('acme', 'ok'))!.connection_config).toMatchObject({ cloudId: 'cloud-1' });
  });

  it('fails the flow with token_err and stores nothing when the request fails', async () => {
    metadataStatus = 500;
    const done = await new TestBrowser().follow(`${kw.url}/oauth/connect/acme?connection_id=bad&public_key=${PUBLIC_KEY}`);
    expect(done.status).not.toBe(200);
    expect(done.body).toContain('token_err');
    expect(await kw.keyway.store.getConnection('acme', 'bad')).toBeUndefined();
  });
});
