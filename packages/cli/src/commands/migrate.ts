import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, type CommandSpec } from '../context.ts';
import { loadLocalConfig } from '../local-config.ts';
import { JsonFileStore, Keyring, PostgresStore } from '../server-internals.ts';

/** JSON with object keys sorted, so a copy compares equal whatever order its database keeps keys in. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

export const migrate: CommandSpec = {
  path: ['migrate'],
  summary: 'copy a JSON-file store into PostgreSQL, verify the copy, report counts (local)',
  options: {
    from: { type: 'string', value: 'FILE', required: true, description: 'the JSON database (KEYWAY_DB_PATH of the old server)' },
    to: { type: 'string', value: 'URL', required: true, description: 'the PostgreSQL database (postgres://user:pass@host:5432/db); migrated on open' },
  },
  details:
    'Run it with the old server stopped (the JSON file is locked while read). The encryption keys come\n' +
    'from KEYWAY_ENCRYPTION_KEY (or ./.env): the same keys must be given to the new servers.\n' +
    'Integrations and connections are copied (sealed again, bound to their new rows); short-lived flow\n' +
    'state and connect sessions are not. Every copied record is read back and compared.',
  examples: ['KEYWAY_ENCRYPTION_KEY=... keyway migrate --from .keyway/db.json --to postgres://keyway@127.0.0.1:5432/keyway'],
  async run(ctx, _args, flags) {
    const from = resolve(ctx.io.cwd, String(flags.from));
    const to = String(flags.to);
    if (!existsSync(from)) throw new CliError(`--from ${from} does not exist`);
    if (!/^postgres(ql)?:\/\//.test(to)) throw new CliError('--to must be a postgres:// URL');
    const loaded = await loadLocalConfig({ ...ctx.env, KEYWAY_DB_PATH: from, KEYWAY_DATABASE_URL: undefined }, ctx.io.cwd);
    if (!loaded.ok) throw new CliError(loaded.error);
    if (loaded.wouldGenerate.includes('KEYWAY_ENCRYPTION_KEY')) throw new CliError('no encryption key: set KEYWAY_ENCRYPTION_KEY to the key(s) of the JSON store');
    const keyring = new Keyring(loaded.config.encryptionKeys);
    let source: JsonFileStore | undefined;
    let target: PostgresStore | undefined;
    try {
      source = await JsonFileStore.open(from, keyring);
      target = await PostgresStore.open(to, keyring);
      const integrations = await source.listIntegrations();
      const { connections } = await source.listConnections({ limit: Number.MAX_SAFE_INTEGER, offset: 0 });
      const total = integrations.length + connections.length;
      let done = 0;
      let shown = -1;
      const step = () => {
        done++;
        const tenth = Math.floor((done * 10) / Math.max(total, 1));
        if (!ctx.json && (tenth !== shown || done === total)) ctx.io.stdout.write(`Copying: ${done}/${total}\n`);
        shown = tenth;
      };
      for (const i of integrations) {
        await target.putIntegration(i);
        step();
      }
      for (const c of connections) {
        await target.writeConnection(c.provider_config_key, c.connection_id, () => c);
        step();
      }
      // Verify: every record reads back from PostgreSQL as it was.
      const mismatches: string[] = [];
      for (const i of integrations) if (canonical(await target.getIntegration(i.unique_key)) !== canonical(i)) mismatches.push(`integration ${i.unique_key}`);
      for (const c of connections) {
        if (canonical(await target.getConnection(c.provider_config_key, c.connection_id)) !== canonical(c)) mismatches.push(`connection ${c.provider_config_key}/${c.connection_id}`);
      }
      if (mismatches.length > 0) throw new CliError(`the copy differs for ${mismatches.length} record(s): ${mismatches.slice(0, 5).join(', ')}`);
      const report = { integrations: integrations.length, connections: connections.length, verified: total };
      if (ctx.json) ctx.out.data(report);
      else ctx.out.line(`Copied and verified ${report.integrations} integrations and ${report.connections} connections into PostgreSQL.`);
      return 0;
    } finally {
      await source?.close().catch(() => undefined);
      await target?.close().catch(() => undefined);
    }
  },
};
