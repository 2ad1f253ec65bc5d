/** Codes this client produces itself; any other code comes from the server's error body. */
export type ClientErrorCode =
  | 'missing_secret_key'
  | 'conflicting_secret_key'
  | 'invalid_host_url'
  | 'invalid_timeout'
  | 'invalid_cache'
  | 'missing_provider_config_key'
  | 'missing_connection_id'
  | 'missing_metadata'
  | 'missing_provider'
  | 'missing_end_user'
  | 'network_error'
  | 'timeout'
  | 'invalid_response'
  | 'invalid_params'
  | 'missing_endpoint'
  | 'unknown_error';

/** A server code (`unknown_connection`, ...), `http_<status>`, or a {@link ClientErrorCode}. */
export type KeywayErrorCode = ClientErrorCode | (string & {});

export interface KeywayErrorOptions {
  /** HTTP status of an error answer; 0 otherwise (no request sent, no answer, or an unusable 2xx answer). */
  status?: number;
  /** The parsed error body, when the server sent JSON. */
  payload?: unknown;
  cause?: unknown;
  /** A proxied call's answer (axios's `error.response`): the provider's status, headers and body. */
  response?: { data: unknown; status: number; statusText: string; headers: Record<string, string> };
}

/** The one error type thrown by `@keyway/node`. Branch on `code`; `status` is the HTTP status (0 if none). */
export class KeywayError extends Error {
  override readonly name = 'KeywayError';
  readonly code: KeywayErrorCode;
  readonly status: number;
  readonly payload?: unknown;
  readonly response?: KeywayErrorOptions['response'];

  constructor(code: KeywayErrorCode, message: string, options: KeywayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 0;
    if (options.payload !== undefined) this.payload = options.payload;
    if (options.response !== undefined) this.response = options.response;
  }
}

const SNIPPET_LENGTH = 200;

function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > SNIPPET_LENGTH ? `${trimmed.slice(0, SNIPPET_LENGTH)}...` : trimmed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a non-2xx answer into a KeywayError. The server's shape is
 * `{ "error": { "code": "...", "message": "..." } }`; anything else (HTML, empty, other JSON)
 * becomes `http_<status>` with the status and the start of the body in the message.
 */
export function errorFromResponse(status: number, bodyText: string): KeywayError {
  let payload: unknown;
  try {
    payload = bodyText === '' ? undefined : JSON.parse(bodyText);
  } catch {
    payload = undefined;
  }

  if (isRecord(payload)) {
    const error = payload['error'];
    if (isRecord(error) && typeof error['code'] === 'string' && error['code'] !== '') {
      const message = typeof error['message'] === 'string' && error['message'] !== '' ? error['message'] : `HTTP ${status}`;
      return new KeywayError(error['code'], message, { status, payload });
    }
  }

  const code = status >= 100 && status <= 599 ? `http_${status}` : 'unknown_error';
  const body = snippet(bodyText);
  const message = body === '' ? `HTTP ${status} with an empty body` : `HTTP ${status}: ${body}`;
  return new KeywayError(code, message, payload === undefined ? { status } : { status, payload });
}
