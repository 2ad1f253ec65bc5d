import type { ConnectionStatus } from './status.ts';

/**
 * The store's domain records (plaintext, in memory) and the one small interface every adapter
 * implements. Adapters seal secrets on the way to disk (see codec.ts); callers never see ciphertext.
 */

export interface Integration {
  readonly unique_key: string;
  /** The Provider Template's name. */
  readonly provider: string;
  readonly display_name: string;
  readonly client_id: string;
  readonly client_secret: string;
  readonly scopes: readonly string[];
  /** Connection config inputs the operator fixed (`host: gitlab.acme.internal`): end users cannot change them. */
  readonly connection_config?: Readonly<Record<string, string>>;
  /** Host patterns (`gitlab.acme.com`, `*.acme.com:8443`) the client secret may go to when end users choose the host. */
  readonly allowed_hosts?: readonly string[];
  /** The app's TLS client certificate, for templates that require mutual TLS (`client_certificate: true`). */
  readonly client_certificate?: ClientCertificate;
  readonly created_at: string;
  readonly updated_at: string;
}

/** A TLS client certificate: a PEM chain (the leaf first) and its PEM private key (sealed at rest). */
export interface ClientCertificate {
  readonly certificate: string;
  readonly private_key: string;
}

/** A connection's credentials; the template's auth mode decides which. */
export type Credentials = OAuth2Credentials | ClientCredentials | ApiKeyCredentials | BasicCredentials | TwoStepCredentials;
/** Credentials that carry an expiring access token, which Keyway renews. */
export type TokenCredentials = OAuth2Credentials | ClientCredentials | TwoStepCredentials;
export const hasToken = (c: Credentials): c is TokenCredentials => c.type === 'OAUTH2' || c.type === 'OAUTH2_CC' || c.type === 'TWO_STEP';

/**
 * A token obtained by posting what the end user typed to the template's token URL (Nango's
 * TWO_STEP); the typed fields are kept to obtain the next token the same way.
 */
