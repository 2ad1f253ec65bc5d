import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { loadConfig } from '@keyway/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startFakeProvider } from '../../server/test/support/fake-provider.ts';
import { freePort, SECRET_KEY, startKeyway, type TestKeyway } from '../../server/test/support/keyway.ts';
import { startPostgres } from '../../server/test/support/postgres.ts';
import { providerTemplate } from '../../server/test/support/templates.ts';
import { JsonFileStore, Keyring, keyId, PostgresStore } from '../src/server-internals.ts';
import { run, type Io } from '../src/main.ts';
import type { Connection } from '../../server/src/store/types.ts';

const BIN = fileURLToPath(new URL('../bin/keyway.js', import.meta.url));
const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

let provider: Awaited<ReturnType<typeof startFakeProvider>>;
let kw: TestKeyway;
/** An empty working directory: no .env, no secrets.json. */
let cwd: string;

beforeAll(async () => {
  provider = await startFakeProvider();
  kw = await startKeyway({
    templates: {
      fake: providerTemplate(provider.url),
    },
  });
  cwd = await mkdtemp(join(tmpdir(), 'keyway-cli-'));
});
afterAll(async () => {
  await kw?.close();
  await provider?.close();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `keyway ...` in-process against the test server. */
async function cli(args: string[], options: { env?: Record<string, string | undefined>; isTTY?: boolean; stdin?: string; cwd?: string } = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { KEYWAY_SERVER_URL: kw.url, KEYWAY_SECRET_KEY: SECRET_KEY, ...options.env },
    cwd: options.cwd ?? cwd,
    isTTY: options.isTTY ?? false,
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

const future = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function putConnection(key: string, id: string, credentials: Connection['credentials'], providerName = key): Promise<void> {
  const now = new Date().toISOString();
  await kw.keyway.store.writeConnection(key, id, () => ({
    id: `id-${id}`,
    provider_config_key: key,
    connection_id: id,
    provider: providerName,
    credentials,
    connection_config: {},
    metadata: { plan: 'pro' },
    end_user: { id: `end-${id}`, email: `${id}@example.com` },
    last_refresh_failure: null,
    created_at: now,
    updated_at: now,
  }));
}

describe('help, version and usage errors', () => {
  it('prints help with the exit codes on stdout, exit 0, for the tool, a group and a command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: keyway <command>/);
    expect(top.stdout).toMatch(/3 +cannot reach the server/);
    for (const c of ['integrations', 'connections', 'token', 'providers', 'keys generate', 'reencrypt', 'doctor']) expect(top.stdout).toContain(c);

    const group = await cli(['connections', '-h']);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain('keyway connections refresh <key> <connectionId>');

    const command = await cli(['integrations', 'create', '--help']);
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(/^Usage: keyway integrations create <key> --provider TEMPLATE \[flags\]/);
    expect(command.stdout).toContain('--client-secret SECRET');
    expect((await cli(['help', 'token'])).stdout).toMatch(/^Usage: keyway token <key> <connectionId>/);
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it.each([
    ['a missing argument', ['integrations', 'get'], /missing <key>/, /Usage: keyway integrations get <key>/],
    ['a missing second argument', ['token', 'fake'], /missing <connectionId>/, /Usage: keyway token/],
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/, /Usage: keyway <command>/],
    ['an unknown subcommand', ['integrations', 'frob'], /unknown command "integrations frob"/, /Usage: keyway integrations <command>/],
    ['an unknown flag', ['integrations', 'list', '--bogus'], /Unknown option '--bogus'/, /Usage: keyway integrations list/],
    ['a flag of another command', ['providers', 'list', '--yes'], /Unknown option '--yes'/, /Usage: keyway providers list/],
    ['a missing required flag', ['integrations', 'create', 'x'], /--provider TEMPLATE is required/, /Usage: keyway integrations create/],
    ['an extra argument', ['integrations', 'list', 'extra'], /unexpected argument "extra"/, /Usage: keyway integrations list/],
    ['a bad number', ['connections', 'list', '--limit', 'ten'], /--limit: "ten" is not a whole number/, /Usage: keyway connections list/],
    ['half the client', ['integrations', 'create', 'x', '--provider', 'github', '--client-id', 'a'], /both --client-id and --client-secret/, /Usage: keyway integrations create/],
    ['no command', [], /a command is required/, /Usage: keyway <command>/],
  ])('exits 2 on %s, with the help on stderr', async (_name, args, message, helpText) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(helpText);
  });

  it('exits 2 without any secret key', async () => {
    const { code, stderr } = await cli(['integrations', 'list'], { env: { KEYWAY_SECRET_KEY: undefined } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/no secret key: pass --secret-key or set KEYWAY_SECRET_KEY/);
  });
});

describe('integrations', () => {
  it('creates, lists, shows (secret hidden), updates and deletes', async () => {
    const created = await cli(['integrations', 'create', 'gh', '--provider', 'github', '--client-id', 'cid-1', '--client-secret', 'csecret-1', '--scopes', 'repo,read:user']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe('Created integration gh (template github).\n');

    const list = await cli(['integrations', 'list']);
    expect(list.code).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^KEY +PROVIDER +DISPLAY NAME +CREATED +UPDATED$/);
    expect(rows.find((r) => r.startsWith('gh '))).toMatch(/^gh +github +GitHub +\d{4}-\d\d-\d\dT/);
    const listed = JSON.parse((await cli(['integrations', 'list', '--json'])).stdout);
    expect(listed.data.map((i: { unique_key: string }) => i.unique_key)).toContain('gh');

    const shown = await cli(['integrations', 'get', 'gh']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Client id +cid-1$/m);
    expect(shown.stdout).toMatch(/^Client secret +\(hidden: --show-secret\)$/m);
    expect(shown.stdout).toMatch(/^Scopes +repo,read:user$/m);
    expect(shown.stdout).not.toContain('csecret-1');
    const shownJson = JSON.parse((await cli(['integrations', 'get', 'gh', '--json'])).stdout);
    expect(shownJson.data.credentials).toEqual({ type: 'OAUTH2', client_id: 'cid-1', scopes: 'repo,read:user', webhook_secret: null });
    expect((await cli(['integrations', 'get', 'gh', '--show-secret'])).stdout).toMatch(/^Client secret +csecret-1$/m);
    expect(JSON.parse((await cli(['integrations', 'get', 'gh', '--show-secret', '--json'])).stdout).data.credentials.client_secret).toBe('csecret-1');

    // --scopes alone keeps the client; the secret can come from stdin.
    expect((await cli(['integrations', 'update', 'gh', '--scopes', 'repo'])).code).toBe(0);
    expect((await cli(['integrations', 'update', 'gh', '--client-secret', '-', '--display-name', 'GH'], { stdin: 'csecret-2\n' })).stdout).toBe('Updated integration gh.\n');
    const after = await kw.api('/integrations/gh?include=credentials');
    expect(after.body.data).toMatchObject({ display_name: 'GH', credentials: { client_id: 'cid-1', client_secret: 'csecret-2', scopes: 'repo' } });
    expect((await cli(['integrations', 'update', 'gh'])).code).toBe(2);

    expect((await cli(['integrations', 'delete', 'gh', '--yes'])).stdout).toBe('Deleted integration gh.\n');
    expect((await kw.api('/integrations/gh')).status).toBe(404);
  });

  it('exits 1 with the server error for an unknown integration', async () => {
    const { code, stdout, stderr } = await cli(['integrations', 'get', 'nope']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('error unknown_provider_config: There is no integration "nope"\n');
  });

  it('exits 1 when the server refuses the secret key', async () => {
    const { code, stderr } = await cli(['integrations', 'list', '--secret-key', 'not-the-secret-key-at-all']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error unknown_account: /);
    expect(stderr).not.toContain('not-the-secret-key-at-all');
  });

  it('exits 3 when the server cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    const { code, stderr } = await cli(['integrations', 'list', '--host', `http://127.0.0.1:${port}`]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/^error network_error: GET http:\/\/127\.0\.0\.1:\d+\/integrations failed/);
  });

  it('will not delete without --yes off a terminal, and asks on one', async () => {
    await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'keep', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'a', client_secret: 'b' } }) });
    const refused = await cli(['integrations', 'delete', 'keep']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to delete without --yes/);
    const declined = await cli(['integrations', 'delete', 'keep'], { isTTY: true, stdin: 'n\n' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toMatch(/Delete the integration "keep" and all its connections\? \[y\/N\] keyway integrations delete: aborted/);
    expect((await kw.api('/integrations/keep')).status).toBe(200);
    expect((await cli(['integrations', 'delete', 'keep'], { isTTY: true, stdin: 'y\n' })).code).toBe(0);
    expect((await kw.api('/integrations/keep')).status).toBe(404);
  });
});

