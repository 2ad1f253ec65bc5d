import { CliError, type CommandSpec } from '../context.ts';
import { loadLocalConfig } from '../local-config.ts';
import { progressFor } from '../progress.ts';
import { reencrypt as reencryptStore } from '../server-internals.ts';

export const reencrypt: CommandSpec = {
  path: ['reencrypt'],
  summary: 're-seal every stored secret under the current key (local: the JSON file with its server stopped, or PostgreSQL)',
  details:
    'Reads the server\'s configuration (environment and ./.env) and opens its database directly\n' +
    '(the JSON file, or PostgreSQL when KEYWAY_DATABASE_URL is set), as keyway-server reencrypt does.\n' +
    'Rotation: set KEYWAY_ENCRYPTION_KEY="new,old", run keyway reencrypt, then drop ",old".\n' +
    'The JSON file: it refuses while a server holds it (exit 1). PostgreSQL: run it once every\n' +
    'instance has the new key first. It generates no key.',
  examples: ['KEYWAY_ENCRYPTION_KEY="$NEW,$OLD" keyway reencrypt'],
  async run(ctx) {
    const loaded = await loadLocalConfig(ctx.env, ctx.io.cwd);
    if (!loaded.ok) throw new CliError(`${loaded.error}`);
    const { config } = loaded;
    if (loaded.wouldGenerate.includes('KEYWAY_ENCRYPTION_KEY')) {
      throw new CliError('no encryption key: set KEYWAY_ENCRYPTION_KEY ("new,old" to rotate); secrets.json beside the DB has none');
    }
    try {
      const progress = ctx.json ? undefined : progressFor(ctx.io, ctx.io.stdout, 'Re-encrypting');
      const { resealed, total, keyId } = await reencryptStore(config, progress);
      if (!ctx.json && ctx.io.isTTY && total > 0) ctx.io.stdout.write('\n');
      if (ctx.json) ctx.out.data({ resealed, total, key_id: keyId });
      else ctx.out.line(`Re-encrypted ${resealed} records under key ${keyId}`);
      return 0;
    } catch (e) {
      throw new CliError(`${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ')}`);
    }
  },
};
