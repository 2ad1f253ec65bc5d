/**
 * A minimal browser for flow tests: a cookie jar keyed by host (as browsers do: cookies on
 * 127.0.0.1 are shared across ports), manual redirects, and HTML form submission.
 */
export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export class TestBrowser {
  readonly cookies = new Map<string, Map<string, string>>();

  async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Hop> {
    const host = new URL(url).hostname;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    const headers: Record<string, string> = { ...init.headers };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
    return { url, status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Follows redirects from `url` until `stop(url)` is true or a non-redirect answer comes. */
  async follow(url: string, stop: (url: string) => boolean = () => false, init?: Parameters<TestBrowser['request']>[1]): Promise<Hop> {
    let hop = await this.request(url, init);
    for (let i = 0; i < 20; i++) {
      const location = hop.headers.get('location');
      if (hop.status < 300 || hop.status >= 400 || !location) return hop;
      const next = new URL(location, hop.url).href;
      if (stop(next)) return { url: next, status: 0, headers: new Headers(), body: '' };
      hop = await this.request(next);
    }
    throw new Error('too many redirects');
  }

  /** Submits the form containing the button with `buttonId` on the page `hop`, then follows redirects. */
  async submit(hop: Hop, buttonId: string, stop?: (url: string) => boolean): Promise<Hop> {
    const forms = [...hop.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
    const form = forms.find((f) => new RegExp(`id=["']${buttonId}["']`).test(f[2]!));
    if (!form) throw new Error(`no form with #${buttonId} on ${hop.url}:\n${hop.body.slice(0, 500)}`);
    const action = /action=["']([^"']*)["']/i.exec(form[1]!)?.[1] ?? hop.url;
    const body = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = /name=["']([^"']*)["']/i.exec(input[0])?.[1];
      const value = /value=["']([^"']*)["']/i.exec(input[0])?.[1] ?? '';
      if (name) body.set(name, decodeEntities(value));
    }
    const button = new RegExp(`<button\\b[^>]*id=["']${buttonId}["'][^>]*>`, 'i').exec(form[2]!)?.[0] ?? '';
    const bname = /name=["']([^"']*)["']/i.exec(button)?.[1];
    if (bname) body.set(bname, /value=["']([^"']*)["']/i.exec(button)?.[1] ?? '');
    return this.follow(new URL(decodeEntities(action), hop.url).href, stop, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
