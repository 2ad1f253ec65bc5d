import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_TEMPLATES_DIR, TemplateCatalog } from '../src/templates/catalog.ts';
import type { TwoStepParam, TwoStepTemplate } from '../src/templates/schema.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';
import { setPath } from './support/templates.ts';

/**
 * Every TWO_STEP template of the catalogue, connected and proxied against a local provider: each
 * template's token URL and API are pointed at 127.0.0.1 (paths kept). The provider checks what the
 * template promises: the method, the body format, every typed credential sent (in the body or a
 * header, base64 where the template encodes it); it answers with the token and expiry at the
 * template's dot-paths, and the proxied call must carry that token where the template places it.
 */
const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
const templates = catalog.list().filter((t): t is TwoStepTemplate => t.auth_mode === 'TWO_STEP');

interface Call { method: string; path: string; headers: IncomingHttpHeaders; body: string }
const tokenCalls = new Map<string, Call>();
const apiCalls = new Map<string, Call>();
let local = '';
let close: () => Promise<void>;
let kw: TestKeyway;

const tokenOf = (name: string) => `tok-${name}`;
/** What the end user types: the field's example where it has a pattern to match, else a recognisable value. */
const typed = (t: TwoStepTemplate) => Object.fromEntries(Object.entries(t.credentials).map(([k, f]) => [k, f.pattern ? f.example! : `typed ${k}:${t.name}`]));

beforeAll(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [, kind, name] = req.url!.split('/') as [string, string, string];
      const call = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      const t = catalog.get(name) as TwoStepTemplate;
      if (kind === 'api') {
        apiCalls.set(name, call);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
      tokenCalls.set(name, call);
      const answer: Record<string, unknown> = {};
      setPath(answer, t.token_response.token, tokenOf(name));
      const inAnHour = Date.now() + 3_600_000;
      if (t.token_response.expires_in) setPath(answer, t.token_response.expires_in, 3600);
      if (t.token_response.token_expiration) setPath(answer, t.token_response.token_expiration, t.token_response.token_expiration_strategy === 'expireIn' ? 3600 : new Date(inAnHour).toISOString());
      for (const path of t.token_response_metadata ?? []) setPath(answer, path, `meta:${path}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  local = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });

  // The same templates, hosts pointed at the local provider. Placeholders in paths stay and are filled.
  const pointed = (kind: string, name: string, url: string) => {
    const path = url.replace(/^https:\/\/[^/]*/, '');
    return `${local}/${kind}/${name}${path}`;
  };
  const overrides = Object.fromEntries(
    templates.map((t) => {
      const { name: _, ...data } = t;
      return [t.name, { ...data, token_url: pointed('token', t.name, t.token_url), proxy: { ...t.proxy!, base_url: pointed('api', t.name, t.proxy!.base_url) } }];
    }),
  );
  kw = await startKeyway({ templates: overrides, config: ALLOW_PUBLIC_KEY });
  for (const t of templates) expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: t.name, provider: t.name }) })).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await kw?.close();
  await close?.();
});

/** Every string a request carries: its body (form-decoded or JSON leaves), its headers, and what base64 parts decode to. */
function carried(call: Call): string[] {
  const texts: string[] = [...Object.values(call.headers).flat().filter((v): v is string => typeof v === 'string')];
  if (call.headers['content-type'] === 'application/json') {
    const walk = (v: unknown): void => (typeof v === 'string' ? void texts.push(v) : v && typeof v === 'object' ? Object.values(v).forEach(walk) : undefined);
    walk(JSON.parse(call.body));
  } else texts.push(...new URLSearchParams(call.body).values());
  return [...texts, ...texts.flatMap((s) => s.split(' ')).map((s) => Buffer.from(s, 'base64').toString())];
}

const leaves = (params: Readonly<Record<string, TwoStepParam>>): string[] => Object.values(params).flatMap((v) => (typeof v === 'string' ? [v] : leaves(v)));

describe(`each of the ${templates.length} TWO_STEP templates`, () => {
  it('there are a dozen or more (the issue\'s condition for the mode)', () => {
    expect(templates.length).toBeGreaterThanOrEqual(12);
  });

  it.each(templates.map((t) => [t.name, t] as const))('%s: connects with the typed credentials and proxies with the token', async (name, t) => {
    const inputs = Object.entries(t.connection_config ?? {}).filter(([, i]) => !i.hidden);
    const params = inputs.map(([k, i]) => `&params[${k}]=${encodeURIComponent(i.example!)}`).join('');
    const fields = typed(t);
    const res = await fetch(`${kw.url}/auth/two-step/${name}?connection_id=conf&public_key=${PUBLIC_KEY}${params}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'TWO_STEP', ...fields }),
    });
    expect(res.status, await res.clone().text()).toBe(200);

    const call = tokenCalls.get(name)!;
    expect(call.method).toBe(t.token_request_method ?? 'POST');
    if (t.token_params && call.method !== 'GET') {
      expect(call.headers['content-type']).toBe((t.body_format ?? 'json') === 'json' ? 'application/json' : 'application/x-www-form-urlencoded');
    }
    // Every credential the template uses reached the provider.
    const used = [...Object.values(t.token_headers ?? {}), ...leaves(t.token_params ?? {})].join(' ');
    for (const [k, v] of Object.entries(fields)) {
      if (used.includes(`\${credentials.${k}}`)) expect(carried(call).some((s) => s.includes(v)), `credential ${k}`).toBe(true);
    }

    const connection = await kw.api(`/connections/conf?provider_config_key=${name}`);
    expect(connection.body.credentials).toMatchObject({ type: 'TWO_STEP', token: tokenOf(name), ...fields });
    expect(Date.parse(connection.body.credentials.expires_at)).toBeGreaterThan(Date.now());
    for (const path of t.token_response_metadata ?? []) expect(connection.body.connection_config[path]).toBe(`meta:${path}`);

    const proxied = await fetch(`${kw.url}/proxy/conformance`, { headers: { authorization: `Bearer ${SECRET_KEY}`, 'Connection-Id': 'conf', 'Provider-Config-Key': name } });
    expect(proxied.status).toBe(200);
    const api = apiCalls.get(name)!;
    expect(api.path.endsWith('/conformance')).toBe(true);
    expect(Object.values(api.headers).some((v) => typeof v === 'string' && v.includes(tokenOf(name))), 'the token in a header').toBe(true);
  });
});
