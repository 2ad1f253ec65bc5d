import type { Provider } from '@keyway/node';
import { stringFlag, type CommandSpec, type GroupSpec } from '../context.ts';
import { orDash } from '../output.ts';

const list: CommandSpec = {
  path: ['providers', 'list'],
  summary: 'list the Provider Templates the server knows',
  options: { search: { type: 'string', value: 'TEXT', description: 'names or display names containing TEXT' } },
  examples: ['keyway providers list --search google'],
  async run(ctx, _args, flags) {
    const search = stringFlag(flags, 'search');
    const answer = await ctx.client().listProviders(search === undefined ? undefined : { search });
    if (ctx.json) {
      ctx.out.data(answer);
      return 0;
    }
    ctx.out.table(
      [{ header: 'NAME', max: 32 }, { header: 'DISPLAY NAME', max: 32 }, { header: 'AUTH MODE', max: 12 }, { header: 'CATEGORIES', max: 40 }],
      answer.data.map((p) => [p.name, p.display_name, p.auth_mode, (p.categories ?? []).join(', ')]),
      search === undefined ? 'No Provider Templates.' : `No Provider Template matches "${search}".`,
    );
    return 0;
  },
};

const get: CommandSpec = {
  path: ['providers', 'get'],
  summary: 'show one Provider Template',
  args: [{ name: 'name', description: 'the template name (keyway providers list)' }],
  examples: ['keyway providers get github', 'keyway providers get github --json'],
  async run(ctx, [name]) {
    const { data } = await ctx.client().getProvider({ provider: name! });
    if (ctx.json) {
      ctx.out.data({ data });
      return 0;
    }
    const inputs = Object.entries(data.connection_config ?? {}).map(([field, spec]) => `${field} (${spec.title}, ${spec.pattern !== undefined ? `/${spec.pattern}/` : `one of ${(spec.enum ?? []).join(', ')}`})`);
    ctx.out.fields([
      ['Name', data.name],
      ['Display name', data.display_name],
      ['Auth mode', data.auth_mode],
      ['Categories', orDash((data.categories ?? []).join(', '))],
      ['Docs', orDash(data.docs)],
      ...optional(data, 'authorization_url', 'Authorization URL'),
      ...optional(data, 'token_url', 'Token URL'),
      ...(data.default_scopes ? [['Default scopes', orDash(data.default_scopes.join(data.scope_separator ?? ' '))] as const] : []),
      ...(inputs.length > 0 ? [['Inputs', inputs.join('; ')] as const] : []),
    ]);
    return 0;
  },
};

function optional(p: Provider, field: string, label: string): (readonly [string, string])[] {
  const v = p[field];
  return typeof v === 'string' && v !== '' ? [[label, v]] : [];
}

export const providers: GroupSpec = {
  name: 'providers',
  summary: 'Provider Templates: how each OAuth API is reached',
  commands: [list, get],
};
