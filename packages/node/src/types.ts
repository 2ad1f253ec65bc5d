/**
 * Wire types of the Nango public REST API, as Keyway's server speaks it.
 * Field names are Nango's (snake_case) so code written against @nangohq/node keeps compiling.
 */

/** Options for `new Nango(...)`. */
export interface NangoOptions {
  /** Base URL of the Keyway server, e.g. `http://127.0.0.1:3003`. */
  host: string;
  /** The environment's secret key, sent as `Authorization: Bearer <secretKey>`. */
  secretKey?: string;
  /** Alias of `secretKey` (newer @nangohq/node releases call it `apiKey`). */
  apiKey?: string;
  /** The server's KEYWAY_WEBHOOK_SECRET (`whsec_...`), for `verifyIncomingWebhookRequest` (@nangohq/node's name). */
  webhookSigningKey?: string;
  /** Per-request timeout in milliseconds. Default 30000. */
  timeoutMs?: number;
  /** A `fetch` implementation; defaults to Node's global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Off by default: every `getToken` asks the server (which serves a fresh token from its memory), so
   * a reconnect, a delete or a refresh made elsewhere is seen at once, as with @nangohq/node.
   * Opt in to keep tokens here and skip that round trip, accepting staleness: `true` keeps a token
   * until it nears expiry (a token replaced elsewhere may be served until then: up to its lifetime
   * less 5 minutes); `{ maxAgeMs }` also bounds how long (e.g. `{ maxAgeMs: 30_000 }`).
   * `forceRefresh` and `deleteConnection` through this client always bypass and update it.
   */
  cache?: boolean | { maxAgeMs?: number };
  /** The default connection of `proxy()` and its shortcuts (as in @nangohq/node). */
  connectionId?: string;
  /** The default integration of `proxy()` and its shortcuts. */
  providerConfigKey?: string;
}

export type AuthMode =
  | 'OAUTH1'
  | 'OAUTH2'
  | 'OAUTH2_CC'
  | 'BASIC'
  | 'API_KEY'
  | 'CUSTOM'
  | 'APP'
  | 'NONE'
  | 'TBA'
  | 'JWT'
  | 'BILL'
  | 'TWO_STEP'
  | 'SIGNATURE'
  | 'MCP_OAUTH2'
  | 'MCP_OAUTH2_GENERIC'
  | 'INSTALL_PLUGIN'
  | 'AWS_SIGV4';

export type OAuth2Credentials = {
  type: 'OAUTH2';
  access_token: string;
  refresh_token?: string;
  /** ISO 8601 date. */
  expires_at?: string;
  /** The provider's token response, as received. */
  raw: Record<string, unknown>;
};

/** Credentials of any other auth mode, passed through as the server sends them. */
export type OtherCredentials = {
  type: Exclude<AuthMode, 'OAUTH2'>;
  [key: string]: unknown;
};

export type Credentials = OAuth2Credentials | OtherCredentials;

export type Tags = Record<string, string>;

export type EndUser = {
  id: string;
  display_name: string | null;
  email: string | null;
  tags: Tags | null;
  organization: { id: string; display_name: string | null } | null;
};

export type ConnectionError = { type: string; log_id: string };

/** GET /connections/:connectionId */
export type Connection = {
  id: string;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  last_fetched_at: string | null;
  errors: ConnectionError[];
  end_user: EndUser | null;
  tags: Tags;
  credentials: Credentials;
};

/** One item of GET /connections */
export type ConnectionSummary = {
  id: string;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  created: string;
  metadata: Record<string, unknown> | null;
  errors: ConnectionError[];
  end_user: EndUser | null;
  tags: Tags;
};

export type ListConnectionsOptions = {
  connectionId?: string;
  search?: string;
  /** One integration (unique key), or several (sent comma-joined). */
  integrationId?: string | string[];
  endUserId?: string;
  /** Alias of `endUserId` (the name @nangohq/node's object form uses). */
  userId?: string;
  /** Connections carrying every one of these tags (`email` and `displayName` mean the end user's, as in @nangohq/node). */
  tags?: Tags;
  limit?: number;
  page?: number;
};

/** Third argument of the legacy form `listConnections(connectionId?, search?, queries?)`. */
export type LegacyListConnectionsQueries = {
  endUserId?: string;
  integrationId?: string;
  limit?: number;
  page?: number;
};

export type Metadata = Record<string, unknown>;

/** Answer of POST / PATCH /connections/metadata. */
export type MetadataChangeResponse = {
  connection_id: string | string[];
  provider_config_key: string;
  metadata: Metadata;
};

export type IntegrationCredentials = {
  type: 'OAUTH2';
  client_id: string | null;
  client_secret: string | null;
  scopes: string | null;
  webhook_secret: string | null;
};

export type Integration = {
  unique_key: string;
  provider: string;
  display_name: string;
  logo: string;
  /** Keyway: connection config inputs fixed by the operator (end users cannot change them). */
  connection_config?: Record<string, string>;
  /** Keyway: host patterns the client secret may go to when end users choose the host. */
  allowed_hosts?: string[];
  /** Keyway: the app's TLS client certificate (mutual TLS, e.g. ADP), as far as it may be shown; never its key. */
  client_certificate?: ClientCertificateSummary | null;
  created_at: string;
  updated_at: string;
  /** Present only with `include: ['credentials']`. */
  credentials?: IntegrationCredentials | null;
  /** Present only with `include: ['webhook']`: always null (Keyway receives no webhooks from providers). */
  webhook_url?: string | null;
};

