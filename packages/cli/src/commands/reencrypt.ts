import { existsSync } from 'node:fs';
import { CliError, type CommandSpec } from '../context.ts';
import { loadLocalConfig } from '../local-config.ts';
import { JsonFileStore, Keyring } from '../server-internals.ts';

const BAR = 24;

export const reencrypt: CommandSpec = {
  path: ['reencrypt'],
  summary: 're-seal every stored secret under the current key (local; run it with the server stopped)',
  details:
    'Reads the server\'s configuration (environment and ./.env) and opens its database directly.\n' +
    'Rotation: set KEYWAY_ENCRYPTION_KEY="new,old", run keyway reencrypt, then drop ",old".\n' +
    'It refuses while a server holds the database (exit 1), and generates no key.',
  examples: ['KEYWAY_ENCRYPTION_KEY="$NEW,$OLD" keyway reencrypt'],
  async run(ctx) {
    const loaded = await loadLocalConfig(ctx.env, ctx.io.cwd);
    if (!loaded.ok) throw new CliError(`${loaded.error}`);
    const { config } = loaded;
    if (loaded.wouldGenerate.includes('KEYWAY_ENCRYPTION_KEY')) {
      throw new CliError('no encryption key: set KEYWAY_ENCRYPTION_KEY ("new,old" to rotate); secrets.json beside the DB has none');
    }
    if (config.databaseUrl) throw new CliError('KEYWAY_DATABASE_URL is set: keyway reencrypt re-seals the JSON file store (KEYWAY_DB_PATH) only');
    if (!existsSync(config.dbPath)) throw new CliError(`KEYWAY_DB_PATH ${config.dbPath} does not exist: nothing to re-encrypt`);
    const keyring = new Keyring(config.encryptionKeys);
    let store: JsonFileStore | undefined;
    try {
      // open() takes the one-process lock: it refuses while a server uses the file.
      store = await JsonFileStore.open(config.dbPath, keyring);
      const progress = ctx.json ? undefined : ctx.io.isTTY ? barProgress(ctx.io.stdout) : lineProgress(ctx.io.stdout);
      const { resealed, total } = await store.resealAll(progress);
      if (!ctx.json && ctx.io.isTTY && total > 0) ctx.io.stdout.write('\n');
      await store.close();
      store = undefined;
      if (ctx.json) ctx.out.data({ resealed, total, key_id: keyring.currentKeyId });
      else ctx.out.line(`Re-encrypted ${resealed} records under key ${keyring.currentKeyId}`);
      return 0;
    } catch (e) {
      await store?.close().catch(() => undefined);
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
