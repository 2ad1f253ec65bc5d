import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';

/**
 * The server's logger: pino underneath (JSON lines, one object a line), behind the small interface
 * every call site uses. Secrets never reach a line: pino redacts the well-known field names, names
 * that merely look secret are masked here (pino matches paths, not patterns), and credentials that
 * slip into a free-text value (`Bearer ...`, `?code=...`) are scrubbed from it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** `json`: one JSON object a line (production); `pretty`: `time level msg key="value"` for a person. Default: {@link defaultLogFormat}. */
  readonly format?: LogFormat;
}

/** The names pino censors outright. */
const REDACT_PATHS = ['token', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'secret', 'secret_key', 'public_key', 'password', 'api_key', 'apiKey', 'authorization', 'cookie', 'code', 'code_verifier', 'state'];
const CENSOR = '[redacted]';
/** Any other name that looks like it could hold a secret; `*_code` (error codes) and `config_key` are ours and safe. */
const SECRET_FIELD = /token|secret|password|code|verifier|state|key|authorization|cookie|signature/i;
const isSecretName = (k: string) => SECRET_FIELD.test(k) && !k.endsWith('_code') && k !== 'config_key';
/** Credentials inside free text: an Authorization value, a query parameter whose name looks secret. */
const AUTH_VALUE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const SECRET_PARAM = /([?&;]\s*[^=&\s"']*(?:token|secret|code|key|password|state|signature|verifier)[^=&\s"']*=)[^&\s"']+/gi;

export const scrub = (value: string): string => value.replace(AUTH_VALUE, `$1 ${CENSOR}`).replace(SECRET_PARAM, `$1${CENSOR}`);

/** The request id of the request being served, carried across awaits (set by the server's handler). */
const requestIds = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it awaits) as part of the request `id`: every line logged meanwhile carries `request_id`. */
export const withRequestId = <T>(id: string, fn: () => T): T => requestIds.run(id, fn);
export const currentRequestId = (): string | undefined => requestIds.getStore();

/**
 * `KEYWAY_LOG_FORMAT` when set; otherwise `pretty` in development (NODE_ENV `development` or `test`,
 * or NODE_ENV unset with a terminal on stderr: a person is reading) and `json` everywhere else
 * (NODE_ENV=production, containers, anything piped to a collector).
 */
export function defaultLogFormat(env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): LogFormat {
  const chosen = env.KEYWAY_LOG_FORMAT;
  if (chosen === 'json' || chosen === 'pretty') return chosen;
  if (chosen) throw new Error(`KEYWAY_LOG_FORMAT: "${chosen}" must be json or pretty`);
  const mode = env.NODE_ENV;
  if (mode === 'development' || mode === 'test') return 'pretty';
  return mode === undefined || mode === '' ? (tty ? 'pretty' : 'json') : 'json';
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n'), options: LoggerOptions = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  const destination: DestinationStream = { write: (line: string) => write(format === 'json' ? line.trimEnd() : prettyLine(line)) };
  const logger = pino(
    {
      level,
      base: null, // no pid/hostname on every line: the collector knows where a line came from
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      mixin: () => {
        const id = requestIds.getStore();
        return id === undefined ? {} : { request_id: id };
      },
    },
    destination,
  );
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields: LogFields = {}) => {
    if (!logger.isLevelEnabled(lvl)) return;
    const clean: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      clean[k] = isSecretName(k) && !REDACT_PATHS.includes(k) ? CENSOR : typeof v === 'string' ? scrub(v) : v;
    }
    logger[lvl](clean, scrub(msg));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** pino's JSON line as `2026-11-30T20:00:00.000Z info  msg key="value" ...` (a few microseconds; development only). */
function prettyLine(json: string): string {
  const { time, level, msg, ...fields } = JSON.parse(json) as Record<string, unknown>;
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${String(time)} ${String(level).padEnd(5)} ${String(msg)}${parts.length ? ' ' + parts.join(' ') : ''}`;
}
