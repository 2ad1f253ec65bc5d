import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../../scripts/templates-readme.ts';
import { BUILT_IN_TEMPLATES_DIR, TemplateCatalog } from '../src/templates/catalog.ts';
import { lintTemplate } from '../src/templates/lint.ts';
import { validateTemplate } from '../src/templates/validate.ts';

/** A lint over the whole catalogue: what the loader checks, plus what only a catalogue-wide look can see. */
const files = (await readdir(BUILT_IN_TEMPLATES_DIR)).filter((f) => f.endsWith('.json')).sort();

/** Throws on a key that appears twice in one JSON object (JSON.parse silently keeps the last). */
function assertNoDuplicateKeys(text: string): void {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    if (text[i] === '{') {
      i++;
      const seen = new Set<string>();
      for (ws(); text[i] !== '}'; ws()) {
        const key = str();
        if (seen.has(key)) throw new Error(`duplicate key "${key}" in ${path || 'the top object'}`);
        seen.add(key);
        ws();
        i++; // ':'
        value(`${path}.${key}`);
        ws();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (text[i] === '[') {
      i++;
      for (ws(); text[i] !== ']'; ws()) {
        value(`${path}[]`);
        ws();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (text[i] === '"') str();
    else while (i < text.length && !/[,}\]\s]/.test(text[i]!)) i++;
  };
  value('');
}

describe('the template catalogue', () => {
  it('loads: every file passes the schema (https only, declared inputs, known categories, docs links)', async () => {
    const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
    expect(catalog.list().length).toBe(files.length);
  });

  it.each(files)('%s: no duplicate keys, an example for every input, a docs page of the provider', async (file) => {
    const text = await readFile(join(BUILT_IN_TEMPLATES_DIR, file), 'utf8');
    assertNoDuplicateKeys(text);
    const t = JSON.parse(text) as { connection_config?: Record<string, { example?: string }>; docs: string };
    for (const [key, input] of Object.entries(t.connection_config ?? {})) {
      expect(input.example, `${file}: connection_config.${key} needs an example`).toEqual(expect.any(String));
    }
    expect(new URL(t.docs).protocol).toBe('https:');
    expect(lintTemplate(validateTemplate(file.slice(0, -5), JSON.parse(text)))).toEqual([]);
  });

  it('is large enough to switch to: >= 500 templates, >= 260 OAUTH2', async () => {
    const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
    expect(catalog.list().length).toBeGreaterThanOrEqual(500);
    expect(catalog.list().filter((t) => t.auth_mode === 'OAUTH2').length).toBeGreaterThanOrEqual(260);
  });

  it('the lint rejects a template without docs, a verified date, its auth method or a proxy base URL', () => {
    const base = { display_name: 'X', categories: ['other'], docs: 'https://x.example.com/docs', auth_mode: 'OAUTH2', authorization_url: 'https://x.example.com/a', token_url: 'https://x.example.com/t' };
    expect(lintTemplate(validateTemplate('x', base))).toEqual([
      '`verified: { source, date }` is missing',
      '`token_request_auth_method` must be stated (basic or body)',
      '`proxy.base_url` is missing',
    ]);
    const full = { ...base, token_request_auth_method: 'body', verified: { source: 'https://x.example.com/docs', date: '2026-11-30' }, proxy: { base_url: 'https://api.x.example.com' } };
    expect(lintTemplate(validateTemplate('x', full))).toEqual([]);
    expect(() => validateTemplate('x', { ...full, verified: { source: 'https://x.example.com', date: '30/11/2026' } })).toThrow(/verified.date/);
    expect(() => validateTemplate('x', { ...full, docs: undefined })).toThrow(/docs/);
  });

  it('has a README table that matches the files (npx tsx scripts/templates-readme.ts regenerates it)', async () => {
    expect(await readFile(join(BUILT_IN_TEMPLATES_DIR, 'README.md'), 'utf8')).toBe(await renderReadme());
  });

  it('the duplicate-key check finds duplicates', () => {
    expect(() => assertNoDuplicateKeys('{"a": 1, "b": {"c": 2, "c": 3}}')).toThrow(/duplicate key "c" in .b/);
    expect(() => assertNoDuplicateKeys('{"a": "x\\"y", "b": [1, {"a": 2}]}')).not.toThrow();
  });
});
