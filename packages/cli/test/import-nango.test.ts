import { mkdtemp, rm } from 'node:fs/promises';
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

beforeAll(async () => {
  // `only-source` exists on the source only: its integration cannot be imported.
  // `tenant` needs a subdomain on the target only: its connection is refused there, and skipped.
  const tenant = { ...oauthTemplate('Tenant'), connection_config: { subdomain: { title: 'Subdomain', pattern: '[a-z]+' } } };
  source = await startKeyway({ templates: { crm: oauthTemplate('CRM'), 'only-source': oauthTemplate('Only source'), tenant: oauthTemplate('Tenant') } });
  target = await startKeyway({ templates: { crm: oauthTemplate('CRM'), tenant }, config: { secretKey: TARGET_KEY } });
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
});
afterAll(async () => {
  await source?.close();
  await target?.close();
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
    expect(r.stderr).toContain('Importing connections: 6/6');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Integrations: 3 would import, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('skipped legacy: Keyway has no template "only-source"');
    expect(r.stdout).toContain('Connections: 5 would import, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('skipped legacy / old-1: its integration "legacy" was not imported');
    expect(r.stdout).toContain('Dry run: nothing was written.');
    expect((await to.listIntegrations()).configs).toEqual([]);
    expect((await to.listConnections()).connections).toEqual([]);
  });

  it('imports integrations and connections with their credentials, end users, tags and metadata', async () => {
    const r = await cli(['import', 'nango', '--from', source.url, '--secret-key', SECRET_KEY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Integrations: 3 imported, 0 already in Keyway, 1 skipped');
    expect(r.stdout).toContain('Connections: 4 imported, 0 already in Keyway, 2 skipped');
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

  it('is idempotent: a second run imports only what is new and never replaces what Keyway holds', async () => {
    // Keyway's copy moved on (a refresh would do this); the source gained a connection.
    await to.importConnection({ provider_config_key: 'crm', connection_id: 'user-1', credentials: { type: 'OAUTH2', access_token: 'at-newer', refresh_token: 'rt-newer' } });
    await from.importConnection({ provider_config_key: 'crm', connection_id: 'user-4', credentials: { type: 'OAUTH2', access_token: 'at-4' } });
    const r = await cli(['import', 'nango', '--from', source.url, '--secret-key', SECRET_KEY, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.integrations).toMatchObject({ imported: [], existing: [{ key: 'crm' }, { key: 'keys' }, { key: 'tenant' }] });
    expect(summary.connections.imported).toEqual([{ key: 'crm', connection_id: 'user-4' }]);
    expect(summary.connections.existing).toHaveLength(4);
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
