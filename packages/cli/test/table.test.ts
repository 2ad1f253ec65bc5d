import { describe, expect, it } from 'vitest';
import { clean, renderFields, renderTable, truncate } from '../src/table.ts';

describe('tables', () => {
  it('aligns columns and cuts values wider than the column with …', () => {
    const out = renderTable([{ header: 'KEY' }, { header: 'NAME', max: 8 }, { header: 'N' }], [['a', 'short', '1'], ['longer-key', 'a very long name', '22']]);
    expect(out).toBe(['KEY         NAME      N', 'a           short     1', 'longer-key  a very …  22', ''].join('\n'));
  });

  it('shrinks the widest columns to fit a terminal width', () => {
    const out = renderTable([{ header: 'A' }, { header: 'B' }], [['x'.repeat(30), 'y'.repeat(30)]], 40);
    for (const line of out.trimEnd().split('\n')) expect([...line].length).toBeLessThanOrEqual(40);
    expect(out).toContain('…');
  });

  it('neutralises terminal control characters from server data', () => {
    expect(clean('ok\u001b[31mred\u0007\r\n')).toBe('ok\uFFFD[31mred\uFFFD\uFFFD\uFFFD');
    expect(renderFields([['Metadata', 'a\u001b]0;title\u0007']])).not.toMatch(/[\u0000-\u001f](?!$)/);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});
