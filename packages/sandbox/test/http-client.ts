// A tiny browser stand-in for tests: Node's fetch, a cookie jar, a manual redirect follower and
// a helper that submits a form found in an HTML page. No dependencies.
//
// The jar keys cookies by host name only, not by port, as browsers do (cookies on 127.0.0.1 are
// shared by every port). It honours Path, Expires and Max-Age; Domain, Secure and SameSite are
// ignored (everything here is one host, over http).

export interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expiresAt?: number;
}

function defaultPath(url: URL): string {
  const { pathname } = url;
  if (!pathname.startsWith('/') || pathname.lastIndexOf('/') === 0) return '/';
  return pathname.slice(0, pathname.lastIndexOf('/'));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  readonly #byHost = new Map<string, Map<string, StoredCookie>>();

  /** Stores the Set-Cookie headers of a response to `url`. */
  store(url: URL | string, setCookieHeaders: readonly string[]): void {
    const target = new URL(url);
    for (const header of setCookieHeaders) this.#storeOne(target, header);
  }

  #storeOne(url: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      path: defaultPath(url),
    };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'expires') {
        const time = Date.parse(value);
        if (!Number.isNaN(time)) cookie.expiresAt = time;
      } else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
    }
    if (maxAge !== undefined) cookie.expiresAt = Date.now() + maxAge * 1000;

    let cookies = this.#byHost.get(url.hostname);
    if (cookies === undefined) {
      cookies = new Map();
      this.#byHost.set(url.hostname, cookies);
    }
    const key = `${cookie.path}\u0000${cookie.name}`;
    if (cookie.expiresAt !== undefined && cookie.expiresAt <= Date.now()) cookies.delete(key);
    else cookies.set(key, cookie);
  }

  /** The cookies a request to `url` would carry, longest path first. */
  cookiesFor(url: URL | string): StoredCookie[] {
    const target = new URL(url);
    const now = Date.now();
    const cookies = this.#byHost.get(target.hostname);
    if (cookies === undefined) return [];
    const matching: StoredCookie[] = [];
    for (const [key, cookie] of cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) {
        cookies.delete(key);
      } else if (pathMatches(target.pathname, cookie.path)) {
        matching.push(cookie);
      }
    }
    return matching.sort((a, b) => b.path.length - a.path.length);
  }

  /** The Cookie header value for `url`, or undefined when there is none. */
  header(url: URL | string): string | undefined {
    const cookies = this.cookiesFor(url);
    return cookies.length === 0 ? undefined : cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get(url: URL | string, name: string): string | undefined {
    return this.cookiesFor(url).find((cookie) => cookie.name === name)?.value;
  }

  clear(): void {
    this.#byHost.clear();
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
}

export interface FollowOptions extends RequestOptions {
  /**
   * Stop, without requesting it, at the first redirect whose target starts with this string (for
   * example a client's redirect_uri, where nothing needs to listen), or for which this returns true.
   */
  stopAt?: string | ((url: URL) => boolean);
  /** Default 20. */
  maxRedirects?: number;
}

export interface Hop {
  url: URL;
  method: string;
  status: number;
  headers: Headers;
  location?: URL;
}

export interface FollowResult {
  /** Every response received, in order (the last one is `response`). */
  hops: Hop[];
  /** The last response received. Its body is unread unless `stoppedAt` is undefined (see `body`). */
  response: Response;
  /** The URL of the last response received. */
  url: URL;
  /** The redirect target that matched `stopAt`, if the chain stopped there. */
  stoppedAt?: URL;
  /** The body of the last response when the chain ended on a non-redirect response. */
  body?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class HttpClient {
  readonly jar: CookieJar;

  constructor(jar = new CookieJar()) {
    this.jar = jar;
  }

  /** One request, no redirect followed; stores the cookies it sets. */
  async request(url: URL | string, options: RequestOptions = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(options.headers);
    const cookie = this.jar.header(target);
    if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie);
    let { body } = options;
    if (body instanceof URLSearchParams) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
      body = body.toString();
    }
    const response = await fetch(target, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: 'manual',
    });
    this.jar.store(target, response.headers.getSetCookie());
    return response;
  }

  /** Follows redirects like a browser would (303, and 301/302 after a POST, become GETs). */
  async follow(url: URL | string, options: FollowOptions = {}): Promise<FollowResult> {
    const { stopAt, maxRedirects = 20 } = options;
    const shouldStop = (target: URL): boolean => {
      if (stopAt === undefined) return false;
      return typeof stopAt === 'string' ? target.href.startsWith(stopAt) : stopAt(target);
    };

    const hops: Hop[] = [];
    let current = new URL(url);
    let method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    let body = options.body;
    let headers = options.headers;

    for (let redirects = 0; ; redirects += 1) {
      const response = await this.request(current, { method, headers, body });
      const hop: Hop = { url: current, method, status: response.status, headers: response.headers };
      hops.push(hop);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) {
        return { hops, response, url: current, body: await response.text() };
      }
      await response.body?.cancel();
      const next = new URL(location, current);
      hop.location = next;
      if (shouldStop(next)) return { hops, response, url: current, stoppedAt: next };
      if (redirects >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects from ${String(url)}`);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = undefined;
      }
      current = next;
    }
  }
}

export interface ParsedForm {
  action: URL;
  method: string;
  fields: URLSearchParams;
}

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_match, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[lower] ?? '';
  });
}

function attributesOf(tag: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of tag.matchAll(/([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = match[1];
    if (name === undefined) continue;
    attributes.set(name.toLowerCase(), decodeEntities(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return attributes;
}

/**
 * Finds the form holding the submit button with id `buttonId` and returns what a browser would
 * send when that button is clicked: its action, method, hidden/text inputs and the button's
 * own name=value.
 */
export function parseForm(html: string, pageUrl: URL | string, buttonId: string): ParsedForm {
  for (const [formHtml] of html.matchAll(/<form\b[\s\S]*?<\/form>/gi)) {
    const buttonTag = [...formHtml.matchAll(/<(?:button|input)\b[^>]*>/gi)]
      .map(([tag]) => tag)
      .find((tag) => attributesOf(tag).get('id') === buttonId);
    if (buttonTag === undefined) continue;

    const formTag = /<form\b[^>]*>/i.exec(formHtml)?.[0] ?? '<form>';
    const formAttributes = attributesOf(formTag.slice(5, -1));
    const fields = new URLSearchParams();
    for (const [inputTag] of formHtml.matchAll(/<input\b[^>]*>/gi)) {
      const attributes = attributesOf(inputTag.slice(6, -1));
      const type = (attributes.get('type') ?? 'text').toLowerCase();
      const name = attributes.get('name');
      if (name === undefined || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !attributes.has('checked')) continue;
      fields.append(name, attributes.get('value') ?? (type === 'checkbox' ? 'on' : ''));
    }
    const button = attributesOf(buttonTag.replace(/^<\w+/, '').replace(/\/?>$/, ''));
    const buttonName = button.get('name');
    if (buttonName !== undefined) fields.append(buttonName, button.get('value') ?? '');

    return {
      action: new URL(formAttributes.get('action') ?? '', pageUrl),
      method: (formAttributes.get('method') ?? 'get').toUpperCase(),
      fields,
    };
  }
  throw new Error(`no form with a button #${buttonId} in the page`);
}

/** Clicks the button `buttonId` of a form in `html` (a page fetched from `pageUrl`) and follows redirects. */
export async function submitForm(
  client: HttpClient,
  html: string,
  pageUrl: URL | string,
  buttonId: string,
  options: Omit<FollowOptions, 'method' | 'body'> = {},
): Promise<FollowResult> {
  const form = parseForm(html, pageUrl, buttonId);
  if (form.method === 'GET') {
    const target = new URL(form.action);
    target.search = form.fields.toString();
    return client.follow(target, options);
  }
  return client.follow(form.action, { ...options, method: form.method, body: form.fields });
}
