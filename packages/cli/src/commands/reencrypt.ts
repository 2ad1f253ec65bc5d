import { CliError, type CommandSpec } from '../context.ts';
import { loadLocalConfig } from '../local-config.ts';
import { reencrypt as reencryptStore } from '../server-internals.ts';

const BAR = 24;

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
      const progress = ctx.json ? undefined : ctx.io.isTTY ? barProgress(ctx.io.stdout) : lineProgress(ctx.io.stdout);
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

type Progress = (done: number, total: number) => void;

/** A bar redrawn in place on a terminal, at most once per percent. */
function barProgress(out: { write(s: string): unknown }): Progress {
  let shown = -1;
  return (done, total) => {
    const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
    if (percent === shown && done !== total) return;
    shown = percent;
    const filled = Math.round((percent * BAR) / 100);
    out.write(`\rRe-encrypting [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${done}/${total}`);
  };
}

/** Off a terminal (logs): a line at each tenth, as keyway-server reencrypt prints. */
function lineProgress(out: { write(s: string): unknown }): Progress {
  let shown = -1;
  return (done, total) => {
    const tenth = total === 0 ? 0 : Math.floor((done * 10) / total);
    if (tenth === shown && done !== total) return;
    shown = tenth;
    out.write(`Re-encrypting: ${done}/${total}\n`);
  };
}