describe('connections and token', () => {
  beforeAll(async () => {
    expect((await cli(['integrations', 'create', 'fake', '--provider', 'fake', '--client-id', 'cid', '--client-secret', 'sec'])).code).toBe(0);
    expect((await cli(['integrations', 'create', 'ac', '--provider', 'activecampaign'])).code).toBe(0);
    await putConnection('fake', 'u1', { type: 'OAUTH2', access_token: 'access-u1-SECRET', refresh_token: 'refresh-u1-SECRET', expires_at: future(3600), raw: { access_token: 'access-u1-SECRET' } });
    await putConnection('fake', 'u2', { type: 'OAUTH2', access_token: 'access-u2-SECRET', raw: {} });
    await putConnection('ac', 'k1', { type: 'API_KEY', apiKey: 'api-key-SECRET', fields: { apiKey: 'api-key-SECRET' } }, 'activecampaign');
  });

  it('lists connections as a table and as the API JSON', async () => {
    const list = await cli(['connections', 'list', '--integration', 'fake']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INTEGRATION +CONNECTION ID +PROVIDER +END USER +CREATED +STATUS$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^fake +u1 +fake +end-u1 <u1@example\.com> +\S+ +ok$/), expect.stringMatching(/^fake +u2 /)]);
    const parsed = JSON.parse((await cli(['connections', 'list', '--search', 'u2', '--json'])).stdout);
    expect(parsed.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual(['u2']);
    expect(JSON.parse((await cli(['connections', 'list', '--limit', '1', '--page', '1', '--json'])).stdout).connections).toHaveLength(1);
    expect((await cli(['connections', 'list', '--end-user', 'nobody'])).stdout).toBe('No connections.\n');
  });

  it('shows a connection without any secret', async () => {
    const shown = await cli(['connections', 'get', 'fake', 'u1']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Auth mode +OAUTH2$/m);
    expect(shown.stdout).toMatch(/^Expires +\d{4}-\d\d-\d\dT[\d:.]+Z$/m);
    expect(shown.stdout).toMatch(/^Metadata +\{"plan":"pro"\}$/m);
    const asJson = await cli(['connections', 'get', 'fake', 'u1', '--json']);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ connection_id: 'u1', credentials: { type: 'OAUTH2', expires_at: expect.any(String) } });
    for (const out of [shown.stdout, asJson.stdout]) expect(out).not.toContain('SECRET');
    const missing = await cli(['connections', 'get', 'fake', 'nobody']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error unknown_connection: /) });
  });

  it('prints the token alone, or the credentials of an API-key connection as JSON', async () => {
    expect(await cli(['token', 'fake', 'u1'])).toEqual({ code: 0, stdout: 'access-u1-SECRET\n', stderr: '' });
    expect(JSON.parse((await cli(['token', 'fake', 'u1', '--json'])).stdout)).toBe('access-u1-SECRET');
    const apiKey = await cli(['token', 'ac', 'k1']);
    expect(apiKey.code).toBe(0);
    expect(JSON.parse(apiKey.stdout)).toMatchObject({ type: 'API_KEY', apiKey: 'api-key-SECRET' });
  });

  it('refreshes and prints the new expiry, never the token', async () => {
    provider.onToken((_req, body, res) => {
      expect(body.get('grant_type')).toBe('refresh_token');
      json(res, 200, { access_token: 'access-u1-NEW-SECRET', refresh_token: 'refresh-u1-NEW', token_type: 'bearer', expires_in: 7200 });
    });
    const before = Date.now();
    const refreshed = await cli(['connections', 'refresh', 'fake', 'u1']);
    expect(refreshed.stderr).toBe('');
    expect(refreshed.code).toBe(0);
    const [, expiry] = /^Refreshed fake u1: expires (\S+)\.\n$/.exec(refreshed.stdout)!;
    expect(Date.parse(expiry!) - before).toBeGreaterThan(7000_000);
    expect(refreshed.stdout).not.toContain('SECRET');
    expect((await cli(['token', 'fake', 'u1'])).stdout).toBe('access-u1-NEW-SECRET\n');

    provider.onToken((_req, _body, res) => json(res, 400, { error: 'invalid_grant', error_description: 'revoked' }));
    const failed = await cli(['connections', 'refresh', 'fake', 'u1']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error \w+: /);
  });

  it('deletes a connection with --yes', async () => {
    expect((await cli(['connections', 'delete', 'fake', 'u2'])).code).toBe(2);
    expect((await cli(['connections', 'delete', 'fake', 'u2', '-y'])).stdout).toBe('Deleted connection u2 of fake.\n');
    expect(await kw.keyway.store.getConnection('fake', 'u2')).toBeUndefined();
  });
});

