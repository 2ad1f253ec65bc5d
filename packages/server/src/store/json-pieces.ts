/**
 * JSON.stringify of a document whose top-level arrays hold records, as pieces of text, each record
 * encoded once per object: a store that rewrites its whole file for every change re-encodes only the
 * records that changed (new objects), not the thousands that did not.
 *
 * The records are taken as immutable: a record changed in place keeps its old text. Stores hand the
 * adapter fresh (frozen) objects for every change.
 */
export class MemoizedJson {
  /** Each record's UTF-8 JSON: writing it again is a copy, not an encode. */
  readonly #memo = new WeakMap<object, Uint8Array>();

  /** The UTF-8 bytes of JSON.stringify(doc), in pieces (one per record, none of them the whole file). */
  *pieces(doc: unknown): Generator<string | Uint8Array> {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || 'toJSON' in doc) {
      yield JSON.stringify(doc);
      return;
    }
    let sep = '{';
    for (const [key, value] of Object.entries(doc)) {
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
      yield `${sep}${JSON.stringify(key)}:`;
      sep = ',';
      if (Array.isArray(value)) yield* this.#array(value);
      else yield JSON.stringify(value);
    }
    yield sep === '{' ? '{}' : '}';
  }

  *#array(rows: readonly unknown[]): Generator<string | Uint8Array> {
    if (rows.length === 0) {
      yield '[]';
      return;
    }
    for (let i = 0; i < rows.length; i++) {
      yield i === 0 ? '[' : ',';
      yield this.#encode(rows[i]);
    }
    yield ']';
  }

  #encode(row: unknown): string | Uint8Array {
    if (typeof row !== 'object' || row === null) return JSON.stringify(row) ?? 'null';
    let bytes = this.#memo.get(row);
    if (bytes === undefined) this.#memo.set(row, (bytes = Buffer.from(JSON.stringify(row) ?? 'null', 'utf8')));
    return bytes;
  }
}
