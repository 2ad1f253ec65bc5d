/** What `GET /connect/session` answers (under `data`). */
export interface Session {
  readonly end_user: { readonly id: string; readonly email?: string; readonly display_name?: string };
  readonly expires_at: string;
  readonly integrations: readonly Integration[];
}

export type AuthMode = 'OAUTH2' | 'OAUTH2_CC' | 'API_KEY' | 'BASIC' | 'TWO_STEP';

export interface Integration {
  readonly unique_key: string;
  readonly provider: string;
  readonly display_name: string;
  readonly auth_mode: AuthMode;
  readonly categories: readonly string[];
  readonly docs: string;
  /** API_KEY, BASIC and TWO_STEP: what the end user types. */
  readonly credentials?: Readonly<Record<string, CredentialField>>;
  /** Connection config inputs the backend did not fix. */
  readonly connection_config: Readonly<Record<string, ConfigInput>>;
}

export interface CredentialField {
  readonly title: string;
  readonly description?: string;
  readonly pattern?: string;
  readonly example?: string;
  readonly secret: boolean;
}

export interface ConfigInput {
  readonly title: string;
  readonly description?: string;
  /** Absent when the input is a choice (`enum`). */
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly example?: string;
  /** May be left empty (the template's default is used). */
  readonly optional?: boolean;
  readonly prefix?: string;
  readonly suffix?: string;
}

export interface Connected {
  readonly providerConfigKey: string;
  readonly connectionId: string;
}

/** Events posted to the parent window (Nango's ConnectUI events). */
export type ConnectUIEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'close' }
  | { readonly type: 'connect'; readonly payload: Connected }
  | { readonly type: 'error'; readonly payload: { readonly errorType: string; readonly errorMessage: string } };

/**
 * The slice of `@keyway/frontend`'s `Nango` the page uses: `auth(key, options)` opens the OAuth popup. No connection
 * id: under a connect session the server uses the session's end user id.
 */
export interface AuthClient {
  auth(providerConfigKey: string, options: { params: Record<string, string>; signal: AbortSignal }): Promise<Connected>;
}
