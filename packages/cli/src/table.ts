/**
 * Aligned plain-text tables and key/value blocks, no dependency. Widths count code points (a wide
 * CJK character counts as one); values wider than their column end with `…`.
 */

export interface Column {
  readonly header: string;
  /** Widest the column may be before its values are cut (default 48). */
  readonly max?: number;
}

const DEFAULT_MAX = 48;
const MIN_WIDTH = 6;
const GAP = '  ';

/**
 * Control characters (ESC, CR, BEL, C1 ...) from server data could drive the terminal: a value
 * such as a provider's error description or a metadata field is shown with each replaced by `�`.
 */
export function clean(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

export function width(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Cuts `value` to `max` code points, the last one being `…` when anything was cut. */
export function truncate(value: string, max: number): string {
  if (width(value) <= max) return value;
  if (max <= 0) return '';
  return [...value].slice(0, max - 1).join('') + '…';
}

function pad(value: string, to: number): string {
  return value + ' '.repeat(Math.max(0, to - width(value)));
}

/**
 * Renders rows under a header. With `totalWidth` (the terminal's columns), the widest columns
 * shrink until the table fits, down to a few characters each.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], totalWidth?: number): string {
  const cells = rows.map((row) => columns.map((_, i) => clean(row[i] ?? '')));
  const widths = columns.map((c, i) => Math.min(c.max ?? DEFAULT_MAX, Math.max(width(c.header), ...cells.map((r) => width(r[i]!)))));
  if (totalWidth !== undefined && totalWidth > 0) {
    const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
    while (total() > totalWidth) {
      let widest = 0;
      for (let i = 1; i < widths.length; i++) if (widths[i]! > widths[widest]!) widest = i;
      if (widths[widest]! <= MIN_WIDTH) break;
      widths[widest]!--;
    }
  }
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const cut = truncate(v, widths[i]!);
        return i === values.length - 1 ? cut : pad(cut, widths[i]!);
      })
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `label  value` lines with the labels aligned; values are cleaned and cut at `maxValue` if given. */
export function renderFields(fields: readonly (readonly [string, string])[], maxValue?: number): string {
  const labelWidth = Math.max(0, ...fields.map(([label]) => width(label)));
  return fields
    .map(([label, value]) => {
      const v = clean(value);
      return `${pad(`${label}`, labelWidth)}  ${maxValue === undefined ? v : truncate(v, Math.max(MIN_WIDTH, maxValue - labelWidth - 2))}`.trimEnd();
    })
    .join('\n') + '\n';
}
