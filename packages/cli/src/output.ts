import { renderFields, renderTable, type Column } from './table.ts';

/** Where a command writes. `run()` takes one so tests can capture everything. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Whether a person is at a terminal (stdin and stdout): confirmations, progress bar, fitting tables. */
  readonly isTTY: boolean;
  /** Read for a confirmation on a TTY and for `--client-secret -`; process.stdin by default. */
  readonly stdin?: NodeJS.ReadableStream;
  /** The terminal's width, to fit tables (TTY only). */
  readonly columns?: number;
  /** Ends a command that runs until stopped (`keyway logs --follow`); the bin stops on Ctrl-C instead. */
  readonly signal?: AbortSignal;
}

/** Human or machine (`--json`) output of one command. */
export class Output {
  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  /** A line on stdout (human mode). */
  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Raw text on stdout, as is (tokens, .env lines). */
  raw(text: string): void {
    this.io.stdout.write(text);
  }

  /** JSON on stdout, indented; one value per command. */
  data(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(columns: readonly Column[], rows: readonly (readonly string[])[], empty: string): void {
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    this.io.stdout.write(renderTable(columns, rows, this.io.isTTY ? this.io.columns : undefined));
  }

  fields(fields: readonly (readonly [string, string])[]): void {
    this.io.stdout.write(renderFields(fields, this.io.isTTY ? this.io.columns : undefined));
  }

  /** A line on stderr. */
  error(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

/** An ISO 8601 date for people, or `-` when there is none. */
export function isoDate(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '-';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

/** A compact one-line JSON for people (`{}` for nothing). */
export function compactJson(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return JSON.stringify(value);
}

export const orDash = (value: unknown): string => (value === undefined || value === null || value === '' ? '-' : String(value));
