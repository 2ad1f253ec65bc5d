import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPath } from '../src/connections/metadata.ts';
import { BUILT_IN_TEMPLATES_DIR, TemplateCatalog } from '../src/templates/catalog.ts';
import type { OAuth2Template } from '../src/templates/schema.ts';
import { TestBrowser } from './support/browser.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, oauth2, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * Every OAUTH2 template of the catalogue, through the whole connect flow, against a local
 * authorization server: each template's endpoints are pointed at 127.0.0.1 (paths kept), and the
 * server checks what the template promises: its scopes and separator, its extra parameters, PKCE
 * S256 (or none), the client authentication method, the body format, what a refresh sends
 * (`refresh_params`, else `token_params`); it names the template's callback inputs in the callback
 * and answers the post-connection request with the values the template keeps.
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

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = target;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

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
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', `code-${name}`);
      back.searchParams.set('state', url.searchParams.get('state')!);
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
      record[body.get('grant_type') === 'refresh_token' ? 'refresh' : 'token'] = { headers: req.headers, body };
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
    const res = await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: t.name, provider: t.name, credentials: { client_id: CLIENT.id, client_secret: CLIENT.secret } }) });
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
      .filter(([, input]) => !input.callback_param)
      .map(([k, input]) => `&params[${k}]=${encodeURIComponent(input.example!)}`)
      .join('');
    const browser = new TestBrowser();
    const done = await browser.follow(`${kw.url}/oauth/connect/${name}?connection_id=conf&public_key=${PUBLIC_KEY}${params}`);
    expect(done.status, done.body.slice(0, 300)).toBe(200);
    const { authorize, token } = seen.get(name)!;

    // The authorization request: client, redirect, scopes with the template's separator, its params, PKCE.
    expect(authorize!.get('client_id')).toBe(CLIENT.id);
    expect(authorize!.get('redirect_uri')).toBe(`${kw.url}/oauth/callback`);
    // Scopes may name inputs (Dataverse: https://${connectionConfig.orgHost}/user_impersonation): filled, unencoded.
    const scopes = (t.default_scopes ?? []).map((sc) => sc.replace(/\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g, (_, k: string) => t.connection_config![k]!.example!));
    expect(authorize!.get('scope')).toBe(scopes.length ? scopes.join(t.scope_separator ?? ' ') : null);
    for (const [k, v] of Object.entries(t.authorization_params ?? {})) {
      if (!v.includes('${')) expect(authorize!.get(k), `authorization param ${k}`).toBe(v);
    }
    const verifier = token!.body.get('code_verifier');
    if (t.pkce === false) {
      expect(authorize!.get('code_challenge')).toBeNull();
      expect(verifier).toBeNull();
    } else {
      expect(authorize!.get('code_challenge_method')).toBe('S256');
      expect(createHash('sha256').update(verifier!).digest('base64url')).toBe(authorize!.get('code_challenge'));
    }

    // The token request: the grant, the client authentication the template names, its extra params.
    expect(token!.body.get('grant_type')).toBe('authorization_code');
    expect(token!.body.get('code')).toBe(`code-${name}`);
    if ((t.token_request_auth_method ?? 'basic') === 'basic') {
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      expect(token!.headers.authorization).toBe(`Basic ${Buffer.from(`${enc(CLIENT.id)}:${enc(CLIENT.secret)}`).toString('base64')}`);
      expect(token!.body.get('client_secret')).toBeNull();
    } else {
      expect(token!.headers.authorization).toBeUndefined();
      expect([token!.body.get('client_id'), token!.body.get('client_secret')]).toEqual([CLIENT.id, CLIENT.secret]);
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
    expect(refresh!.body.get('refresh_token')).toBe(`rt-${name}`);
    expect(refresh!.headers['content-type']).toBe(t.body_format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
    expect(refresh!.headers.authorization === undefined).toBe((t.token_request_auth_method ?? 'basic') === 'body');
    for (const [k, v] of Object.entries(t.refresh_params ?? t.token_params ?? {})) expect(refresh!.body.get(k), `refresh param ${k}`).toBe(v);
    if (t.refresh_params) for (const k of Object.keys(t.token_params ?? {})) if (!(k in t.refresh_params)) expect(refresh!.body.get(k), `token param ${k} not on refresh`).toBeNull();
  });
});
