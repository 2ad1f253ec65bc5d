import { KeywayError, Nango, type Connection, type ImportConnectionBody, type Integration } from '@keyway/node';
import { CliError, UsageError, stringFlag, type CommandSpec, type GroupSpec } from '../context.ts';
import { progressFor } from '../progress.ts';

/** What happened to one integration or connection; `reason` says why one was skipped. */
interface Item {
  readonly key: string;
  readonly connection_id?: string;
  readonly reason?: string;
}

interface Summary {
  readonly dry_run: boolean;
  readonly integrations: { imported: Item[]; existing: Item[]; skipped: Item[] };
  readonly connections: { imported: Item[]; existing: Item[]; skipped: Item[] };
}

const PAGE = 100;

/**
 * Reads a Nango server through its public API (the secret key of one environment) and writes its
 * integrations and connections into Keyway. Nothing already in Keyway is touched: an integration
 * or connection that exists is left as it is (its tokens may be newer than the source's, and a
 * rotated refresh token must never be replaced by an older one), so running it again is safe.
 */
const nango: CommandSpec = {
  path: ['import', 'nango'],
  summary: 'copy integrations and connections (with credentials) from a Nango server into Keyway',
  options: {
    from: { type: 'string', value: 'URL', required: true, description: 'the Nango server (https://api.nango.dev, or your own)' },
    'dry-run': { type: 'boolean', description: 'read everything and report what would be imported; write nothing' },
  },
  details:
    'Here --secret-key is the Nango environment\'s secret key; Keyway\'s comes from KEYWAY_SECRET_KEY\n' +
    '(environment, ./.env or secrets.json beside the DB) and --host. Integrations whose provider has no\n' +
    'Keyway template, and connections of auth modes Keyway cannot import (only OAUTH2, API_KEY, BASIC\n' +
    'and TWO_STEP can), are skipped with the reason. Integrations and connections already in Keyway are\n' +
    'left as they are, so a second run imports only what is new.',
  examples: ['keyway import nango --from https://api.nango.dev --secret-key "$NANGO_SECRET_KEY" --dry-run'],
  async run(ctx, _args, flags) {
    const from = stringFlag(flags, 'from')!;
    const sourceKey = stringFlag(flags, 'secret-key');
    if (sourceKey === undefined) throw new UsageError('--secret-key (the Nango secret key) is required');
    const dryRun = flags['dry-run'] === true;
    const source = new Nango({ host: from, secretKey: sourceKey, timeoutMs: ctx.timeoutMs() });
    const target = ctx.client(false);
    const summary: Summary = { dry_run: dryRun, integrations: { imported: [], existing: [], skipped: [] }, connections: { imported: [], existing: [], skipped: [] } };

    const templates = new Set((await target.listProviders()).data.map((p) => p.name));
    const present = new Set((await target.listIntegrations()).configs.map((i) => i.unique_key));
    const { configs } = await source.listIntegrations().catch(sourceError(from));
    const usable = new Set<string>();
    for (const { unique_key: key } of configs) {
      const { data: integration } = await source.getIntegration({ uniqueKey: key }, { include: ['credentials'] }).catch(sourceError(from));
      if (present.has(key)) {
        summary.integrations.existing.push({ key });
        usable.add(key);
      } else if (!templates.has(integration.provider)) {
        summary.integrations.skipped.push({ key, reason: `Keyway has no template "${integration.provider}"` });
      } else {
        const refused = dryRun ? undefined : await refusal(target.createIntegration(integrationBody(integration)));
        if (refused) summary.integrations.skipped.push({ key, reason: refused });
        else {
          summary.integrations.imported.push({ key });
          usable.add(key);
        }
      }
    }

    const listed = await listAll(source).catch(sourceError(from));
    const progress = ctx.json ? undefined : progressFor(ctx.io, ctx.io.stderr, 'Importing connections');
    for (const [i, { provider_config_key: key, connection_id: id }] of listed.entries()) {
      progress?.(i, listed.length);
      const item = { key, connection_id: id };
      if (!usable.has(key)) {
        summary.connections.skipped.push({ ...item, reason: `its integration "${key}" was not imported` });
        continue;
      }
      if (present.has(key) && (await exists(target, key, id))) {
        summary.connections.existing.push(item);
        continue;
      }
      const connection = await source.getConnection(key, id, false, true).catch(sourceError(from));
      const body = importBody(connection);
      if (typeof body === 'string') {
        summary.connections.skipped.push({ ...item, reason: body });
        continue;
      }
      const refused = dryRun ? undefined : await refusal(target.importConnection(body));
      if (refused) summary.connections.skipped.push({ ...item, reason: refused });
      else summary.connections.imported.push(item);
    }
    progress?.(listed.length, listed.length);
    if (ctx.json) {
      ctx.out.data(summary);
      return 0;
    }
    report(ctx.out, summary);
    return 0;
  },
};

