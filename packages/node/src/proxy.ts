import { Readable } from 'node:stream';
import { KeywayError } from './errors.ts';

/** `proxy()`'s configuration: @nangohq/node's `UserProvidedProxyConfiguration`, minus pagination. */
export interface ProxyConfiguration {
  /** The path on the provider's API (`/v1/users`), appended to the template's `proxy.base_url`. */
  endpoint: string;
  providerConfigKey?: string;
  connectionId?: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Sent to the provider (as `Nango-Proxy-<name>` to Keyway). */
  headers?: Record<string, string>;
  params?: string | Record<string, string | number | string[] | number[]>;
  /** An object is sent as JSON; a string, Buffer, Uint8Array, Blob or stream as it is. */
  data?: unknown;
  /** Extra attempts on 429 and 5xx. */
  retries?: number;
  retryOn?: number[] | null;
  /** Another base URL: only a host the template or the integration's `allowed_hosts` allows. */
  baseUrlOverride?: string;
  decompress?: boolean | string;
  /** `json` (default: parsed when it is JSON, else text), `text`, `arraybuffer` (a Buffer), or `stream` (a Node Readable). */
  responseType?: 'json' | 'text' | 'arraybuffer' | 'stream';
}

/** What axios (and so @nangohq/node) returns. */
export interface ProxyResponse<T = any> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, string>;
}

export interface ProxyContext {
  readonly serverUrl: string;
  readonly secretKey: string;
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

/**
 * One call through the server's `/proxy`, with @nangohq/node's headers and axios's answer shape.
 * As with axios, a status outside 2xx throws; the error carries the provider's answer in `response`.
 */
export async function sendProxy<T>(ctx: ProxyContext, config: ProxyConfiguration): Promise<ProxyResponse<T>> {
  let url = `${ctx.serverUrl}/proxy${config.endpoint.startsWith('/') ? '' : '/'}${config.endpoint}`;
  if (typeof config.params === 'string') {
    if (url.includes('?')) throw new KeywayError('invalid_params', 'Can not set query params in endpoint and in params');
    url = new URL(`${url}${config.params.startsWith('?') ? '' : '?'}${config.params}`).href;
  } else if (config.params) {
    const u = new URL(url);
    for (const [k, v] of Object.entries(config.params)) u.searchParams.set(k, String(v));
    url = u.href;
  }
  const headers: Record<string, string> = {
    Authorization: `Bearer ${ctx.secretKey}`,
    'Connection-Id': config.connectionId!,
    'Provider-Config-Key': config.providerConfigKey!,
  };
  for (const [k, v] of Object.entries(config.headers ?? {})) headers[`Nango-Proxy-${k}`] = v;
  if (config.baseUrlOverride) headers['Base-Url-Override'] = config.baseUrlOverride;
  if (config.retries) headers.Retries = String(config.retries);
  if (config.decompress) headers.Decompress = String(config.decompress);
  if (config.retryOn) headers['Retry-On'] = config.retryOn.join(',');
  const method = (config.method ?? 'GET').toUpperCase();
  const body = encodeBody(config.data, headers, config.headers);

  // The time-out covers the answer's headers; a streamed body is the caller's to read at its pace.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('timed out', 'TimeoutError')), ctx.timeoutMs);
  let res: Response;
  try {
    res = await ctx.fetch(url, { method, headers, ...(body !== undefined && { body, duplex: 'half' }), signal: controller.signal } as RequestInit);
  } catch (err) {
    clearTimeout(timer);
    const timeout = err instanceof Error && err.name === 'TimeoutError';
    throw new KeywayError(timeout ? 'timeout' : 'network_error', `${method} /proxy${config.endpoint} ${timeout ? `timed out after ${ctx.timeoutMs} ms` : 'failed'}`, { status: 0, cause: err });
  }
  const responseHeaders: Record<string, string> = {};
  res.headers.forEach((v, k) => (responseHeaders[k] = v));
  const type = config.responseType ?? 'json';
  let data: unknown;
  if (type === 'stream' && res.ok) {
    clearTimeout(timer);
    data = res.body ? Readable.fromWeb(res.body as never) : Readable.from([]);
  } else {
    try {
      const bytes = Buffer.from(await res.arrayBuffer());
      data = type === 'arraybuffer' ? bytes : type === 'text' ? bytes.toString('utf8') : parseMaybeJson(bytes.toString('utf8'));
    } finally {
      clearTimeout(timer);
    }
  }
  const response: ProxyResponse<T> = { data: data as T, status: res.status, statusText: res.statusText, headers: responseHeaders };
  if (!res.ok) {
    const code = isServerError(data) ? data.error.code : `http_${res.status}`;
    throw new KeywayError(code, `Request failed with status code ${res.status}`, { status: res.status, payload: data, response });
  }
  return response;
}

function encodeBody(data: unknown, headers: Record<string, string>, given: Record<string, string> | undefined): NonNullable<RequestInit["body"]> | undefined {
  if (data === undefined || data === null) return undefined;
  const contentType = Object.entries(given ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  if (typeof data === 'string' || data instanceof Uint8Array || data instanceof Blob || data instanceof ArrayBuffer || data instanceof URLSearchParams) return data as NonNullable<RequestInit["body"]>;
  if (data instanceof Readable) return Readable.toWeb(data) as unknown as NonNullable<RequestInit["body"]>;
  headers['Content-Type'] ??= 'application/json';
  return JSON.stringify(data);
}

/** axios's default: JSON when it parses, else the text. */
function parseMaybeJson(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isServerError(data: unknown): data is { error: { code: string } } {
  const e = (data as { error?: { code?: unknown } } | null)?.error;
  return typeof e === 'object' && e !== null && typeof e.code === 'string';
}
