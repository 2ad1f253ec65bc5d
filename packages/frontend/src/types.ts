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
  /**
   * For API-key, Basic and two-step integrations: the credentials the user typed. No popup: they
   * are sent to the server, checked by the template's verification request (or, two-step, exchanged
   * for a token), and stored (Nango's shape: `type: 'TWO_STEP'` marks two-step credentials).
   */
  credentials?: ApiKeyCredentials | BasicCredentials | TwoStepCredentials;
}

export type ApiKeyCredentials = { apiKey: string } & Record<string, string>;
export type BasicCredentials = { username: string; password: string } & Record<string, string>;
export type TwoStepCredentials = { type: 'TWO_STEP' } & Record<string, string>;

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

/** What the Connect UI tells the app (the same events as `@nangohq/frontend`'s ConnectUI). */
export type ConnectUIEvent =
  | { type: 'ready'; payload?: undefined }
  | { type: 'close'; payload?: undefined }
  /** A connection was stored; the UI stays open on its success screen until the user closes it. */
  | { type: 'connect'; payload: AuthResult }
  /** A session or connect attempt failed (the UI shows the message; the user may try again). */
  | { type: 'error'; payload: { errorType: AuthErrorType; errorMessage: string } };

/** `onEvent` of `openConnectUI()` (the name `@nangohq/frontend` gives it). */
export type OnConnectEvent = (event: ConnectUIEvent) => void | Promise<void>;

export interface ConnectUIOptions {
  /** Called with every event of the UI. */
  onEvent?: OnConnectEvent;
  /** The connect session token (from your backend). Default: the constructor's `connectSessionToken`; it can also be
   * given later with `setSessionToken()`, the UI shows a loading screen until then. */
  sessionToken?: string;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored (the UI is served by the Keyway host). */
  baseURL?: string;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored. */
  apiURL?: string;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored. */
  detectClosedAuthWindow?: boolean;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored. */
  lang?: string;
  /** Accepted for compatibility with `@nangohq/frontend`; ignored. */
  themeOverride?: string;
}

/** The name `@nangohq/frontend` gives the options of `openConnectUI()`. */
export type ConnectUIProps = ConnectUIOptions;

/** The Connect UI returned by `openConnectUI()`. */
export interface ConnectUI {
  /** Shows the UI again after `close()`; does nothing while it is open. */
  open(): void;
  /** Removes the UI and gives the focus back to where it was. */
  close(): void;
  /** Gives the UI its session token (or a new one: the UI reloads what it may connect). */
  setSessionToken(token: string): void;
}
