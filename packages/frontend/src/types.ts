/** Error types an `AuthError` can carry; a server error code (e.g. `access_denied`) is passed through as is. */
export type AuthErrorType =
  | 'missing_auth_token'
  | 'blocked_by_browser'
  | 'invalid_host_url'
  | 'window_closed'
  | 'timeout'
  | 'aborted'
  | 'unknown_error'
  | 'access_denied'
  | 'state_err'
  | 'token_err'
  | 'unknown_config_key'
  | 'invalid_connection_id'
  | (string & {});

export interface NangoOptions {
  /** Base URL of the Keyway server (a path prefix is kept). Default `http://127.0.0.1:3003`. */
  host?: string;
  publicKey?: string;
  /** Takes precedence over `publicKey` when both are given. */
  connectSessionToken?: string;
  /** Popup width in CSS pixels. Default 500. */
  width?: number;
  /** Popup height in CSS pixels. Default 600. */
  height?: number;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored (Keyway uses no WebSocket). */
  websocketsPath?: string;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored. */
  debug?: boolean;
}

export interface ConnectionConfig {
  /** Connection configuration, sent as `params[k]=v`. */
  params?: Record<string, string>;
  /** Sent as `authorization_params[k]=v`; an `undefined` value is sent as the string `undefined` (as Nango does). */
  authorization_params?: Record<string, string | undefined>;
  /** Sent as `user_scope=a,b`. */
  user_scope?: string[];
}

export interface AuthOptions extends ConnectionConfig {
  /** Reject with `window_closed` when the popup is closed before the flow ends. Default false (see README: COOP). */
  detectClosedAuthWindow?: boolean;
  /** Aborting it rejects with `aborted` and closes the popup. */
  signal?: AbortSignal;
  /** Rejects with `timeout` (and closes the popup) after this many ms. Default 600000. */
  timeoutMs?: number;
}

export interface AuthResult {
  providerConfigKey: string;
  connectionId: string;
}
export type AuthSuccess = AuthResult;

export interface FlowError {
  code: string;
  message: string;
}

/** What the Keyway callback page posts to the opener. */
export type FlowMessage = { source: 'keyway'; flowId: string } & (
  | ({ ok: true } & AuthResult)
  | { ok: false; error: FlowError }
);

/** What `GET /oauth/flows/:flowId` answers. */
export type FlowStatus =
  | { status: 'pending' }
  | ({ status: 'success' } & AuthResult)
  | { status: 'error'; error: FlowError };
