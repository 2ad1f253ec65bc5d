import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KeywayError } from '@keyway/node';
import { connections } from './commands/connections.ts';
import { doctor } from './commands/doctor.ts';
import { importGroup } from './commands/import-nango.ts';
import { integrations } from './commands/integrations.ts';
import { keys } from './commands/keys.ts';
import { logs } from './commands/logs.ts';
import { providers } from './commands/providers.ts';
import { migrate } from './commands/migrate.ts';
import { reencrypt } from './commands/reencrypt.ts';
import { token } from './commands/token.ts';
import { CliError, Context, DEFAULT_HOST, EXIT, GLOBAL_OPTIONS, UsageError, type CommandSpec, type Flags, type GroupSpec, type OptionSpec } from './context.ts';
import type { Io } from './output.ts';

export type { Io } from './output.ts';
export { EXIT } from './context.ts';

const GROUPS: readonly GroupSpec[] = [integrations, connections, providers, keys, importGroup];
const LEAVES: readonly CommandSpec[] = [token, logs, reencrypt, migrate, doctor];
const ALL: readonly CommandSpec[] = [...GROUPS.flatMap((g) => g.commands), ...LEAVES];

/** Codes @keyway/node raises before sending anything: a wrong argument, so a usage error. */
const CLIENT_USAGE_CODES = new Set([
  'missing_secret_key',
  'conflicting_secret_key',
  'invalid_host_url',
  'invalid_timeout',
  'missing_provider_config_key',
  'missing_connection_id',
  'missing_provider',
]);

const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  the server or a check said no (error <code>: <message> on stderr)
  2  usage error: unknown command or flag, missing argument (the command's help on stderr)
  3  cannot reach the server (network error or time-out)
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs one `keyway` command line and returns its exit code. Everything goes through `io`, so
 * tests run it in-process; the bin passes the real process.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  // First pass: every flag of every command, leniently, to find the command words.
  let first;
  try {
    first = parseArgs({ args: [...argv], options: parseOptions(unionOptions()), allowPositionals: true, strict: false });
  } catch (e) {
    return usage(io, (e as Error).message, topHelp());
  }
  const words = first.positionals;
  const wantsHelp = first.values.help === true;

  if (words[0] === 'help') return help(io, words.slice(1));
  if (words.length === 0) {
    if (first.values.version === true) {
      io.stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    if (wantsHelp) {
      io.stdout.write(topHelp());
      return EXIT.ok;
    }
    return usage(io, 'a command is required', topHelp());
  }

  const group = GROUPS.find((g) => g.name === words[0]);
  let command: CommandSpec | undefined;
  if (group) {
    if (words.length === 1) {
      if (wantsHelp) {
        io.stdout.write(groupHelp(group));
        return EXIT.ok;
      }
      return usage(io, `${group.name}: a subcommand is required`, groupHelp(group));
    }
    command = group.commands.find((c) => c.path[1] === words[1]);
    if (!command) return usage(io, `unknown command "${group.name} ${words[1]}"`, groupHelp(group));
  } else {
    command = LEAVES.find((c) => c.path[0] === words[0]);
    if (!command) return usage(io, `unknown command "${words[0]}"`, topHelp());
  }

  if (wantsHelp) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }

  // Second pass: this command's flags only, strictly.
  let flags: Flags;
  let argWords: string[];
  try {
    const parsed = parseArgs({ args: [...argv], options: parseOptions({ ...GLOBAL_OPTIONS, ...command.options }), allowPositionals: true, strict: true });
    flags = parsed.values as Flags; // no option is `multiple`
    argWords = parsed.positionals.slice(command.path.length);
  } catch (e) {
    return usage(io, (e as Error).message.split('\n')[0]!, commandHelp(command));
  }
  if (flags.version === true) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    if (spec.required === true && (flags[name] === undefined || flags[name] === '')) return usage(io, `--${name}${spec.value ? ` ${spec.value}` : ''} is required`, commandHelp(command));
  }
  const expected = command.args ?? [];
  if (argWords.length < expected.length) {
    return usage(io, `missing ${expected.slice(argWords.length).map((a) => `<${a.name}>`).join(' ')}`, commandHelp(command));
  }
  if (argWords.length > expected.length) return usage(io, `unexpected argument "${argWords[expected.length]}"`, commandHelp(command));
  for (const [i, a] of expected.entries()) {
    if (argWords[i] === '') return usage(io, `<${a.name}> must not be empty`, commandHelp(command));
  }

  const ctx = new Context(io, flags);
  try {
    return await command.run(ctx, argWords, flags);
  } catch (e) {
    return failure(io, command, e, ctx);
  }
}