export type IntegrationInclude = 'credentials' | 'webhook';

export type ClientCertificateSummary = { subject: string; issuer: string; not_before: string; not_after: string; fingerprint256: string };

/** Keyway: a TLS client certificate for templates with `client_certificate: true`: the PEM chain (leaf first) and its unencrypted PEM key. */
export type ClientCertificateInput = { certificate: string; private_key: string };

export type IntegrationCredentialsInput = {
  type: 'OAUTH2';
  client_id: string;
  client_secret: string;
  /** Comma-separated scopes. */
  scopes?: string;
};

export type CreateIntegrationBody = {
  unique_key: string;
  provider: string;
  display_name?: string;
  credentials?: IntegrationCredentialsInput;
  /** Keyway: fix connection config inputs (`{ host: 'gitlab.acme.internal' }`); end users cannot change them. */
  connection_config?: Record<string, string>;
  /** Keyway: where the client secret may go when end users choose the host (`gitlab.acme.com`, `*.acme.com`, `host:8443`). */
  allowed_hosts?: string[];
  /** Keyway: the app's TLS client certificate, for providers that require mutual TLS (ADP). */
  client_certificate?: ClientCertificateInput;
};

export type UpdateIntegrationBody = {
  unique_key?: string;
  display_name?: string;
  credentials?: IntegrationCredentialsInput;
  connection_config?: Record<string, string>;
  allowed_hosts?: string[];
  /** A new certificate and key, or `null` to remove them. */
  client_certificate?: ClientCertificateInput | null;
};

export type ConnectionConfigField = {
  title: string;
  description?: string;
  /** Absent when the input is a choice (`enum`). */
  pattern?: string;
  enum?: string[];
  example?: string;
  optional?: boolean;
  default_value?: string;
  [key: string]: unknown;
};

/** A provider template. Only the common fields are typed; the rest passes through. */
export type Provider = {
  name: string;
  display_name: string;
  categories: string[];
  docs: string;
  auth_mode: string;
  logo_url?: string;
  authorization_url?: string;
  token_url?: string;
  default_scopes?: string[];
  scope_separator?: string;
  connection_config?: Record<string, ConnectionConfigField>;
  [key: string]: unknown;
};

export type DeleteResponse = { success: true };

/** POST /connections body (Nango's): credentials obtained elsewhere, stored as a connection. */
export interface ImportConnectionBody {
  provider_config_key: string;
  /** A fresh UUID when absent. */
  connection_id?: string;
  credentials:
    | { type: 'OAUTH2'; access_token: string; refresh_token?: string; expires_at?: string; raw?: Record<string, unknown> }
    | { type: 'API_KEY'; apiKey: string }
    | { type: 'BASIC'; username: string; password?: string }
    /** Nango's shape: the fields the template declares (`username`, `password`, ...) beside the token. */
    | { type: 'TWO_STEP'; token: string; expires_at?: string; raw?: Record<string, unknown>; [field: string]: unknown };
  connection_config?: Record<string, unknown>;
  metadata?: Metadata;
  end_user?: { id: string; email?: string; display_name?: string };
  tags?: Tags;
}

/** PATCH /connections/:connectionId body: a new end user and/or new tags (replacing the old ones). */
export interface PatchConnectionBody {
  end_user?: { id: string; email?: string; display_name?: string };
  tags?: Tags;
}

/** POST /connect/sessions body (Nango's shape). */
export interface CreateConnectSessionProps {
  /** Optional when `tags` are given (then `tags.end_user_id`, if any, names the end user). */
  end_user?: { id: string; email?: string; display_name?: string };
  /** Tags of the connections the session makes (at most 10; keys are lower-cased). */
  tags?: Tags;
  organization?: { id: string; display_name?: string };
  /** Config keys the browser may connect; all when absent. */
  allowed_integrations?: string[];
  /** Connection config fixed by the backend per config key (the browser cannot override it). */
  integrations_config_defaults?: Record<string, { connection_config?: Record<string, string> }>;
}

/** Nango's POST /connect/sessions/reconnect body: the existing connection whose credentials the session may replace. */
export interface CreateReconnectSessionProps {
  connection_id: string;
  /** The connection's integration (config key); the only one the session allows. */
  integration_id: string;
  /** Replaces the connection's end user; kept when absent. */
  end_user?: { id: string; email?: string; display_name?: string };
  /** Replaces the connection's tags; kept when absent. */
  tags?: Tags;
  organization?: { id: string; display_name?: string };
  /** Connection config fixed by the backend, for `integration_id` only. */
  integrations_config_defaults?: Record<string, { connection_config?: Record<string, string> }>;
}

export interface ConnectSession {
  token: string;
  /** A page on Keyway that runs the Connect UI for this session (send it by email or chat). */
  connect_link: string;
  /** ISO 8601. */
  expires_at: string;
}
