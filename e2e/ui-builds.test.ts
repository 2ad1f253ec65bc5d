// The browser UIs the server ships (the Connect UI at /connect/ui/, the dashboard at /dashboard/; the production
// builds `pnpm build` copies into packages/server/assets/) must run under its CSP (`default-src 'none'; script-src
// 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'`): scripts and styles in their own files under
// the UI's base, nothing inline, nothing from elsewhere, and nothing kept in browser storage.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const UIS = [
  { ui: 'connect-ui', base: '/connect/ui/' },
  { ui: 'dashboard', base: '/dashboard/' },
];

describe.each(UIS)('the $ui build in the server package', ({ ui, base }) => {
  const dir = new URL(`../packages/server/assets/${ui}/`, import.meta.url);
  const read = (path: string) => readFileSync(new URL(path, dir), 'utf8');
  const assets = base.replaceAll('/', '\\/') + 'assets\\/';

  it(`has an index.html with an external script and stylesheet only, under ${base}`, () => {
    const html = read('index.html');
    // No inline script, style or event handler.
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![0]).toMatch(new RegExp(`^<script type="module" crossorigin src="${assets}[^"]+\\.js"></script>$`));
    expect(scripts[0]![1]).toBe('');
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // Everything it loads is our own, under the base (an empty data: icon spares a request for /favicon.ico).
    const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!).filter((u) => u !== 'data:,');
    expect(urls).toHaveLength(2);
    for (const u of urls) {
      expect(u).toMatch(new RegExp(`^${assets}[\\w.-]+\\.(js|css)$`));
      expect(read(u.slice(base.length)).length).toBeGreaterThan(0);
    }
  });

  it('has one stylesheet with no import or remote URL, and scripts with no eval and no browser storage', () => {
    const files = readdirSync(new URL('assets/', dir));
    const css = files.filter((f) => f.endsWith('.css'));
    expect(css).toHaveLength(1);
    expect(read(`assets/${css[0]}`)).not.toMatch(/@import|url\(/);
    const js = files.filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const f of js) {
      const code = read(`assets/${f}`);
      expect(code).not.toMatch(/\beval\(|new Function\(/);
      expect(code).not.toMatch(/localStorage|sessionStorage|document\.cookie/);
    }
    expect(files.filter((f) => !f.endsWith('.js') && !f.endsWith('.css'))).toEqual([]);
  });
});
