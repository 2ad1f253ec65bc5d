import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Nango } from '@keyway/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_KEY, startKeyway, type TestKeyway } from '../../server/test/support/keyway.ts';
import { run, type Io } from '../src/main.ts';
import { oauthTemplate } from '../../server/test/support/templates.ts';

/**
 * `keyway import nango`: Keyway speaks Nango's API, so the source here is one Keyway server and the
 * target another (with its own secret key, to show which key goes where).
 */
const TARGET_KEY = 'target-secret-key-9876543210';

let source: TestKeyway;
let target: TestKeyway;
let cwd: string;
let from: Nango;
let to: Nango;
let apiKeyTemplate: string;
/** The two-step provider's token endpoint (127.0.0.1): a token for the right password, 401 otherwise. */
let tokenServer: Server;
let issued = 0;
const tokenBodies: unknown[] = [];

const twoStepTemplate = (tokenUrl: string) => ({
  display_name: 'Two-step HR',
  categories: ['hr'],
  docs: 'https://example.com/docs',
  auth_mode: 'TWO_STEP',
  credentials: { username: { title: 'User' }, password: { title: 'Password', secret: true } },
  token_url: tokenUrl,
  token_params: { user: '${credentials.username}', pass: '${credentials.password}' },
  token_response: { token: 'token', token_expiration: 'expires' },
  token_expires_in_ms: 3_600_000,
});

beforeAll(async () => {
  tokenServer = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { pass?: string };
      tokenBodies.push(body);
      if (body.pass !== 'hr-password') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_login"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `hr-token-${++issued}`, expires: new Date(Date.now() + 3_600_000).toISOString() }));
    });
  });
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  const hr = twoStepTemplate(`http://127.0.0.1:${(tokenServer.address() as { port: number }).port}/token`);
  // `only-source` exists on the source only: its integration cannot be imported.
  // `tenant` needs a subdomain on the target only: its connection is refused there, and skipped.
  const tenant = { ...oauthTemplate('Tenant'), connection_config: { subdomain: { title: 'Subdomain', pattern: '[a-z]+' } } };
  source = await startKeyway({ templates: { crm: oauthTemplate('CRM'), 'only-source': oauthTemplate('Only source'), tenant: oauthTemplate('Tenant'), hr } });
  target = await startKeyway({ templates: { crm: oauthTemplate('CRM'), tenant, hr }, config: { secretKey: TARGET_KEY } });
  cwd = await mkdtemp(join(tmpdir(), 'keyway-import-'));
  from = new Nango({ host: source.url, secretKey: SECRET_KEY });
  to = new Nango({ host: target.url, secretKey: TARGET_KEY });
  apiKeyTemplate = (await from.listProviders()).data.find((p) => p.auth_mode === 'API_KEY' && Object.keys(p.connection_config ?? {}).length === 0)!.name;

  await from.createIntegration({ unique_key: 'crm', provider: 'crm', display_name: 'Our CRM', credentials: { type: 'OAUTH2', client_id: 'crm-client', client_secret: 'crm-secret', scopes: 'read,write' } });
  await from.createIntegration({ unique_key: 'keys', provider: apiKeyTemplate });
  await from.createIntegration({ unique_key: 'legacy', provider: 'only-source', credentials: { type: 'OAUTH2', client_id: 'l', client_secret: 'l' } });
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  for (const n of [1, 2, 3]) {
    await from.importConnection({
      provider_config_key: 'crm',
      connection_id: `user-${n}`,
      credentials: { type: 'OAUTH2', access_token: `at-${n}`, refresh_token: `rt-${n}`, expires_at: expires },
      end_user: { id: `user-${n}`, email: `u${n}@example.com` },
      tags: { plan: n === 1 ? 'pro' : 'free' },
      metadata: { n },
    });
  }
  await from.importConnection({ provider_config_key: 'keys', connection_id: 'k-1', credentials: { type: 'API_KEY', apiKey: 'sk-live-1' } });
  await from.importConnection({ provider_config_key: 'legacy', connection_id: 'old-1', credentials: { type: 'OAUTH2', access_token: 'x' } });
  await from.createIntegration({ unique_key: 'tenant', provider: 'tenant', credentials: { type: 'OAUTH2', client_id: 't', client_secret: 't' } });
  await from.importConnection({ provider_config_key: 'tenant', connection_id: 'tn-1', credentials: { type: 'OAUTH2', access_token: 'x' } });
  // A TWO_STEP connection (Nango's shape: the typed fields beside the token), its token already expired.
  await from.createIntegration({ unique_key: 'hr', provider: 'hr' });
  await from.importConnection({
    provider_config_key: 'hr',
    connection_id: 'hr-1',
    credentials: { type: 'TWO_STEP', username: 'ana', password: 'hr-password', token: 'hr-token-old', expires_at: new Date(Date.now() - 60_000).toISOString(), raw: { token: 'hr-token-old' } },
  });
});
afterAll(async () => {
  await source?.close();
  await target?.close();
  tokenServer?.closeAllConnections();
  await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(undefined)));
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { KEYWAY_SERVER_URL: target.url, KEYWAY_SECRET_KEY: TARGET_KEY },
    cwd,
    isTTY: false,
    stdin: Readable.from([]),
  };
  return { code: await run(args, io), stdout, stderr };
}

