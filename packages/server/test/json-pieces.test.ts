import { describe, expect, it } from 'vitest';
import { MemoizedJson } from '../src/store/json-pieces.ts';

const text = (json: MemoizedJson, doc: unknown) =>
  Buffer.concat([...json.pieces(doc)].map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))).toString('utf8');

describe('MemoizedJson', () => {
  it('gives the text of JSON.stringify, whatever the document', () => {
    const json = new MemoizedJson();
    const docs: unknown[] = [
      { version: 1, integrations: [], connections: [{ a: 1, é: 'ü\u2028"\\' }, { b: [1, null] }], skipped: undefined, n: null },
      { rows: [1, 'two', null, { x: undefined }], nested: { deep: [{ y: 2 }] } },
      {},
      [{ a: 1 }],
      'plain',
      null,
      { d: new Date(0), list: [new Date(1)] },
    ];
    for (const doc of docs) expect(text(json, doc)).toBe(JSON.stringify(doc));
  });

  it('encodes a record once per object: a new object is encoded anew, a changed-in-place one is not', () => {
    const json = new MemoizedJson();
    const a = { id: 'a', v: 1 };
    const b = { id: 'b', v: 1 };
    expect(text(json, { rows: [a, b] })).toBe(JSON.stringify({ rows: [a, b] }));
    const b2 = { ...b, v: 2 };
    expect(text(json, { rows: [a, b2] })).toBe(JSON.stringify({ rows: [a, b2] }));
    (a as { v: number }).v = 3; // the contract: records are never changed in place (the JSON store freezes them)
    expect(text(json, { rows: [a] })).toBe('{"rows":[{"id":"a","v":1}]}');
  });
});