describe('providers', () => {
  it('lists and shows Provider Templates', async () => {
    const list = await cli(['providers', 'list', '--search', 'github']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME +DISPLAY NAME +AUTH MODE +CATEGORIES$/m);
    expect(list.stdout).toMatch(/^github +GitHub +OAUTH2 /m);
    expect(JSON.parse((await cli(['providers', 'list', '--json'])).stdout).data.length).toBeGreaterThan(10);
    const shown = await cli(['providers', 'get', 'github']);
    expect(shown.stdout).toMatch(/^Token URL +https:\/\/github\.com\/login\/oauth\/access_token$/m);
    expect(JSON.parse((await cli(['providers', 'get', 'github', '--json'])).stdout).data.name).toBe('github');
    expect((await cli(['providers', 'get', 'no-such-template'])).code).toBe(1);
  });

  it('shows an input that is a choice by its values, one with a pattern by its pattern', async () => {
    const shown = (await cli(['providers', 'get', 'intercom'])).stdout;
    expect(shown).toContain('apiHost (Intercom API host, one of api.intercom.io, api.eu.intercom.io, api.au.intercom.io)');
    expect((await cli(['providers', 'get', 'zendesk'])).stdout).toContain('subdomain (Zendesk subdomain, /^[a-z0-9][a-z0-9-]{0,62}$/)');
  });
});