describe('keyway import nango', () => {
  it('dry run: reports what it would import and writes nothing', async () => {
    const r = await cli(['import', 'nango', '--from', source.url, '--secret-key', SECRET_KEY, '--dry-run']);
    expect(r.stderr).toContain('Importing connections: 7/7');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Integrations: 4 would import, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('skipped legacy: Keyway has no template "only-source"');
    expect(r.stdout).toContain('Connections: 6 would import, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('skipped legacy / old-1: its integration "legacy" was not imported');
    expect(r.stdout).toContain('Dry run: nothing was written.');
    expect((await to.listIntegrations()).configs).toEqual([]);
    expect((await to.listConnections()).connections).toEqual([]);
  });

  it('imports integrations and connections with their credentials, end users, tags and metadata', async () => {
    const r = await cli(['import', 'nango', '--from', source.url, '--secret-key', SECRET_KEY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Integrations: 4 imported, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('Connections: 5 imported, 0 already in Keyway, 2 skipped');
    // Refused by Keyway (the target's template needs a subdomain): skipped with the reason, the rest imported.
    expect(r.stdout).toMatch(/skipped tenant \/ tn-1: Keyway refused it: invalid_connection_config: Missing connection config "subdomain"/);

    const crm = (await to.getIntegration({ uniqueKey: 'crm' }, { include: ['credentials'] })).data;
    expect(crm).toMatchObject({ provider: 'crm', display_name: 'Our CRM', credentials: { client_id: 'crm-client', client_secret: 'crm-secret', scopes: 'read,write' } });
    for (const n of [1, 2, 3]) {
      const [a, b] = await Promise.all([from.getConnection('crm', `user-${n}`, false, true), to.getConnection('crm', `user-${n}`, false, true)]);
      expect(b.credentials).toEqual(a.credentials);
      expect({ end_user: b.end_user, tags: b.tags, metadata: b.metadata }).toEqual({ end_user: a.end_user, tags: a.tags, metadata: a.metadata });
    }
    expect(await to.getToken('keys', 'k-1')).toMatchObject({ type: 'API_KEY', apiKey: 'sk-live-1' });
    expect((await to.listConnections({ tags: { plan: 'pro' } })).connections.map((c) => c.connection_id)).toEqual(['user-1']);
  });

  it('carries TWO_STEP connections over: the typed fields and the token; the target renews with those fields', async () => {
    // Run after the import above. Reading the source renewed its expired token (Nango does too): that fresh token came over.
    const [a, b] = await Promise.all([from.getConnection('hr', 'hr-1', false, true), to.getConnection('hr', 'hr-1', false, true)]);
    expect(b.credentials).toEqual(a.credentials);
    expect(b.credentials).toMatchObject({ type: 'TWO_STEP', username: 'ana', password: 'hr-password', token: expect.stringMatching(/^hr-token-\d+$/) });
    // The target obtains its next token by posting the carried fields.
    const before = tokenBodies.length;
    const renewed = (await to.getConnection('hr', 'hr-1', true)).credentials as unknown as { token: string };
    expect(tokenBodies.slice(before)).toEqual([{ user: 'ana', pass: 'hr-password' }]);
    expect(renewed.token).not.toBe((b.credentials as unknown as { token: string }).token);
  });

  it('is idempotent: a second run imports only what is new and never replaces what Keyway holds', async () => {
    // Keyway's copy moved on (a refresh would do this); the source gained a connection.
    await to.importConnection({ provider_config_key: 'crm', connection_id: 'user-1', credentials: { type: 'OAUTH2', access_token: 'at-newer', refresh_token: 'rt-newer' } });
    await from.importConnection({ provider_config_key: 'crm', connection_id: 'user-4', credentials: { type: 'OAUTH2', access_token: 'at-4' } });
    const r = await cli(['import', 'nango', '--from', source.url, '--secret-key', SECRET_KEY, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.integrations).toMatchObject({ imported: [], existing: [{ key: 'crm' }, { key: 'keys' }, { key: 'tenant' }, { key: 'hr' }] });
    expect(summary.connections.imported).toEqual([{ key: 'crm', connection_id: 'user-4' }]);
    expect(summary.connections.existing).toHaveLength(5);
    expect(summary.connections.skipped).toEqual([
      { key: 'legacy', connection_id: 'old-1', reason: 'its integration "legacy" was not imported' },
      { key: 'tenant', connection_id: 'tn-1', reason: expect.stringContaining('invalid_connection_config') },
    ]);
    expect((await to.getConnection('crm', 'user-1', false, true)).credentials).toMatchObject({ access_token: 'at-newer', refresh_token: 'rt-newer' });
  });

  it('says which side failed: a wrong source key, and --from is required', async () => {
    const wrong = await cli(['import', 'nango', '--from', source.url, '--secret-key', 'not-the-key']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`reading ${source.url}`);
    const missing = await cli(['import', 'nango', '--secret-key', SECRET_KEY]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--from URL is required');
  });
});
