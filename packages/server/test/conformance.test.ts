import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPath } from '../src/connections/metadata.ts';
import { BUILT_IN_TEMPLATES_DIR, TemplateCatalog } from '../src/templates/catalog.ts';
import type { OAuth2Template } from '../src/templates/schema.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, oauth2, startKeyway, type TestKeyway } from './support/keyway.ts';
import { setPath } from './support/templates.ts';

/**
 * Every OAUTH2 template of the catalogue, through the whole connect flow, against a local
 * authorization server: each template's endpoints are pointed at 127.0.0.1 (paths kept), and the
 * server checks what the template promises: its scopes and separator, its extra parameters, PKCE
 * S256 (or none), the client authentication method, the body format, what a refresh sends
 * (`refresh_params`, else `token_params`); it names the template's callback inputs in the callback
 * and answers the post-connection request with the values the template keeps. Parameters go by
 * the names the template gives them (`authorization_url_replacements`, `token_param_names`), the
 * code comes back in the callback parameter it names, a fragment route carries the query, a
 * `redirect_uri` the integration sets (eBay's RuName) stands for the callback URL, and the
 * `secret_hash` method sends a hash bound to the code or refresh token instead of the secret.
 */
const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
const templates = catalog.list().filter((t): t is OAuth2Template => t.auth_mode === 'OAUTH2');
const CLIENT = { id: 'conformance-client', secret: 'conformance secret:+%' };

interface TokenCall { headers: IncomingHttpHeaders; body: URLSearchParams }
interface Seen { authorize?: URLSearchParams; token?: TokenCall; refresh?: TokenCall; post?: { method: string; headers: IncomingHttpHeaders } }
const seen = new Map<string, Seen>();
let asUrl = '';
let close: () => Promise<void>;
let kw: TestKeyway;

/** The value a template's dot-path gets in our token response: recognisable, per path. */
const metaValue = (path: string) => `meta:${path}`;
/** What the provider calls OAuth's own parameters of the authorization URL and of token requests. */
const authName = (t: OAuth2Template, p: keyof NonNullable<OAuth2Template['authorization_url_replacements']>) => t.authorization_url_replacements?.[p] ?? p;
const tokenName = (t: OAuth2Template, p: keyof NonNullable<OAuth2Template['token_param_names']>) => t.token_param_names?.[p] ?? p;
/** The inputs the integration sets (Amazon's application id, eBay's RuName): never the end user's. */
const integrationInputs = (t: OAuth2Template) => Object.fromEntries(Object.entries(t.connection_config ?? {}).filter(([, i]) => i.from_integration).map(([k, i]) => [k, i.example!]));
/** The redirect_uri the template sends: the integration's RuName, or Keyway's callback URL. */
const expectedRedirect = (t: OAuth2Template) => (t.redirect_uri ? t.redirect_uri.replace(/^\$\{connectionConfig\.([A-Za-z0-9_]+)\}$/, (_, k: string) => t.connection_config![k]!.example!) : `${kw.url}/oauth/callback`);
const secretHash = (bound: string) => createHash('sha256').update(`${CLIENT.secret}|${bound}`).digest('hex');

