import type { Connection } from '@keyway/node';
import { intFlag, stringFlag, type CommandSpec, type GroupSpec } from '../context.ts';
import { compactJson, isoDate, orDash } from '../output.ts';

const KEY_ARG = { name: 'key', description: 'the Config Key of the integration' };
const ID_ARG = { name: 'connectionId', description: 'the Connection Id (usually your user id)' };

const list: CommandSpec = {
  path: ['connections', 'list'],
  summary: 'list connections (100 per page)',
  options: {
    integration: { type: 'string', value: 'KEY', description: 'only this integration (Config Key)' },
    search: { type: 'string', value: 'TEXT', description: 'connection ids (or end users) containing TEXT' },
    'end-user': { type: 'string', value: 'ID', description: 'only connections of this end user id' },
    limit: { type: 'string', value: 'N', description: 'page size, 1 to 1000 (100)' },
    page: { type: 'string', value: 'P', description: 'page number, from 0 (0)' },
  },
  examples: ['keyway connections list --integration github', 'keyway connections list --search acme --limit 20 --page 1'],
  async run(ctx, _args, flags) {
    const integrationId = stringFlag(flags, 'integration');
    const search = stringFlag(flags, 'search');
    const endUserId = stringFlag(flags, 'end-user');
    const limit = intFlag(flags, 'limit');
    const page = intFlag(flags, 'page');
    const answer = await ctx.client().listConnections({
      ...(integrationId !== undefined && { integrationId }),
      ...(search !== undefined && { search }),
      ...(endUserId !== undefined && { endUserId }),
      ...(limit !== undefined && { limit }),
      ...(page !== undefined && { page }),
    });
    if (ctx.json) {
      ctx.out.data(answer);
      return 0;
    }
    ctx.out.table(
      [{ header: 'INTEGRATION' }, { header: 'CONNECTION ID' }, { header: 'PROVIDER' }, { header: 'END USER' }, { header: 'CREATED', max: 24 }, { header: 'STATUS', max: 16 }],
      answer.connections.map((c) => [
        c.provider_config_key,
        c.connection_id,
        c.provider,
        orDash(c.end_user?.email ? `${c.end_user.id} <${c.end_user.email}>` : c.end_user?.id),
        isoDate(c.created),
        c.errors.length > 0 ? 'refresh failing' : 'ok',
      ]),
      'No connections.',
    );
    return 0;
  },
};

const get: CommandSpec = {
  path: ['connections', 'get'],
  summary: 'show one connection, without its credentials (keyway token prints the token)',
  args: [KEY_ARG, ID_ARG],
  details: 'With --json, `credentials` keeps only `type` and `expires_at`.',
  examples: ['keyway connections get github user-42'],
  async run(ctx, [key, id]) {
    const connection = await ctx.client().getConnection(key!, id!);
    if (ctx.json) {
      ctx.out.data(withoutSecrets(connection));
      return 0;
    }
    const failure = (connection as { last_refresh_failure?: { code?: string; description?: string; at?: string; backoff_until?: string } | null }).last_refresh_failure;
    const user = connection.end_user;
    ctx.out.fields([
      ['Integration', connection.provider_config_key],
      ['Connection id', connection.connection_id],
      ['Provider', connection.provider],
      ['Auth mode', connection.credentials.type],
      ['Expires', expiry(connection)],
      ['End user', user ? [user.id, user.email && `<${user.email}>`, user.display_name && `(${user.display_name})`].filter(Boolean).join(' ') : '-'],
      ['Created', isoDate(connection.created_at)],
      ['Updated', isoDate(connection.updated_at)],
      ['Refresh', failure ? `failing since ${isoDate(failure.at)}: ${failure.code ?? 'error'}${failure.description ? ` (${failure.description})` : ''}; next try after ${isoDate(failure.backoff_until)}` : 'ok'],
      ['Config', compactJson(connection.connection_config)],
      ['Metadata', compactJson(connection.metadata)],
    ]);
    return 0;
  },
};

const remove: CommandSpec = {
  path: ['connections', 'delete'],
  summary: 'delete a connection (its credentials are gone for good)',
  args: [KEY_ARG, ID_ARG],
  options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required off a terminal)' } },
  details: 'Asks for confirmation on a terminal. Without a terminal and without --yes it refuses (exit 2).',
  examples: ['keyway connections delete github user-42 --yes'],
  async run(ctx, [key, id], flags) {
    await ctx.confirm(`Delete the connection "${id}" of "${key}"?`, flags);
    const result = await ctx.client().deleteConnection(key!, id!);
    if (ctx.json) {
      ctx.out.data(result);
      return 0;
    }
    ctx.out.line(`Deleted connection ${id} of ${key}.`);
    return 0;
  },
};

const refresh: CommandSpec = {
  path: ['connections', 'refresh'],
  summary: 'refresh the access token now and print its new expiry (never the token)',
  args: [KEY_ARG, ID_ARG],
  details: 'With --json, the connection as `connections get --json` prints it.',
  examples: ['keyway connections refresh github user-42'],
  async run(ctx, [key, id]) {
    const connection = await ctx.client().getConnection(key!, id!, true);
    if (ctx.json) {
      ctx.out.data(withoutSecrets(connection));
      return 0;
    }
    ctx.out.line(`Refreshed ${key} ${id}: expires ${expiry(connection)}.`);
    return 0;
  },
};

export const connections: GroupSpec = {
  name: 'connections',
  summary: "one end user's credentials for one integration",
  commands: [list, get, remove, refresh],
};

function expiry(connection: Connection): string {
  const at = (connection.credentials as { expires_at?: unknown }).expires_at;
  return at === undefined || at === null ? 'never (no expiry given)' : isoDate(at);
}

/** The connection with credentials cut down to what is not secret. */
export function withoutSecrets(connection: Connection): unknown {
  const { type, expires_at: expiresAt } = connection.credentials as { type: string; expires_at?: unknown };
  return { ...connection, credentials: { type, ...(expiresAt !== undefined && { expires_at: expiresAt }) } };
}
