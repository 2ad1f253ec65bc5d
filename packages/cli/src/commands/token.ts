import type { CommandSpec } from '../context.ts';

export const token: CommandSpec = {
  path: ['token'],
  summary: 'print a valid access token (refreshed by the server when due), alone, for scripts',
  args: [
    { name: 'key', description: 'the Config Key of the integration' },
    { name: 'connectionId', description: 'the Connection Id' },
  ],
  options: { force: { type: 'boolean', description: 'refresh the token first, even if it is still valid' } },
  details:
    'OAuth 2.0: the access token alone on stdout. Other auth modes (API key, Basic, client credentials): the\n' +
    'credentials object as one line of JSON. With --json, the value as JSON (a quoted string for a token).',
  examples: ['curl -H "Authorization: Bearer $(keyway token github user-42)" https://api.github.com/user'],
  async run(ctx, [key, id], flags) {
    const value = await ctx.client().getToken(key!, id!, flags.force === true);
    if (ctx.json || typeof value !== 'string') ctx.out.raw(`${JSON.stringify(value)}\n`);
    else ctx.out.raw(`${value}\n`);
    return 0;
  },
};
