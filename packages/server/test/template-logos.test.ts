import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLogos } from '../../../scripts/template-logos.ts';
import { monogram } from '../src/templates/logos.ts';
import { startKeyway, type TestKeyway } from './support/keyway.ts';

let kw: TestKeyway;
beforeAll(async () => {
  kw = await startKeyway({ templates: { 'my-crm': { display_name: 'My <CRM> & Co', categories: ['crm'], docs: 'https://crm.example.com/docs', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } } } } });
});
afterAll(() => kw?.close());

const get = (file: string) => fetch(`${kw.url}/images/template-logos/${file}`);

describe('GET /images/template-logos/:template.svg', () => {
  it('serves the Simple Icons logo in the brand colour for a template whose brand is there', async () => {
    const res = await get('github.svg');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    const svg = await res.text();
    const require = createRequire(import.meta.url);
    const icon = await readFile(require.resolve('simple-icons/icons/github.svg'), 'utf8');
    expect(svg).toBe(icon.replace('<svg ', '<svg fill="#181717" '));
  });

  it('serves a generated monogram where Simple Icons has no logo (Slack, Salesforce, a user template)', async () => {
    for (const [file, letters] of [['slack.svg', 'SL'], ['salesforce.svg', 'SA'], ['my-crm.svg', 'MC']] as const) {
      const res = await get(file);
      expect(res.status, file).toBe(200);
      const svg = await res.text();
      expect(svg).toContain(`>${letters}</text>`);
      expect(svg).not.toMatch(/<script|<CRM>/);
    }
    expect(monogram('My <CRM> & Co', 'my-crm')).toContain('<title>My &#60;CRM&#62; &#38; Co</title>');
  });

  it('answers 404 not_found for an unknown template or a name that is not one', async () => {
    for (const file of ['nope.svg', 'github.png', '..%2Fpackage.json', '.svg']) {
      const res = await get(file);
      expect(res.status, file).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('templates/logos/simple-icons.json is fresh (npx tsx scripts/template-logos.ts regenerates it)', async () => {
    const current = await readFile(new URL('../../../templates/logos/simple-icons.json', import.meta.url), 'utf8');
    expect(current).toBe(await renderLogos());
  });
});
