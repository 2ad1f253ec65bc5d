/**
 * What the dashboard shows. These are the safe subsets of the server's answers: the API client (api.ts) copies
 * only these fields out of each response, so no view can ever render a token, a key or a client secret.
 */

export type AuthMode = 'OAUTH2' | 'OAUTH2_CC' | 'API_KEY' | 'BASIC' | 'TWO_STEP';
export type ConnectionStatus = 'ok' | 'expiring' | 'refresh_failed' | 'exhausted';
export const STATUSES: readonly ConnectionStatus[] = ['ok', 'expiring', 'refresh_failed', 'exhausted'];

export interface Session {
  csrf: string;
  expires_at: string;
}

export interface Settings {
  server_url: string;
  callback_url: string;
  public_key: string;
  allowed_origins: string[];
  require_connect_session: boolean;
  webhook_url: string | null;
  encryption: { current_key_id: string; key_ids: string[] };
}

export interface WebhookTestResult {
  delivered: boolean;
  status: number;
  error?: string;
}

export interface ConnectionConfigInput {
  title: string;
  description?: string;
  pattern?: string;
  example?: string;
  /** Set on the integration only (eBay's RuName, Amazon's application id): end users never see it. */
  from_integration?: boolean;
}

/** A Provider Template, as far as the dashboard needs it. */
export interface Provider {
  name: string;
  display_name: string;
  auth_mode: AuthMode;
  categories: string[];
  docs: string;
  default_scopes: string[];
  connection_config: Record<string, ConnectionConfigInput>;
  /** The inputs that name a host (`host`, `subdomain`): an integration may fix them and list allowed hosts. */
  host_inputs: string[];
  /** Mutual TLS (ADP): the integration must hold a TLS client certificate, or its connections are refused. */
  client_certificate: boolean;
}

/** What the server shows of an integration's TLS client certificate (its leaf): never the private key. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  not_before: string;
  not_after: string;
  fingerprint256: string;
}

/** A TLS client certificate to store: the PEM chain (leaf first) and the leaf's unencrypted PEM key. */
export interface CertificateInput {
  certificate: string;
  private_key: string;
}

export interface Integration {
  unique_key: string;
  provider: string;
  display_name: string;
  /** Connection config inputs fixed by the operator: end users cannot change them. */
  connection_config: Record<string, string>;
  /** Where the client secret may go when end users choose the host (`gitlab.acme.com`, `*.acme.com`). */
  allowed_hosts: string[];
  /** The stored client certificate (mutual TLS), or null when there is none. */
  client_certificate: CertificateSummary | null;
  created_at: string;
  updated_at: string;
}

/** An integration's client, without its secret (which the dashboard never keeps or shows). */
export interface IntegrationClient {
  client_id: string;
  /** As stored: a list, possibly empty (the template's default scopes apply). */
  scopes: string[];
}

export interface IntegrationInput {
  unique_key?: string;
  provider?: string;
  display_name?: string;
  credentials?: { type: 'OAUTH2'; client_id: string; client_secret: string; scopes: string };
  connection_config?: Record<string, string>;
  allowed_hosts?: string[];
  /** Sets or replaces the client certificate; null removes it. */
  client_certificate?: CertificateInput | null;
}

export interface EndUser {
  id: string;
  email: string | null;
  display_name: string | null;
}

export interface ConnectionSummary {
  connection_id: string;
  provider_config_key: string;
  provider: string;
  created: string;
  metadata: Record<string, unknown>;
  auth_mode: AuthMode;
  status: ConnectionStatus;
  expires_at: string | null;
  end_user: EndUser | null;
}

export interface RefreshFailure {
  at: string;
  code: string;
  description?: string;
  backoff_until: string;
  days: string[];
}

/** A connection's details: its credentials reduced to their type and expiry. */
export interface ConnectionDetail {
  connection_id: string;
  provider_config_key: string;
  provider: string;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  end_user: EndUser | null;
  last_refresh_failure: RefreshFailure | null;
  credentials: { type: AuthMode; expires_at: string | null };
}

export interface ConnectionQuery {
  integration: string;
  status: ConnectionStatus | '';
  search: string;
  /** 0-based, as the API counts. */
  page: number;
}

export interface ConnectionPage {
  connections: ConnectionSummary[];
  total: number;
}

/** The part of `@keyway/frontend`'s Nango the dashboard uses (a seam for tests). */
/** How the browser SDK starts a flow: a connect session made through the dashboard, or (opted in) the public key. */
export type AuthCredential = { readonly connectSessionToken: string } | { readonly publicKey: string };

export interface AuthClient {
  auth(providerConfigKey: string, connectionId: string, options?: { params?: Record<string, string> }): Promise<{ providerConfigKey: string; connectionId: string }>;
}

/** The activity log (GET /logs): what happened to connections, never a token or secret. */
export const ACTIVITY_TYPES = ['connect', 'refresh', 'webhook', 'proxy', 'verification'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];
export const ACTIVITY_OUTCOMES = ['success', 'failure', 'info'] as const;
export type ActivityOutcome = (typeof ACTIVITY_OUTCOMES)[number];

export interface ActivityEntry {
  id: string;
  at: string;
  type: string;
  action: string;
  outcome: string;
  provider_config_key: string | null;
  connection_id: string | null;
  /** The HTTP request that caused it (its X-Request-Id); absent for background work. */
  request_id?: string;
  message: string;
  error: { code: string; message: string; provider_error: string | null } | null;
  http: { method: string; path: string; status: number; duration_ms: number; retries: number | null } | null;
}

/** The activity filters; '' means any. `from` and `to` are ISO times. */
export interface ActivityQuery {
  integration: string;
  connection: string;
  type: ActivityType | '';
  outcome: ActivityOutcome | '';
  from: string;
  to: string;
}

export interface ActivityPage {
  entries: ActivityEntry[];
  /** The next (older) page's cursor; null on the last page. */
  next_cursor: string | null;
}