beforeAll(async () => {
  // One local authorization server for all templates: /t/<name>/<original path>.
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    const name = url.pathname.split('/')[2]!;
    const record = seen.get(name) ?? {};
    seen.set(name, record);
    const template = catalog.get(name) as OAuth2Template;
    if (url.pathname.startsWith(`/t/${name}/post-connection/`)) {
      record.post = { method: req.method!, headers: req.headers };
      const answer: Record<string, unknown> = {};
      for (const [k, path] of Object.entries(template.post_connection!.connection_config)) setPath(answer, path, `post:${k}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      return;
    }
    if (req.method === 'GET') {
      record.authorize = url.searchParams;
      // A RuName stands for the callback URL registered with it at the provider.
      const back = new URL(template.redirect_uri ? `${kw.url}/oauth/callback` : url.searchParams.get(authName(template, 'redirect_uri'))!);
      back.searchParams.set(template.authorization_code_param_in_callback ?? 'code', `code-${name}`);
      back.searchParams.set('state', url.searchParams.get(authName(template, 'state'))!);
      for (const p of template.redirect_uri_metadata ?? []) back.searchParams.set(p, `cb:${p}`);
      for (const input of Object.values(template.connection_config ?? {})) {
        if (input.callback_param) back.searchParams.set(input.callback_param, input.example!);
      }
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      // A JSON body (body_format: json) is read into the same shape as a form body.
      const body = req.headers['content-type'] === 'application/json' ? new URLSearchParams(JSON.parse(raw) as Record<string, string>) : new URLSearchParams(raw);
      record[body.get(tokenName(template, 'grant_type')) === 'refresh_token' ? 'refresh' : 'token'] = { headers: req.headers, body };
      const response: Record<string, unknown> = {};
      for (const path of template.token_response_metadata ?? []) setPath(response, path, metaValue(path));
      const tokens = { access_token: `at-${name}`, refresh_token: `rt-${name}`, token_type: 'bearer', expires_in: 3600 };
      if (template.token_path) setPath(response, template.token_path, { ...(readPath(response, template.token_path) as object), ...tokens });
      else Object.assign(response, tokens);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  asUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });

  // The same templates, hosts pointed at the local server. Placeholders in paths stay and are filled.
  const local = (name: string, url: string) => {
    const u = new URL(url.replace(/\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g, (m) => (url.indexOf(m) < url.indexOf('/', 8) ? 'host' : m)));
    return `${asUrl}/t/${name}${decodeURI(u.pathname)}${u.search}`;
  };
  const overrides = Object.fromEntries(
    templates.map((t) => {
      const { name: _, ...data } = t;
      const post = t.post_connection && { ...t.post_connection, url: `${asUrl}/t/${t.name}/post-connection/${encodeURIComponent(new URL(t.post_connection.url.replace(/\$\{[^}]+\}/g, 'x')).pathname)}` };
      return [t.name, { ...data, authorization_url: local(t.name, t.authorization_url), token_url: local(t.name, t.token_url), ...(t.refresh_url && { refresh_url: local(t.name, t.refresh_url) }), ...(t.issuer && { issuer: asUrl }), ...(post && { post_connection: post }) }];
    }),
  );
  kw = await startKeyway({ templates: overrides, config: ALLOW_PUBLIC_KEY });
  for (const t of templates) {
    const res = await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: t.name, provider: t.name, credentials: { client_id: CLIENT.id, client_secret: CLIENT.secret }, connection_config: integrationInputs(t) }) });
    expect(res.status).toBe(200);
  }
}, 60_000);
afterAll(async () => {
  await kw?.close();
  await close?.();
});

describe(`the connect flow for each of the ${templates.length} OAUTH2 templates`, () => {
  it.each(templates.map((t) => [t.name, t] as const))('%s', async (name, t) => {
    const params = Object.entries(t.connection_config ?? {})
      .filter(([, input]) => !input.callback_param && !input.from_integration)
      .map(([k, input]) => `&params[${k}]=${encodeURIComponent(input.example!)}`)
      .join('');
    const browser = new TestBrowser();
    const toProvider = await browser.follow(`${kw.url}/oauth/connect/${name}?connection_id=conf&public_key=${PUBLIC_KEY}${params}`, (next) => next.startsWith(asUrl));
    // A fragment route carries the query (Apollo): the browser never sends it, the provider's page reads it.
    const [beforeHash, hash] = toProvider.url.split('#') as [string, string | undefined];
    if (t.authorization_url_fragment !== undefined) {
      expect(hash!.split('?')[0], 'fragment route').toBe(t.authorization_url_fragment);
      expect(new URL(beforeHash).search).toBe('');
    } else {
      expect(hash).toBeUndefined();
    }
    const providerUrl = hash === undefined ? toProvider.url : `${beforeHash}?${hash.split('?')[1] ?? ''}`;
    const done = await browser.follow(providerUrl);
    expect(done.status, done.body.slice(0, 300)).toBe(200);
    const { authorize, token } = seen.get(name)!;

    // The authorization request: client, redirect, scopes with the template's separator, its params, PKCE,
    // each under the provider's name for it.
    expect(authorize!.get(authName(t, 'client_id'))).toBe(CLIENT.id);
    expect(authorize!.get(authName(t, 'redirect_uri'))).toBe(expectedRedirect(t));
    for (const [own, theirs] of Object.entries(t.authorization_url_replacements ?? {})) expect(authorize!.get(own), `${own} renamed to ${theirs}`).toBeNull();
    // Scopes may name inputs (Dataverse: https://${connectionConfig.orgHost}/user_impersonation): filled, unencoded.
    const scopes = (t.default_scopes ?? []).map((sc) => sc.replace(/\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g, (_, k: string) => t.connection_config![k]!.example!));
    expect(authorize!.get('scope')).toBe(scopes.length ? scopes.join(t.scope_separator ?? ' ') : null);
    for (const [k, v] of Object.entries(t.authorization_params ?? {})) {
      if (!v.includes('${')) expect(authorize!.get(k), `authorization param ${k}`).toBe(v);
      const whole = /^\$\{connectionConfig\.([A-Za-z0-9_]+)\}$/.exec(v)?.[1];
      if (whole) expect(authorize!.get(k), `authorization param ${k}`).toBe(t.connection_config![whole]!.example);
    }
    const verifier = token!.body.get(tokenName(t, 'code_verifier'));
    if (t.pkce === false) {
      expect(authorize!.get(authName(t, 'code_challenge'))).toBeNull();
      expect(verifier).toBeNull();
    } else {
      expect(authorize!.get(authName(t, 'code_challenge_method'))).toBe('S256');
      expect(createHash('sha256').update(verifier!).digest('base64url')).toBe(authorize!.get(authName(t, 'code_challenge')));
    }

    // The token request: the grant, the same redirect_uri, the client authentication the template
    // names, its extra params, each under the provider's name for it.
    expect(token!.body.get(tokenName(t, 'grant_type'))).toBe('authorization_code');
    expect(token!.body.get(tokenName(t, 'code'))).toBe(`code-${name}`);
    expect(token!.body.get(tokenName(t, 'redirect_uri'))).toBe(expectedRedirect(t));
    for (const [own, theirs] of Object.entries(t.token_param_names ?? {})) expect(token!.body.get(own), `${own} renamed to ${theirs}`).toBeNull();
    const method = t.token_request_auth_method ?? 'basic';
    if (method === 'basic') {
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      expect(token!.headers.authorization).toBe(`Basic ${Buffer.from(`${enc(CLIENT.id)}:${enc(CLIENT.secret)}`).toString('base64')}`);
      expect(token!.body.get(tokenName(t, 'client_secret'))).toBeNull();
    } else if (method === 'secret_hash') {
      // Smartsheet: the secret never travels, only its hash bound to this code.
      expect(token!.headers.authorization).toBeUndefined();
      expect([token!.body.get(tokenName(t, 'client_id')), token!.body.get('hash'), token!.body.get(tokenName(t, 'client_secret'))]).toEqual([CLIENT.id, secretHash(`code-${name}`), null]);
    } else {
      expect(token!.headers.authorization).toBeUndefined();
      expect([token!.body.get(tokenName(t, 'client_id')), token!.body.get(tokenName(t, 'client_secret'))]).toEqual([CLIENT.id, CLIENT.secret]);
    }
    for (const [k, v] of Object.entries(t.token_params ?? {})) expect(token!.body.get(k), `token param ${k}`).toBe(v);
    expect(token!.headers['content-type']).toBe(t.body_format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');

    // The stored connection: the token (nested or not) and the metadata the template keeps.
    const stored = (await kw.keyway.store.getConnection(name, 'conf'))!;
    expect(oauth2(stored)).toMatchObject({ access_token: `at-${name}`, refresh_token: `rt-${name}` });
    for (const path of t.token_response_metadata ?? []) expect(stored.connection_config[path], `metadata ${path}`).toBe(metaValue(path));
    for (const p of t.redirect_uri_metadata ?? []) expect(stored.connection_config[p], `callback metadata ${p}`).toBe(`cb:${p}`);
    for (const [k, input] of Object.entries(t.connection_config ?? {})) expect(stored.connection_config[k]).toBe(input.example);

    // The post-connection request: sent with the new token, its answer kept in connection_config.
    if (t.post_connection) {
      const { post } = seen.get(name)!;
      expect(post!.method).toBe(t.post_connection.method ?? 'GET');
      const auth = Object.entries(t.post_connection.headers ?? {}).find(([h]) => h.toLowerCase() === 'authorization')?.[1] ?? 'Bearer ${accessToken}';
      expect(post!.headers.authorization).toBe(auth.replace('${accessToken}', `at-${name}`));
      for (const k of Object.keys(t.post_connection.connection_config)) expect(stored.connection_config[k], `post-connection ${k}`).toBe(`post:${k}`);
    }

    // A refresh: the refresh token, the same client authentication and body format, and
    // refresh_params (or, without them, token_params, as Nango does).
    const refreshed = await kw.api(`/connections/conf?provider_config_key=${name}&force_refresh=true`);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const { refresh } = seen.get(name)!;
    expect(refresh!.body.get(tokenName(t, 'refresh_token'))).toBe(`rt-${name}`);
    expect(refresh!.headers['content-type']).toBe(t.body_format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
    expect(refresh!.headers.authorization === undefined).toBe(method !== 'basic');
    if (method === 'secret_hash') expect([refresh!.body.get('hash'), refresh!.body.get(tokenName(t, 'client_secret'))]).toEqual([secretHash(`rt-${name}`), null]);
    if (method === 'body') expect(refresh!.body.get(tokenName(t, 'client_secret'))).toBe(CLIENT.secret);
    for (const [k, v] of Object.entries(t.refresh_params ?? t.token_params ?? {})) expect(refresh!.body.get(k), `refresh param ${k}`).toBe(v);
    if (t.refresh_params) for (const k of Object.keys(t.token_params ?? {})) if (!(k in t.refresh_params)) expect(refresh!.body.get(k), `token param ${k} not on refresh`).toBeNull();
  });
});