export interface TwoStepCredentials {
  readonly type: 'TWO_STEP';
  readonly access_token: string;
  readonly expires_at?: string;
  readonly obtained_at?: string;
  /** What the end user typed, field by field as the template declares them. */
  readonly fields: Readonly<Record<string, string>>;
  /** The token response as it came. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** OAuth 2.0 client credentials: the token is minted (and re-minted) with the connection's client. */
export interface ClientCredentials {
  readonly type: 'OAUTH2_CC';
  readonly access_token: string;
  readonly expires_at?: string;
  readonly obtained_at?: string;
  readonly client_id: string;
  readonly client_secret: string;
  /** Scopes asked for at every mint. */
  readonly scopes: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
}

/** What the end user typed, field by field as the template declares them (at least `apiKey`). */
export interface ApiKeyCredentials {
  readonly type: 'API_KEY';
  readonly apiKey: string;
  readonly fields: Readonly<Record<string, string>>;
}

export interface BasicCredentials {
  readonly type: 'BASIC';
  readonly username: string;
  readonly password: string;
  readonly fields: Readonly<Record<string, string>>;
}

export interface OAuth2Credentials {
  readonly type: 'OAUTH2';
  readonly access_token: string;
  readonly refresh_token?: string;
  /** ISO 8601; absent when the provider gave no expiry (and the template no default lifetime). */
  readonly expires_at?: string;
  /** When these credentials were issued (the flow or the last refresh). */
  readonly obtained_at?: string;
  /** The provider's token response as it came. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The end user a connection belongs to, as the app's backend named them in a connect session. */
export interface EndUser {
  readonly id: string;
  readonly email?: string;
  readonly display_name?: string;
  readonly organization?: { readonly id: string; readonly display_name?: string };
}

/**
 * The provider refused a refresh. Reads fail fast until `backoff_until`; failures on several
 * distinct days mark the connection exhausted (it needs the user to connect again).
 */
export interface RefreshFailure {
  readonly at: string;
  /** The provider's error code (`invalid_grant`) or ours. */
  readonly code: string;
  readonly description?: string;
  readonly backoff_until: string;
  /** Distinct UTC days (YYYY-MM-DD) with a failure since the last success, at most a few. */
  readonly days: readonly string[];
}

export interface Connection {
  readonly id: string;
  readonly provider_config_key: string;
  readonly connection_id: string;
  readonly provider: string;
  readonly credentials: Credentials;
  /** User inputs (a subdomain) and values the template keeps from the token response or callback. */
  readonly connection_config: Readonly<Record<string, unknown>>;
  /** The application's own data, set through the metadata API. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly end_user: EndUser | null;
  /** Nango's connection tags (lower-case keys); absent on connections made before tags existed. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Set while refreshes fail; cleared by the next success or a new connect flow. */
  readonly last_refresh_failure: RefreshFailure | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** A connect session: what the app's backend allows one browser to connect, for 30 minutes. */
export interface ConnectSession {
  /** SHA-256 of the session token; the token itself is never stored. */
  readonly token_hash: string;
  /** Null when the backend gave only tags (then `connection_id` is set: a fresh id per session). */
  readonly end_user: EndUser | null;
  /** Tags of the connections its flows make (Nango's reserved end-user tags included). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Config keys the browser may connect; null = all. */
  readonly allowed_integrations: readonly string[] | null;
  /** Connection config per config key, fixed by the backend (the browser cannot override it). */
  readonly integrations_config_defaults: Readonly<Record<string, { readonly connection_config?: Readonly<Record<string, string>> }>>;
  /**
   * A reconnect session (POST /connect/sessions/reconnect): the one existing connection whose
   * credentials it may replace (its integration is the only allowed one). Absent: the end user's id.
   */
  readonly connection_id?: string;
  readonly created_at: string;
  readonly expires_at: number;
}

/** A dashboard sign-in: the cookie names it by a random id, stored only as its hash; sign-out deletes it. */
export interface DashboardSession {
  /** SHA-256 of the session id carried in the cookie. */
  readonly id_hash: string;
  readonly created_at: string;
  readonly expires_at: number;
}

/** A started connect flow, keyed by the SHA-256 of its `state`; deleted at the first callback. */
export interface FlowState {
  readonly state_hash: string;
  readonly provider_config_key: string;
  readonly connection_id: string;
  readonly code_verifier: string | null;
  readonly connection_config: Readonly<Record<string, string>>;
  /** SHA-256 of the browser-binding cookie the flow was started with. */
  readonly binding_hash: string;
  /** The browser SDK's flow id, under which the outcome is recorded; null for a plain redirect. */
  readonly flow_id: string | null;
  /** The exact, allowed origin of the page that opened the flow: the only postMessage target. */
  readonly origin: string | null;
  /** From the connect session that started the flow, if any. */
  readonly end_user: EndUser | null;
  /** From the connect session too: the tags the connection gets. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Whether the flow may replace an existing connection's credentials: only a flow started under a
   * connect session made by the backend. Absent (a public-key flow): it may create a connection only.
   */
  readonly may_replace?: boolean;
  readonly expires_at: number;
}

/** What the browser SDK reads at `GET /oauth/flows/:flowId`. Never holds a token. */
export type FlowResult =
  | { readonly status: 'success'; readonly providerConfigKey: string; readonly connectionId: string; readonly operation: 'creation' | 'override' }
  | {
      readonly status: 'error';
      readonly error: { readonly code: string; readonly message: string };
      /** The pair the flow was for, when known (Nango's WebSocket message names it). */
      readonly providerConfigKey?: string;
      readonly connectionId?: string;
    };

/** A flow's outcome, keyed by the SHA-256 of its flow id, kept for a short while. */
export interface FlowOutcomeRecord {
  readonly flow_id_hash: string;
  readonly result: FlowResult;
  readonly expires_at: number;
}

export interface ConnectionFilter {
  readonly provider_config_key?: string;
  readonly connection_id?: string;
  /** Substring (any case) of the connection id or the end user's id, email or name. */
  readonly search?: string;
  readonly end_user_id?: string;
  /** Every tag must match (Nango's `tags[key]=value`). */
  readonly tags?: Readonly<Record<string, string>>;
  readonly status?: ConnectionStatus;
  readonly limit: number;
  readonly offset: number;
}

/** A batch of background refresh's work (see Store.listRefreshDue). */
export interface RefreshDueQuery {
  /** Credentials obtained before this instant (ms) are due. */
  readonly obtainedBefore: number;
  /** The current time (ms), for refresh backoffs. */
  readonly now: number;
  /** Where the previous batch ended (its `next`); absent for the first. */
  readonly after?: RefreshCursor | null;
  readonly limit: number;
}

/** A position in background refresh's order (status.ts compareRefreshOrder). */
export interface RefreshCursor {
  /** When the credentials were obtained, as the store judged it (ISO 8601). */
  readonly staleSince: string;
  readonly providerConfigKey: string;
  readonly connectionId: string;
}

export interface RefreshDueBatch {
  readonly connections: Connection[];
  /** Where the next batch starts; null when there is none. */
  readonly next: RefreshCursor | null;
}

export type UpsertResult = 'created' | 'overridden';

/** Computes a connection from the stored one (undefined when absent); null leaves it unchanged. */
export type ConnectionUpdate = (current: Connection | undefined) => Connection | null;

export interface WriteResult {
  /** The stored connection after the write (or as it was, when unchanged). */
  readonly connection: Connection | undefined;
  readonly result: UpsertResult | 'unchanged';
}

export interface Store {
  getIntegration(uniqueKey: string): Promise<Integration | undefined>;
  listIntegrations(): Promise<Integration[]>;
  putIntegration(integration: Integration): Promise<void>;
  /** Deletes the integration and all its connections; false when there was none. */
  deleteIntegration(uniqueKey: string): Promise<boolean>;

