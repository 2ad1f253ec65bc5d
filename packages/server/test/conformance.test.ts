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
 * S256 (or none), the client authentication method; it answers with the metadata the template keeps.
 */
const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
const templates = catalog.list().filter((t): t is OAuth2Template => t.auth_mode === 'OAUTH2');
const CLIENT = { id: 'conformance-client', secret: 'conformance secret:+%' };

interface Seen { authorize?: URLSearchParams; token?: { headers: IncomingHttpHeaders; body: URLSearchParams } }
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
    if (req.method === 'GET') {
      record.authorize = url.searchParams;
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', `code-${name}`);
      back.searchParams.set('state', url.searchParams.get('state')!);
      for (const p of template.redirect_uri_metadata ?? []) back.searchParams.set(p, `cb:${p}`);
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      record.token = { headers: req.headers, body: new URLSearchParams(Buffer.concat(chunks).toString()) };
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
      return [t.name, { ...data, authorization_url: local(t.name, t.authorization_url), token_url: local(t.name, t.token_url), ...(t.refresh_url && { refresh_url: local(t.name, t.refresh_url) }), ...(t.issuer && { issuer: asUrl }) }];
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
    const params = Object.entries(t.connection_config ?? {}).map(([k, input]) => `&params[${k}]=${encodeURIComponent(input.example!)}`).join('');
    const browser = new TestBrowser();
    const done = await browser.follow(`${kw.url}/oauth/connect/${name}?connection_id=conf&public_key=${PUBLIC_KEY}${params}`);
    expect(done.status, done.body.slice(0, 300)).toBe(200);
    const { authorize, token } = seen.get(name)!;

    // The authorization request: client, redirect, scopes with the template's separator, its params, PKCE.
    expect(authorize!.get('client_id')).toBe(CLIENT.id);
    expect(authorize!.get('redirect_uri')).toBe(`${kw.url}/oauth/callback`);
    const scopes = t.default_scopes ?? [];
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

    // The stored connection: the token (nested or not) and the metadata the template keeps.
    const stored = (await kw.keyway.store.getConnection(name, 'conf'))!;
    expect(oauth2(stored)).toMatchObject({ access_token: `at-${name}`, refresh_token: `rt-${name}` });
    for (const path of t.token_response_metadata ?? []) expect(stored.connection_config[path], `metadata ${path}`).toBe(metaValue(path));
    for (const p of t.redirect_uri_metadata ?? []) expect(stored.connection_config[p], `callback metadata ${p}`).toBe(`cb:${p}`);
    for (const [k, input] of Object.entries(t.connection_config ?? {})) expect(stored.connection_config[k]).toBe(input.example);
  });
});
