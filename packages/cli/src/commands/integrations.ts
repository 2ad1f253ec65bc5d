import type { IntegrationCredentialsInput, UpdateIntegrationBody } from '@keyway/node';
import { stringFlag, UsageError, type CommandSpec, type Context, type Flags, type GroupSpec, type OptionSpec } from '../context.ts';
import { isoDate, orDash } from '../output.ts';

const KEY_ARG = { name: 'key', description: 'the Config Key (unique key) of the integration' };

const EDIT_OPTIONS: Record<string, OptionSpec> = {
  'client-id': { type: 'string', value: 'ID', description: "your OAuth app's client id" },
  'client-secret': { type: 'string', value: 'SECRET', description: "your OAuth app's client secret; `-` reads it from stdin (keeps it out of shell history and ps)" },
  scopes: { type: 'string', value: 'a,b', description: 'comma-separated scopes asked for (besides the template\'s defaults)' },
  'display-name': { type: 'string', value: 'NAME', description: 'name shown to users (default: the template\'s)' },
};

const list: CommandSpec = {
  path: ['integrations', 'list'],
  summary: 'list the integrations',
  examples: ['keyway integrations list', 'keyway integrations list --json | jq -r ".data[].unique_key"'],
  async run(ctx) {
    const { configs } = await ctx.client().listIntegrations();
    if (ctx.json) {
      ctx.out.data({ data: configs });
      return 0;
    }
    ctx.out.table(
      [{ header: 'KEY' }, { header: 'PROVIDER' }, { header: 'DISPLAY NAME' }, { header: 'CREATED', max: 24 }, { header: 'UPDATED', max: 24 }],
      configs.map((i) => [i.unique_key, i.provider, i.display_name, isoDate(i.created_at), isoDate(i.updated_at)]),
      'No integrations yet: keyway integrations create <key> --provider <template>',
    );
    return 0;
  },
};

const get: CommandSpec = {
  path: ['integrations', 'get'],
  summary: 'show one integration (the client secret only with --show-secret)',
  args: [KEY_ARG],
  options: { 'show-secret': { type: 'boolean', description: 'also print the client secret' } },
  details: 'With --json, `credentials.client_secret` is left out unless --show-secret.',
  examples: ['keyway integrations get github', 'keyway integrations get github --show-secret --json'],
  async run(ctx, [key], flags) {
    const showSecret = flags['show-secret'] === true;
    const { data } = await ctx.client().getIntegration({ uniqueKey: key! }, { include: ['credentials'] });
    const credentials = data.credentials ?? null;
    if (ctx.json) {
      if (credentials && !showSecret) {
        const { client_secret: _hidden, ...rest } = credentials;
        ctx.out.data({ data: { ...data, credentials: rest } });
        return 0;
      }
      ctx.out.data({ data });
      return 0;
    }
    const secret = credentials?.client_secret;
    ctx.out.fields([
      ['Key', data.unique_key],
      ['Provider', data.provider],
      ['Display name', data.display_name],
      ['Client id', orDash(credentials?.client_id)],
      ['Client secret', !secret ? '-' : showSecret ? secret : '(hidden: --show-secret)'],
      ['Scopes', orDash(credentials?.scopes)],
      ['Created', isoDate(data.created_at)],
      ['Updated', isoDate(data.updated_at)],
    ]);
    return 0;
  },
};

const create: CommandSpec = {
  path: ['integrations', 'create'],
  summary: 'create an integration from a Provider Template',
  args: [KEY_ARG],
  options: { provider: { type: 'string', value: 'TEMPLATE', required: true, description: 'the Provider Template (keyway providers list)' }, ...EDIT_OPTIONS },
  details: 'OAuth 2.0 templates need --client-id and --client-secret; API-key and Basic templates take none.',
  examples: [
    'keyway integrations create github --provider github --client-id Iv1.abc --client-secret - --scopes repo,read:user < secret.txt',
    'keyway integrations create openai --provider openai',
  ],
  async run(ctx, [key], flags) {
    const provider = stringFlag(flags, 'provider')!;
    const clientId = stringFlag(flags, 'client-id');
    const clientSecret = await secretFlag(ctx, flags);
    const scopes = stringFlag(flags, 'scopes');
    if ((clientId === undefined) !== (clientSecret === undefined)) throw new UsageError('give both --client-id and --client-secret, or neither');
    if (scopes !== undefined && clientId === undefined) throw new UsageError('--scopes needs --client-id and --client-secret');
    const displayName = stringFlag(flags, 'display-name');
    const { data } = await ctx.client().createIntegration({
      unique_key: key!,
      provider,
      ...(displayName !== undefined && { display_name: displayName }),
      ...(clientId !== undefined && { credentials: oauth2(clientId, clientSecret!, scopes) }),
    });
    if (ctx.json) {
      ctx.out.data({ data });
      return 0;
    }
    ctx.out.line(`Created integration ${data.unique_key} (template ${data.provider}).`);
    return 0;
  },
};

