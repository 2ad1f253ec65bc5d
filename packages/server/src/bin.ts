#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { createKeyway } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger, defaultLogFormat, type LogFormat, type LogLevel } from './log.ts';
import { StoreError } from './store/json-file.ts';
import { reencrypt as reencryptStore } from './store/reencrypt.ts';
import { TemplateError } from './templates/catalog.ts';

const HELP = `Usage: keyway-server [command]

Commands:
  (none)       start the server
  reencrypt    re-seal every stored secret under the current key (the first of
               KEYWAY_ENCRYPTION_KEY); run it while no server uses the database
  --help       show this text

Environment (a .env in the working directory is read too; real variables win):
  PORT                        port to listen on (3003)
  KEYWAY_HOST                 address to bind (127.0.0.1)
  KEYWAY_SERVER_URL           public base URL (http://127.0.0.1:$PORT)
  KEYWAY_SECRET_KEY           backend API key (generated into secrets.json beside the DB)
  KEYWAY_PUBLIC_KEY           browser key (generated into secrets.json)
  KEYWAY_DB_PATH              the JSON database, one server per file (./.keyway/db.json)
  KEYWAY_DATABASE_URL         PostgreSQL instead (postgres://user:pass@host:5432/db): many instances,
                              one database; then the three keys below must be set explicitly
  KEYWAY_ENCRYPTION_KEY       base64 of 32 bytes; "new,old" to rotate (generated into secrets.json)
  KEYWAY_TEMPLATES_DIR        extra Provider Templates
  KEYWAY_ALLOWED_ORIGINS      comma-separated origins allowed to run the browser flow
  KEYWAY_PROVIDER_TIMEOUT_MS  time-out of every request to a provider (10000)
  KEYWAY_LOG_LEVEL            debug, info, warn, error, silent (info)
  KEYWAY_LOG_FORMAT           json (one JSON object a line) or pretty; default: pretty when
                              NODE_ENV is development or test, or unset with a terminal; else json
  KEYWAY_METRICS_TOKEN        a Bearer token for GET /metrics only (the secret key works too)
  KEYWAY_METRICS_PORT         also serve GET /metrics without a token on 127.0.0.1:PORT
`;

const command = process.argv[2];
if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(HELP);
  process.exit(0);
}
if (command !== undefined && command !== 'reencrypt') {
  process.stderr.write(`keyway-server: unknown command "${command}" (see keyway-server --help)\n`);
  process.exit(1);
}

// A .env in the working directory (the repo root with `pnpm server`); real env vars win.
if (existsSync('.env')) process.loadEnvFile('.env');

if (command === 'reencrypt') await reencrypt();
else await serve();

async function serve(): Promise<void> {
  let format: LogFormat;
  try {
    format = defaultLogFormat();
  } catch (e) {
    process.stderr.write(`keyway-server: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const log = createLogger((process.env.KEYWAY_LOG_LEVEL as LogLevel | undefined) ?? 'info', undefined, { format });
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
}

/** Re-seals everything under the current key, so the old key can then be dropped from KEYWAY_ENCRYPTION_KEY. */
async function reencrypt(): Promise<void> {
  try {
    const { config } = await loadConfig();
    let shown = -1;
    const { resealed, keyId } = await reencryptStore(config, (done, total) => {
      const tenth = total === 0 ? 0 : Math.floor((done * 10) / total);
      if (tenth === shown && done !== total) return;
      shown = tenth;
      process.stdout.write(`Re-encrypting: ${done}/${total}\n`);
    });
    process.stdout.write(`Re-encrypted ${resealed} records under key ${keyId}\n`);
    process.exit(0);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`keyway-server reencrypt: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  }
}