export const importGroup: GroupSpec = { name: 'import', summary: 'bring connections in from another broker', commands: [nango] };

/** Every connection of the source, page by page. */
async function listAll(source: Nango) {
  const all: { provider_config_key: string; connection_id: string }[] = [];
  for (let page = 0; ; page++) {
    const { connections } = await source.listConnections({ limit: PAGE, page });
    all.push(...connections);
    if (connections.length < PAGE) return all;
  }
}

async function exists(target: Nango, key: string, id: string): Promise<boolean> {
  return (await target.listConnections({ integrationId: key, connectionId: id })).connections.some((c) => c.connection_id === id && c.provider_config_key === key);
}

function integrationBody(i: Integration) {
  const c = i.credentials;
  return {
    unique_key: i.unique_key,
    provider: i.provider,
    display_name: i.display_name,
    ...(c && 'client_id' in c && c.client_id && { credentials: { type: 'OAUTH2' as const, client_id: c.client_id, client_secret: c.client_secret ?? '', scopes: c.scopes ?? '' } }),
  };
}

/** The import body of a source connection, or why it cannot be imported. */
function importBody(c: Connection): ImportConnectionBody | string {
  const creds = c.credentials as unknown as Record<string, unknown>;
  const common = {
    provider_config_key: c.provider_config_key,
    connection_id: c.connection_id,
    connection_config: c.connection_config ?? {},
    metadata: c.metadata ?? {},
    ...(c.end_user && { end_user: { id: c.end_user.id, ...(c.end_user.email && { email: c.end_user.email }), ...(c.end_user.display_name && { display_name: c.end_user.display_name }) } }),
    ...(c.tags && Object.keys(c.tags).length > 0 && { tags: c.tags }),
  };
  const text = (k: string) => (typeof creds[k] === 'string' && creds[k] !== '' ? (creds[k] as string) : undefined);
  switch (creds.type) {
    case 'OAUTH2': {
      const access = text('access_token');
      if (!access) return 'no access token';
      const refresh = text('refresh_token');
      const expires = text('expires_at');
      return { ...common, credentials: { type: 'OAUTH2', access_token: access, ...(refresh && { refresh_token: refresh }), ...(expires && { expires_at: expires }) } };
    }
    case 'API_KEY':
      return text('apiKey') ? { ...common, credentials: { type: 'API_KEY', apiKey: text('apiKey')! } } : 'no API key';
    case 'BASIC':
      return text('username') ? { ...common, credentials: { type: 'BASIC', username: text('username')!, password: text('password') ?? '' } } : 'no username';
    case 'TWO_STEP': {
      // Nango's shape: the typed fields beside the token. Keyway checks the fields against its template
      // and posts them again for every later token; Nango's refresh_token has no use there.
      const { type: _type, token: _token, expires_at: _expires, raw, refresh_token: _refresh, ...fields } = creds;
      const token = text('token');
      if (!token) return 'no token';
      const expires = text('expires_at');
      return { ...common, credentials: { ...fields, type: 'TWO_STEP', token, ...(expires && { expires_at: expires }), ...(isObject(raw) && { raw }) } };
    }
    default:
      return `auth mode ${String(creds.type)} cannot be imported (OAUTH2, API_KEY, BASIC and TWO_STEP can)`;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keyway's refusal of one item (`invalid_connection_config: ...`), which skips it; anything else stops the import. */
async function refusal(write: Promise<unknown>): Promise<string | undefined> {
  try {
    await write;
    return undefined;
  } catch (e) {
    if (e instanceof KeywayError && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return `Keyway refused it: ${e.code}: ${e.message}`;
    throw e;
  }
}

/** A failure reading the source says so (the target's errors keep the usual reporting). */
function sourceError(from: string) {
  return (e: unknown): never => {
    throw new CliError(`reading ${from}: ${e instanceof Error ? e.message : String(e)}`);
  };
}

function report(out: { line(text?: string): void }, s: Summary): void {
  const verb = s.dry_run ? 'would import' : 'imported';
  for (const [label, part] of [['Integrations', s.integrations], ['Connections', s.connections]] as const) {
    out.line(`${label}: ${part.imported.length} ${verb}, ${part.existing.length} already in Keyway, ${part.skipped.length} skipped`);
    for (const item of part.skipped) out.line(`  skipped ${item.key}${item.connection_id ? ` / ${item.connection_id}` : ''}: ${item.reason}`);
  }
  if (s.dry_run) out.line('Dry run: nothing was written.');
}
