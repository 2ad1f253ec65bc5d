import { existsSync } from 'node:fs';
import { createKeyway } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger, type LogLevel } from './log.ts';
import { StoreError } from './store/json-file.ts';
import { TemplateError } from './templates/catalog.ts';

// A .env in the working directory (the repo root with `pnpm server`); real env vars win.
if (existsSync('.env')) process.loadEnvFile('.env');

const log = createLogger((process.env.KEYWAY_LOG_LEVEL as LogLevel | undefined) ?? 'info');
try {
  const { config, notices } = await loadConfig();
  for (const notice of notices) process.stdout.write(`${notice}\n`);
  const keyway = await createKeyway(config, log);
  const { url } = await keyway.listen();
  log.info('Keyway server ready', { url, public_url: config.serverUrl, callback_url: `${config.serverUrl}/oauth/callback`, templates: keyway.templates.list().length });
  const stop = () => void keyway.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  if (e instanceof ConfigError || e instanceof StoreError || e instanceof TemplateError) {
    process.stderr.write(`keyway-server: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
