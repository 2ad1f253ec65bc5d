// The production build must run under the server's CSP (`default-src 'none'; script-src 'self'; style-src 'self';
// img-src 'self' data:; connect-src 'self'`): scripts and styles in their own files under /dashboard/, nothing inline,
// nothing from elsewhere. Built in memory (nothing written to dist/).
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

interface Out {
  fileName: string;
  type: 'chunk' | 'asset';
  code?: string;
  source?: string | Uint8Array;
}

describe('vite build', () => {
  it('emits an index.html with an external script and stylesheet only, under /dashboard/', { timeout: 60_000 }, async () => {
    const result = await build({ root: decodeURI(new URL('..', import.meta.url).pathname), logLevel: 'silent', build: { write: false } });
    const files = (Array.isArray(result) ? result : [result]).flatMap((r) => (r as { output: Out[] }).output);
    const text = (f: Out) => f.code ?? (typeof f.source === 'string' ? f.source : new TextDecoder().decode(f.source));
    const html = text(files.find((f) => f.fileName === 'index.html')!);

    // No inline script, style or event handler.
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![0]).toMatch(/^<script type="module" crossorigin src="\/dashboard\/assets\/[^"]+\.js"><\/script>$/);
    expect(scripts[0]![1]).toBe('');
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    // Everything it loads is our own, under the base (the empty data: icon spares a request for /favicon.ico).
    const urls = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!).filter((u) => u !== 'data:,');
    expect(urls).toHaveLength(2);
    for (const u of urls) expect(u).toMatch(/^\/dashboard\/assets\/[\w.-]+\.(js|css)$/);

    // One stylesheet; no imports or remote URLs in it; no eval in the scripts; no other host.
    const css = files.filter((f) => f.fileName.endsWith('.css'));
    expect(css).toHaveLength(1);
    expect(text(css[0]!)).not.toMatch(/@import|url\(/);
    for (const js of files.filter((f) => f.type === 'chunk')) {
      expect(js.fileName).toMatch(/^assets\//);
      expect(text(js)).not.toMatch(/\beval\(|new Function\(/);
      expect(text(js)).not.toMatch(/localStorage|sessionStorage|document\.cookie/);
    }
  });
});
