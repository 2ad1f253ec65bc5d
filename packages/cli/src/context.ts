import { createInterface } from 'node:readline';
import { Nango } from '@keyway/node';
import { loadEnv, readSecretsFile, secretsPathOf, type Env, type LoadedEnv } from './environment.ts';
import { Output, type Io } from './output.ts';

export const DEFAULT_HOST = 'http://127.0.0.1:3003';
export const DEFAULT_TIMEOUT_SECONDS = 30;

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** Wrong use of the command line: exit 2 with the command's help on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure already explained to the user (exit 1), e.g. a refused confirmation or a local check. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.refused,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in help for a string option (`URL`, `KEY`). */
  readonly value?: string;
  /** The command refuses to run without it (a usage error). */
  readonly required?: boolean;
  readonly description: string;
}

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandSpec {
  /** `['integrations', 'list']` or `['token']`. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Positional arguments, all required. */
  readonly args?: readonly { readonly name: string; readonly description: string }[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Extra paragraphs of help. */
  readonly details?: string;
  readonly examples?: readonly string[];
  run(ctx: Context, args: readonly string[], flags: Flags): Promise<number>;
}

export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly CommandSpec[];
}

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  host: { type: 'string', value: 'URL', description: `the Keyway server (env KEYWAY_SERVER_URL; default ${DEFAULT_HOST})` },
  'secret-key': { type: 'string', value: 'KEY', description: 'backend API key (env KEYWAY_SECRET_KEY, a .env here, or secrets.json beside the DB)' },
  json: { type: 'boolean', description: "machine output: the API's JSON" },
  timeout: { type: 'string', value: 'SECONDS', description: `time-out of each request to the server (${DEFAULT_TIMEOUT_SECONDS})` },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', description: 'print the version' },
};

/** What a command runs with: the output, the merged environment, and the server client on demand. */
export class Context {
  readonly out: Output;
  readonly loaded: LoadedEnv;
  #client: Nango | undefined;

  constructor(
    readonly io: Io,
    readonly flags: Flags,
  ) {
    this.out = new Output(io, flags.json === true);
    this.loaded = loadEnv(io.env, io.cwd);
  }

  get env(): Env {
    return this.loaded.env;
  }

  get json(): boolean {
    return this.flags.json === true;
  }

  /** --host, else KEYWAY_SERVER_URL (environment or .env), else the default. */
  host(): string {
    return stringFlag(this.flags, 'host') ?? (this.env.KEYWAY_SERVER_URL || DEFAULT_HOST);
  }

  /** The request time-out in milliseconds. */
  timeoutMs(fallbackSeconds = DEFAULT_TIMEOUT_SECONDS): number {
    const given = stringFlag(this.flags, 'timeout');
    if (given === undefined) return fallbackSeconds * 1000;
    const seconds = Number(given);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout: "${given}" is not a positive number of seconds`);
    return seconds * 1000;
  }

  /** --secret-key, else KEYWAY_SECRET_KEY (environment or .env), else the key the server generated into secrets.json. */
  secretKey(useFlag = true): { key: string; source: string } | undefined {
    const flag = useFlag ? stringFlag(this.flags, 'secret-key') : undefined;
    if (flag !== undefined) return { key: flag, source: '--secret-key' };
    if (this.io.env.KEYWAY_SECRET_KEY) return { key: this.io.env.KEYWAY_SECRET_KEY, source: 'KEYWAY_SECRET_KEY' };
    if (this.env.KEYWAY_SECRET_KEY) return { key: this.env.KEYWAY_SECRET_KEY, source: `KEYWAY_SECRET_KEY in ${this.loaded.dotenvPath}` };
    const secretsPath = secretsPathOf(this.env, this.io.cwd);
    const kept = readSecretsFile(secretsPath)?.secret_key;
    return kept === undefined ? undefined : { key: kept, source: secretsPath };
  }

  /**
   * The backend client; a usage error when there is no secret key. `keyway import nango` passes
   * false: there --secret-key is the source's key, and Keyway's comes from the environment.
   */
  client(useSecretKeyFlag = true): Nango {
    if (this.#client) return this.#client;
    const secret = this.secretKey(useSecretKeyFlag);
    if (!secret) {
      throw new UsageError(`no secret key: pass --secret-key or set KEYWAY_SECRET_KEY (also read from ./.env and ${secretsPathOf(this.env, this.io.cwd)})`);
    }
    this.#client = new Nango({ host: this.host(), secretKey: secret.key, timeoutMs: this.timeoutMs() });
    return this.#client;
  }

  /**
   * Asks a yes/no question on a TTY; off a TTY (a script) destructive commands need --yes, so
   * the answer is a usage error there.
   */
  async confirm(question: string, flags: Flags): Promise<void> {
    if (flags.yes === true) return;
    if (!this.io.isTTY) throw new CliError('refusing to delete without --yes (there is no terminal to confirm on)', EXIT.usage);
    this.io.stderr.write(`${question} [y/N] `);
    const answer = await readLine(this.io.stdin ?? process.stdin);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('aborted: nothing was deleted');
  }

  /** All of stdin without its final newline (`--client-secret -`); on a terminal, one line after a prompt. */
  async readStdin(prompt: string): Promise<string> {
    if (this.io.isTTY) {
      this.io.stderr.write(`${prompt}: `);
      return readLine(this.io.stdin ?? process.stdin);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.io.stdin ?? process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
}

function readLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative whole number from a flag, or a usage error. */
export function intFlag(flags: Flags, name: string): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: "${v}" is not a whole number`);
  return Number(v);
}