  getConnection(providerConfigKey: string, connectionId: string): Promise<Connection | undefined>;
  /** One page of the matching connections (oldest first), and how many match in all. */
  listConnections(filter: ConnectionFilter): Promise<{ connections: Connection[]; total: number }>;
  /**
   * Read-modify-write of one connection, atomic per (config key, connection id): concurrent
   * writers (a refresh, a metadata update, a reconnect) never overwrite each other's changes.
   */
  writeConnection(providerConfigKey: string, connectionId: string, update: ConnectionUpdate): Promise<WriteResult>;
  deleteConnection(providerConfigKey: string, connectionId: string): Promise<boolean>;
  /**
   * The connections background refresh should renew (status.ts refreshStale), in the order of
   * status.ts compareRefreshOrder, one batch at a time. Chosen from indexed columns: connections that
   * are not due are never decrypted.
   */
  listRefreshDue(query: RefreshDueQuery): Promise<RefreshDueBatch>;

  putFlow(flow: FlowState): Promise<void>;
  /** Returns and deletes the flow in one step (single use); undefined when absent or expired. */
  takeFlow(stateHash: string): Promise<FlowState | undefined>;

  putOutcome(outcome: FlowOutcomeRecord): Promise<void>;

  putSession(session: ConnectSession): Promise<void>;
  /** The session, or undefined when unknown or expired. */
  getSession(tokenHash: string): Promise<ConnectSession | undefined>;
  /** Ends a connect session before its expiry (Nango's DELETE /connect/session); false when there was none. */
  deleteSession(tokenHash: string): Promise<boolean>;

  putDashboardSession(session: DashboardSession): Promise<void>;
  /** The dashboard session, or undefined when unknown (signed out) or expired. */
  getDashboardSession(idHash: string): Promise<DashboardSession | undefined>;
  /** Signs the session out everywhere; false when there was none. */
  deleteDashboardSession(idHash: string): Promise<boolean>;

  /**
   * Runs `fn` holding the named lock, so one refresh of a connection runs at a time. The JSON
   * adapter locks within its one process; a database adapter locks across server instances
   * (and `ttlMs` bounds how long a crashed holder can block the others).
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T>;
  getOutcome(flowIdHash: string): Promise<FlowOutcomeRecord | undefined>;

  /**
   * Re-seals every stored secret under the current key (the first of KEYWAY_ENCRYPTION_KEY), so
   * older keys can then be dropped; `onProgress` hears of each record. See store/reencrypt.ts.
   */
  resealAll(onProgress?: (done: number, total: number) => void): Promise<{ resealed: number; total: number }>;

  close(): Promise<void>;
}