describe('keys generate', () => {
  it('prints keys in .env format that the server configuration accepts as they are', async () => {
    const { code, stdout } = await cli(['keys', 'generate']);
    expect(code).toBe(0);
    const env = parseEnv(stdout);
    expect(Object.keys(env).sort()).toEqual(['KEYWAY_ENCRYPTION_KEY', 'KEYWAY_PUBLIC_KEY', 'KEYWAY_SECRET_KEY', 'KEYWAY_WEBHOOK_SECRET']);
    const dir = await mkdtemp(join(tmpdir(), 'keyway-cli-keys-'));
    try {
      const { config, notices } = await loadConfig(env, dir);
      expect(notices).toEqual([]); // nothing had to be generated
      expect(config.encryptionKeys).toHaveLength(1);
      expect(config.encryptionKeys[0]).toHaveLength(32);
      expect(config.secretKey).toBe(env.KEYWAY_SECRET_KEY);
      expect(existsSync(join(dir, '.keyway'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const again = JSON.parse((await cli(['keys', 'generate', '--json'])).stdout);
    expect(again.KEYWAY_SECRET_KEY).not.toBe(env.KEYWAY_SECRET_KEY);
  });
});

describe('doctor and reencrypt (local)', () => {
  const KEY_A = randomBytes(32);
  const KEY_B = randomBytes(32);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyway-cli-local-'));
    const store = await JsonFileStore.open(join(dir, 'db.json'), new Keyring([KEY_A]));
    const now = new Date().toISOString();
    await store.putIntegration({ unique_key: 'app', provider: 'github', display_name: 'App', client_id: 'cid', client_secret: 'sec', scopes: [], created_at: now, updated_at: now });
    await store.writeConnection('app', 'c1', () => ({
      id: 'id-c1', provider_config_key: 'app', connection_id: 'c1', provider: 'github',
      credentials: { type: 'OAUTH2', access_token: 'a', raw: {} },
      connection_config: {}, metadata: {}, end_user: null, last_refresh_failure: null, created_at: now, updated_at: now,
    }));
    await store.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The environment of a server using `dir` (not running) with the given key. */
  const localEnv = (key: string, extra: Record<string, string> = {}) => ({
    KEYWAY_DB_PATH: join(dir, 'db.json'),
    KEYWAY_ENCRYPTION_KEY: key,
    KEYWAY_SERVER_URL: kw.url,
    KEYWAY_SECRET_KEY: SECRET_KEY,
    KEYWAY_PUBLIC_KEY: 'some-public-key',
    KEYWAY_WEBHOOK_SECRET: kw.config.webhookSecret,
    ...extra,
  });
  const lines = (out: string) => out.trimEnd().split('\n');

  it('passes on a good setup: the running server holds its database', async () => {
    const env = {
      KEYWAY_DB_PATH: kw.config.dbPath,
      KEYWAY_ENCRYPTION_KEY: b64(kw.config.encryptionKeys[0]!),
      KEYWAY_TEMPLATES_DIR: join(kw.dir, 'templates'),
      KEYWAY_PUBLIC_KEY: 'some-public-key',
      KEYWAY_WEBHOOK_SECRET: kw.config.webhookSecret,
    };
    const { code, stdout, stderr } = await cli(['doctor'], { env });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines(stdout)).toEqual([
      expect.stringMatching(/^✓ configuration +loads \(environment\); server URL http:\/\/127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^✓ database +\S+db\.json \(\d+ integrations?, \d+ connections?, mode 0600\)$/),
      `✓ encryption key  in use by the server (pid ${process.pid}): decryption not checked`,
      expect.stringMatching(/^✓ templates +\d+ templates load \(built-in \+ \S+templates\)$/),
      expect.stringMatching(/^✓ server +reachable at http:\/\/127\.0\.0\.1:\d+ \(GET \/health\)$/),
      expect.stringMatching(/^✓ secret key +accepted \(GET \/integrations: \d+ integrations?; from KEYWAY_SECRET_KEY\)$/),
      'All checks passed.',
    ]);
    // The file as the server reads it (with its journal): the same integrations as it serves.
    const inFile = Number(/database .*\((\d+) integrations?/.exec(stdout)![1]);
    const served = Number(/GET \/integrations: (\d+) integrations?/.exec(stdout)![1]);
    expect(inFile).toBeGreaterThan(1);
    expect(inFile).toBe(served);
  });

  it('decrypts a database no server holds, and fails on a wrong key with what to do', async () => {
    const good = await cli(['doctor', '--json'], { env: localEnv(b64(KEY_A)) });
    expect(good.code).toBe(0);
    const report = JSON.parse(good.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.find((c: { name: string }) => c.name === 'encryption key')).toEqual({ name: 'encryption key', status: 'ok', message: `decrypts all 2 records (current key id ${keyId(KEY_A)})` });

    const bad = await cli(['doctor'], { env: localEnv(b64(KEY_B)) });
    expect(bad.code).toBe(1);
    expect(lines(bad.stdout)).toContainEqual(
      expect.stringMatching(new RegExp(`^✗ encryption key +KEYWAY_ENCRYPTION_KEY \\(key id ${keyId(KEY_B)}\\) cannot decrypt 2 of 2 records: .+ → set KEYWAY_ENCRYPTION_KEY to the key the database was written with`)),
    );
    expect(lines(bad.stdout).at(-1)).toBe('1 check failed.');
  });

  it('fails on a missing database and generates nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'keyway-cli-empty-'));
    try {
      // No keys at all: the server would generate them; the doctor only says so.
      const { code, stdout } = await cli(['doctor', '--host', kw.url], { cwd: empty, env: { KEYWAY_SERVER_URL: undefined, KEYWAY_SECRET_KEY: undefined } });
      expect(code).toBe(1);
      const out = lines(stdout);
      expect(out[0]).toMatch(/^✓ configuration +loads .*the server will generate KEYWAY_ENCRYPTION_KEY, KEYWAY_SECRET_KEY, KEYWAY_PUBLIC_KEY, KEYWAY_WEBHOOK_SECRET into secrets\.json/);
      expect(out[1]).toBe(`✗ database        ${join(empty, '.keyway', 'db.json')} does not exist → start the server once to create it, or set KEYWAY_DB_PATH to the existing file`);
      expect(out[2]).toBe('- encryption key  not checked (no usable database)');
      expect(out).toContainEqual(expect.stringMatching(/^✗ secret key +none to check → set KEYWAY_SECRET_KEY/));
      expect(existsSync(join(empty, '.keyway'))).toBe(false);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('reports a world-readable database and an unreachable server', async () => {
    const port = await freePort();
    await chmod(join(dir, 'db.json'), 0o644);
    try {
      const { code, stdout } = await cli(['doctor'], { env: localEnv(b64(KEY_A), { KEYWAY_SERVER_URL: `http://127.0.0.1:${port}` }) });
      expect(code).toBe(1);
      expect(stdout).toContain(`✗ database        ${join(dir, 'db.json')} is readable by every user (mode 0644) → chmod 600 ${join(dir, 'db.json')}`);
      expect(stdout).toMatch(new RegExp(`^✗ server +cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED → start it`, 'm'));
      expect(stdout).toContain('- secret key      not checked (the server is not reachable)');
    } finally {
      await chmod(join(dir, 'db.json'), 0o600);
    }
  });

  it('says so when the store is PostgreSQL, and never prints its URL', async () => {
    const env = localEnv(b64(KEY_A), { KEYWAY_DATABASE_URL: 'postgres://keyway:pg-PASSWORD@127.0.0.1:5432/keyway' });
    const doctor = await cli(['doctor'], { env });
    expect(doctor.stdout).toMatch(/^- database +not checked: KEYWAY_DATABASE_URL is set \(PostgreSQL at 127\.0\.0\.1:5432\)/m);
    const reencrypt = await cli(['reencrypt'], { env }); // nothing listens there: it tries, and says where
    expect(reencrypt).toMatchObject({ code: 1, stderr: expect.stringMatching(/^keyway reencrypt: KEYWAY_DATABASE_URL postgres:\/\/keyway:\*\*\*@127\.0\.0\.1:5432\/keyway: /) });
    for (const out of [doctor.stdout, doctor.stderr, reencrypt.stdout, reencrypt.stderr]) expect(out).not.toContain('PASSWORD');
  });

  it('reencrypt re-seals a PostgreSQL store too (one reencrypt for both stores)', async () => {
    const postgres = await startPostgres();
    try {
      const url = await postgres.createDatabase('cli_reencrypt');
      const store = await PostgresStore.open(url, new Keyring([KEY_A]));
      await store.putIntegration({ unique_key: 'pg', provider: 'github', display_name: 'PG', client_id: 'cid', client_secret: 'pg-secret', scopes: [], created_at: new Date().toISOString(), updated_at: new Date().toISOString() });
      await store.close();
      const done = await cli(['reencrypt'], { env: localEnv(`${b64(KEY_B)},${b64(KEY_A)}`, { KEYWAY_DATABASE_URL: url }) });
      expect(done.stderr).toBe('');
      expect(lines(done.stdout)).toEqual(['Re-encrypting: 1/1', `Re-encrypted 1 records under key ${keyId(KEY_B)}`]);
      const onlyB = await PostgresStore.open(url, new Keyring([KEY_B]));
      try {
        expect((await onlyB.getIntegration('pg'))?.client_secret).toBe('pg-secret');
      } finally {
        await onlyB.close();
      }
    } finally {
      await postgres.stop();
    }
  }, 60_000);

  it('reencrypt re-seals under the new key, and refuses while a server holds the file', async () => {
    const holder = await JsonFileStore.open(join(dir, 'db.json'), new Keyring([KEY_A])); // stands in for a server
    try {
      const refused = await cli(['reencrypt'], { env: localEnv(`${b64(KEY_B)},${b64(KEY_A)}`) });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^keyway reencrypt: KEYWAY_DB_PATH \\S+ is in use by another Keyway server \\(pid ${process.pid}\\)`));
    } finally {
      await holder.close();
    }
    const done = await cli(['reencrypt'], { env: localEnv(`${b64(KEY_B)},${b64(KEY_A)}`) });
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(lines(done.stdout)).toEqual(['Re-encrypting: 1/2', 'Re-encrypting: 2/2', `Re-encrypted 2 records under key ${keyId(KEY_B)}`]);
    // Key B alone now opens everything.
    const doctor = JSON.parse((await cli(['doctor', '--json'], { env: localEnv(b64(KEY_B)) })).stdout);
    expect(doctor.checks.find((c: { name: string }) => c.name === 'encryption key').status).toBe('ok');
    const missing = await cli(['reencrypt'], { env: localEnv(b64(KEY_B), { KEYWAY_DB_PATH: join(dir, 'none.json') }) });
    expect(missing).toMatchObject({ code: 1, stderr: `keyway reencrypt: KEYWAY_DB_PATH ${join(dir, 'none.json')} does not exist: nothing to re-encrypt\n` });
  });
});

describe('the bin', () => {
  const spawn = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Result>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd, timeout: 20_000, env: { PATH: process.env.PATH!, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('runs --help and an API command', async () => {
    const [help, list] = await Promise.all([
      spawn(['--help']),
      spawn(['providers', 'list', '--search', 'github', '--json'], { KEYWAY_SERVER_URL: kw.url, KEYWAY_SECRET_KEY: SECRET_KEY }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).data.map((p: { name: string }) => p.name)).toContain('github');
  });
});