function failure(io: Io, command: CommandSpec, e: unknown, ctx: Context): number {
  const name = `keyway ${command.path.join(' ')}`;
  if (e instanceof UsageError) return usage(io, e.message, commandHelp(command));
  if (e instanceof CliError) {
    io.stderr.write(`${name}: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof KeywayError) {
    if (CLIENT_USAGE_CODES.has(e.code)) return usage(io, e.message, commandHelp(command));
    io.stderr.write(`error ${e.code}: ${oneLine(e.message)}\n`);
    if (e.code === 'network_error' || e.code === 'timeout') {
      io.stderr.write(`(is a Keyway server running at ${ctx.host()}? Set --host or KEYWAY_SERVER_URL)\n`);
      return EXIT.unreachable;
    }
    if (e.code === 'unknown_account') io.stderr.write('(check --secret-key / KEYWAY_SECRET_KEY: it must be the server\'s secret key)\n');
    return EXIT.refused;
  }
  io.stderr.write(`${name}: ${e instanceof Error ? oneLine(e.message) : String(e)}\n`);
  return EXIT.refused;
}

function usage(io: Io, message: string, helpText: string): number {
  io.stderr.write(`keyway: ${message}\n\n${helpText}`);
  return EXIT.usage;
}

function help(io: Io, words: readonly string[]): number {
  if (words.length === 0) {
    io.stdout.write(topHelp());
    return EXIT.ok;
  }
  const group = GROUPS.find((g) => g.name === words[0]);
  const command = group ? (words[1] === undefined ? undefined : group.commands.find((c) => c.path[1] === words[1])) : LEAVES.find((c) => c.path[0] === words[0]);
  if (command) io.stdout.write(commandHelp(command));
  else if (group && words[1] === undefined) io.stdout.write(groupHelp(group));
  else return usage(io, `unknown command "${words.join(' ')}"`, topHelp());
  return EXIT.ok;
}

/* ───────────── parsing ───────────── */

function unionOptions(): Record<string, OptionSpec> {
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const c of ALL) Object.assign(all, c.options);
  return all;
}

function parseOptions(specs: Readonly<Record<string, OptionSpec>>): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]));
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

/* ───────────── help ───────────── */

function optionLines(specs: Readonly<Record<string, OptionSpec>>): string {
  const rows = Object.entries(specs).map(([name, s]) => [`${s.short ? `-${s.short}, ` : ''}--${name}${s.value ? ` ${s.value}` : ''}`, s.description] as const);
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(w)}  ${d}\n`).join('');
}

function synopsis(c: CommandSpec): string {
  const required = Object.entries(c.options ?? {}).filter(([, s]) => s.required === true);
  return [
    'keyway',
    ...c.path,
    ...(c.args ?? []).map((a) => `<${a.name}>`),
    ...required.map(([name, s]) => `--${name} ${s.value ?? ''}`.trim()),
    ...(Object.keys(c.options ?? {}).length > required.length ? ['[flags]'] : []),
  ].join(' ');
}

function commandHelp(c: CommandSpec): string {
  const args = c.args ?? [];
  const w = Math.max(0, ...args.map((a) => a.name.length + 2));
  return [
    `Usage: ${synopsis(c)}\n\n`,
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n`,
    c.details ? `\n${c.details}\n` : '',
    args.length > 0 ? `\nArguments:\n${args.map((a) => `  ${`<${a.name}>`.padEnd(w)}  ${a.description}\n`).join('')}` : '',
    c.options && Object.keys(c.options).length > 0 ? `\nFlags:\n${optionLines(c.options)}` : '',
    `\nGlobal flags:\n${optionLines(GLOBAL_OPTIONS)}`,
    c.examples && c.examples.length > 0 ? `\nExamples:\n${c.examples.map((e) => `  ${e}\n`).join('')}` : '',
    `\n${EXIT_CODES_HELP}`,
  ].join('');
}

function groupHelp(g: GroupSpec): string {
  const rows = g.commands.map((c) => [synopsis(c), c.summary] as const);
  const w = Math.max(...rows.map(([s]) => s.length));
  return (
    `Usage: keyway ${g.name} <command> [arguments] [flags]\n\n` +
    `${g.summary[0]!.toUpperCase()}${g.summary.slice(1)}.\n\n` +
    `Commands:\n${rows.map(([s, d]) => `  ${s.padEnd(w)}  ${d}\n`).join('')}\n` +
    `Global flags:\n${optionLines(GLOBAL_OPTIONS)}\n` +
    `keyway ${g.name} <command> --help shows a command's flags.\n\n${EXIT_CODES_HELP}`
  );
}

function topHelp(): string {
  const rows: (readonly [string, string])[] = [
    ...GROUPS.map((g) => [`${g.name} ${g.commands.map((c) => c.path[1]).join('|')}`, g.summary] as const),
    ...LEAVES.map((c) => [`${c.path[0]}${c.args ? ` ${c.args.map((a) => `<${a.name}>`).join(' ')}` : ''}`, c.summary] as const),
  ];
  const w = Math.max(...rows.map(([s]) => s.length));
  return (
    'keyway: manage a Keyway server (OAuth connection broker) from the command line.\n\n' +
    'Usage: keyway <command> [arguments] [flags]\n\n' +
    `Commands:\n${rows.map(([s, d]) => `  ${s.padEnd(w)}  ${d}\n`).join('')}\n` +
    `Global flags:\n${optionLines(GLOBAL_OPTIONS)}\n` +
    `The API commands talk to the server at --host (KEYWAY_SERVER_URL, else ${DEFAULT_HOST}) with the secret key\n` +
    'from --secret-key, KEYWAY_SECRET_KEY, a .env in the current folder, or the secrets.json the server\n' +
    'generated beside its database. keys generate, reencrypt and doctor work locally.\n\n' +
    'keyway <command> --help (or keyway help <command>) shows a command\'s arguments and flags.\n\n' +
    EXIT_CODES_HELP
  );
}

/** The bin's entry: the real process as io, the exit code as process.exitCode. */
export async function main(): Promise<void> {
  // `keyway providers list | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    stdin: process.stdin,
    ...(process.stdout.columns !== undefined && { columns: process.stdout.columns }),
  });
}
