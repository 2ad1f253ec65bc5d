import { KeywayError, errorFromResponse } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | readonly string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
}

export interface HttpClientConfig {
  /** Base URL without trailing slash. */
  baseUrl: string;
  secretKey: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

const REDACTED = '[redacted]';

/** Sends authenticated JSON requests and maps every failure to a KeywayError. */
export class HttpClient {
  readonly #config: HttpClientConfig;

  constructor(config: HttpClientConfig) {
    this.#config = config;
  }

  /** Returns the parsed JSON body, or `null` when the answer has no body. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.#url(path, options.query);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#config.secretKey}`,
      Accept: 'application/json',
    };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.#config.timeoutMs) };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }

    const doFetch = this.#config.fetch;
    const target = `${method} ${url.origin}${url.pathname}`;
    let status: number;
    let text: string;
    try {
      const response = await doFetch(url, init);
      status = response.status;
      text = await response.text();
      if (!response.ok) throw errorFromResponse(status, this.#redact(text));
    } catch (err) {
      throw this.#transportError(err, target);
    }

    if (text === '') return null as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KeywayError('invalid_response', `${target} answered ${status} with a body that is not JSON: ${this.#redact(text).slice(0, 200)}`, {
        cause: err,
      });
    }
  }

  #url(path: string, query: Query | undefined): URL {
    const url = new URL(this.#config.baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        for (const item of value as readonly string[]) url.searchParams.append(name, item);
      } else {
        url.searchParams.append(name, String(value));
      }
    }
    return url;
  }

  /** Anything but an HTTP answer: no status (0). */
  #transportError(err: unknown, target: string): KeywayError {
    if (err instanceof KeywayError) return err;
    if (isTimeout(err)) {
      return new KeywayError('timeout', `${target} timed out after ${this.#config.timeoutMs} ms`, { status: 0, cause: err });
    }
    return new KeywayError('network_error', `${target} failed: ${this.#redact(describe(err))}`, { status: 0, cause: err });
  }

  #redact(text: string): string {
    return text.split(this.#config.secretKey).join(REDACTED);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

/** "fetch failed" says little; the useful part (ECONNREFUSED, ENOTFOUND...) is in the cause. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (!(cause instanceof Error)) return err.message;
  const code = (cause as { code?: unknown }).code;
  const detail = cause.message !== '' ? cause.message : typeof code === 'string' ? code : cause.name;
  return `${err.message} (${detail})`;
}