const update: CommandSpec = {
  path: ['integrations', 'update'],
  summary: 'change the client id, secret, scopes or display name of an integration',
  args: [KEY_ARG],
  options: { provider: { type: 'string', value: 'TEMPLATE', description: 'must be the current template (a template cannot change)' }, ...EDIT_OPTIONS },
  details: 'Credentials flags left out keep their current values (the CLI reads them first): `--scopes a,b` alone changes only the scopes.',
  examples: ['keyway integrations update github --scopes repo,read:org', 'keyway integrations update github --display-name "GitHub (prod)"'],
  async run(ctx, [key], flags) {
    const clientId = stringFlag(flags, 'client-id');
    const clientSecret = await secretFlag(ctx, flags);
    const scopes = stringFlag(flags, 'scopes');
    const displayName = stringFlag(flags, 'display-name');
    const provider = stringFlag(flags, 'provider');
    if ([clientId, clientSecret, scopes, displayName, provider].every((v) => v === undefined)) {
      throw new UsageError('nothing to update: give --client-id, --client-secret, --scopes or --display-name');
    }
    const client = ctx.client();
    let credentials: IntegrationCredentialsInput | undefined;
    if (clientId !== undefined || clientSecret !== undefined || scopes !== undefined) {
      // The API replaces the credentials as a whole: fill what was not given from the current ones.
      const current = (await client.getIntegration({ uniqueKey: key! }, { include: ['credentials'] })).data.credentials;
      credentials = oauth2(clientId ?? current?.client_id ?? '', clientSecret ?? current?.client_secret ?? '', scopes ?? current?.scopes ?? undefined);
    }
    // `provider` is not part of Nango's update body; the server checks it is unchanged.
    const body: UpdateIntegrationBody & { provider?: string } = {
      ...(displayName !== undefined && { display_name: displayName }),
      ...(credentials && { credentials }),
      ...(provider !== undefined && { provider }),
    };
    const { data } = await client.updateIntegration({ uniqueKey: key! }, body);
    if (ctx.json) {
      ctx.out.data({ data });
      return 0;
    }
    ctx.out.line(`Updated integration ${data.unique_key}.`);
    return 0;
  },
};

const remove: CommandSpec = {
  path: ['integrations', 'delete'],
  summary: 'delete an integration and all its connections',
  args: [KEY_ARG],
  options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required off a terminal)' } },
  details: 'Asks for confirmation on a terminal. Without a terminal and without --yes it refuses (exit 2).',
  examples: ['keyway integrations delete github', 'keyway integrations delete github --yes'],
  async run(ctx, [key], flags) {
    await ctx.confirm(`Delete the integration "${key}" and all its connections?`, flags);
    const result = await ctx.client().deleteIntegration(key!);
    if (ctx.json) {
      ctx.out.data(result);
      return 0;
    }
    ctx.out.line(`Deleted integration ${key}.`);
    return 0;
  },
};

export const integrations: GroupSpec = {
  name: 'integrations',
  summary: 'a Config Key bound to a Provider Template and your OAuth app',
  commands: [list, get, create, update, remove],
};

function oauth2(clientId: string, clientSecret: string, scopes: string | undefined): IntegrationCredentialsInput {
  return { type: 'OAUTH2', client_id: clientId, client_secret: clientSecret, ...(scopes !== undefined && { scopes }) };
}

async function secretFlag(ctx: Context, flags: Flags): Promise<string | undefined> {
  const value = stringFlag(flags, 'client-secret');
  if (value !== '-') return value;
  const secret = await ctx.readStdin('Client secret');
  if (secret === '') throw new UsageError('--client-secret -: no secret on stdin');
  return secret;
}
