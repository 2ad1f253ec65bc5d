import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DOC, officialClasses, renderDoc } from '../../../scripts/nango-compatibility.ts';
import { NANGO_COMPATIBILITY } from '../../../scripts/nango-compatibility-status.ts';

/** docs/nango-compatibility.md cannot claim more than the tests prove, nor leave an upstream method out. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the Nango compatibility table', () => {
  it('lists every public method of the installed official SDK classes, and nothing else', async () => {
    const classes = await officialClasses();
    expect(classes.map((c) => c.label).sort()).toEqual(Object.keys(NANGO_COMPATIBILITY).sort());
    for (const c of classes) {
      expect(c.methods.length, c.label).toBeGreaterThan(0);
      const table = Object.keys(NANGO_COMPATIBILITY[c.label]!);
      expect({ class: c.label, missing: c.methods.filter((m) => !table.includes(m)) }).toEqual({ class: c.label, missing: [] });
      expect({ class: c.label, unknown: table.filter((m) => !c.methods.includes(m)) }).toEqual({ class: c.label, unknown: [] });
    }
  });

  it('names, for each supported method, a test that exists and calls the method', () => {
    for (const [label, table] of Object.entries(NANGO_COMPATIBILITY)) {
      for (const [method, s] of Object.entries(table)) {
        if (s.status !== 'supported') continue;
        expect(s.tests.length, `${label} ${method}`).toBeGreaterThan(0);
        for (const t of s.tests) {
          const path = join(ROOT, t.file);
          expect(existsSync(path), `${label} ${method}: ${t.file}`).toBe(true);
          const source = readFileSync(path, 'utf8');
          const title = JSON.stringify(t.name).slice(1, -1).replace(/'/g, "\\'");
          expect(source.includes(`it('${title}'`), `${label} ${method}: no it('${t.name}') in ${t.file}`).toBe(true);
          expect(new RegExp(`\\.${method}\\(`).test(source), `${label} ${method}: ${t.file} never calls .${method}(`).toBe(true);
        }
      }
    }
  });

  it('is rendered in docs/nango-compatibility.md (npx tsx scripts/nango-compatibility.ts regenerates it)', async () => {
    expect(readFileSync(DOC, 'utf8')).toBe(await renderDoc());
  });
});
