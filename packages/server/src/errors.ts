/**
 * One error family for the whole server. A `code` is stable and public (clients branch on it);
 * the HTTP status lives here, in one place, so routes never pick statuses by hand.
 */
const STATUS = {
  // request shape
  invalid_body: 400,
  invalid_query_params: 400,
  invalid_connection_id: 400,
  invalid_provider_config_key: 400,
  invalid_connection_config: 400,
  missing_connection_id: 400,
  invalid_flow_id: 400,
  invalid_path: 400,
  origin_not_allowed: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  // authentication
  missing_auth_header: 401,
  malformed_auth_header: 401,
  unknown_account: 401,
  csrf_failed: 403,
  missing_public_key: 401,
  invalid_public_key: 401,
  invalid_connect_session: 401,
  connect_session_required: 401,
  integration_not_allowed: 403,
  connection_id_not_allowed: 403,
  // resources
  unknown_provider_config: 404,
  unknown_provider_template: 404,
  wrong_auth_mode: 400,
  unknown_connection: 404,
  duplicate_provider_config: 409,
  connection_exists: 409,
  missing_client_credentials: 400,
  // mutual TLS: the integration's client certificate
  invalid_client_certificate: 400,
  missing_client_certificate: 400,
  // the connect flow
  unknown_config_key: 404,
  state_err: 400,
  issuer_mismatch: 400,
  missing_code: 400,
  invalid_credentials: 400,
  verification_failed: 424,
  access_denied: 400,
  authorization_err: 400,
  token_err: 502,
  refresh_failed: 400,
  refresh_backoff: 424,
  refresh_exhausted: 424,
  provider_timeout: 504,
  // the server's own resources
  storage_full: 507,
  store_unavailable: 503,
  // outbound requests (SSRF guard) and the hosts an integration allows
  private_address_refused: 400,
  host_not_allowed: 403,
  // the proxy
  invalid_proxy_headers: 400,
  proxy_not_configured: 400,
  provider_unreachable: 502,
  // abuse
  rate_limited: 429,
  // anything else
  server_error: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;

export class KeywayError extends Error {
  override readonly name = 'KeywayError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Safe details for the client (never secrets), e.g. the provider's error code. */
    readonly details?: Readonly<Record<string, string>>,
    /** Sent as `Retry-After` (seconds): the condition is expected to pass. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = STATUS[code];
  }

  toJSON(): { error: { code: string; message: string } & Record<string, string> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const isKeywayError = (e: unknown): e is KeywayError => e instanceof KeywayError;
