import type {
  ActivityEntry,
  ActivityPage,
  ActivityQuery,
  AuthMode,
  CertificateSummary,
  ConnectionDetail,
  ConnectionPage,
  ConnectionQuery,
  ConnectionStatus,
  ConnectionSummary,
  EndUser,
  Integration,
  IntegrationClient,
  IntegrationInput,
  Provider,
  RefreshFailure,
  Session,
  Settings,
  WebhookTestResult,
} from './types.ts';

/** An error answer of the server (`{ error: { code, message } }`), or `network` when there was none. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The provider's own error code and description, when the server passed them on (refresh failures). */
    readonly provider?: { error: string; description?: string },
  ) {
    super(message);
  }
}

export const PAGE_SIZE = 50;

type Fetch = (input: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'status' | 'json'>>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const dataOf = (body: unknown): unknown => (isRecord(body) ? body.data : undefined);
const enc = encodeURIComponent;

/**
 * The dashboard's one way to the server: same-origin requests carrying the session cookie, the CSRF token (kept in
 * this object's memory only) on every change, and errors as ApiError with the server's message. Every answer is
 * copied field by field into the types of types.ts, leaving out tokens, keys and secrets.
 */
export class Api {
  #csrf: string | undefined;
  #providers: Promise<Provider[]> | undefined;
  #onUnauthorized: (() => void) | undefined;

  constructor(private readonly fetch: Fetch) {}

  /** Called when a request is refused for want of a session (it expired, or the server's secret key changed). */
  onUnauthorized(handler: (() => void) | undefined): void {
    this.#onUnauthorized = handler;
  }

  async #request(method: string, path: string, body?: unknown, { session = false } = {}): Promise<unknown> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // On every request, reads included: a forced token refresh is a GET that changes state, and the server asks for it there.
    if (this.#csrf) headers['X-Keyway-CSRF'] = this.#csrf;
    let res: Awaited<ReturnType<Fetch>>;
    try {
      res = await this.fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError(0, 'network', 'The Keyway server could not be reached. Check that it is running, then try again.');
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      json = undefined;
    }
    if (res.ok) return json;
    const e = isRecord(json) && isRecord(json.error) ? json.error : {};
    const providerError = typeof e.provider_error === 'string' ? e.provider_error : undefined;
    const error = new ApiError(
      res.status,
      str(e.code, 'http_' + res.status),
      str(e.message) || `The server answered with HTTP ${res.status}.`,
      providerError === undefined ? undefined : { error: providerError, ...(typeof e.provider_error_description === 'string' && { description: e.provider_error_description }) },
    );
    if (res.status === 401 && !session) {
      this.#csrf = undefined;
      this.#onUnauthorized?.();
    }
    throw error;
  }

  // --- session ---------------------------------------------------------------------------------------------

  /** The current session, or null when signed out. */
  async getSession(): Promise<Session | null> {
    try {
      return this.#keepSession(await this.#request('GET', '/dashboard/api/session', undefined, { session: true }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  }

  /** Exchanges the secret key for a session cookie. The key is sent once and kept nowhere. */
  async signIn(secretKey: string): Promise<Session> {
    return this.#keepSession(await this.#request('POST', '/dashboard/api/session', { secretKey }, { session: true }));
  }

  async signOut(): Promise<void> {
    try {
      await this.#request('DELETE', '/dashboard/api/session', undefined, { session: true });
    } finally {
      this.#csrf = undefined;
    }
  }

  #keepSession(body: unknown): Session {
    const d = record(dataOf(body));
    const session = { csrf: str(d.csrf), expires_at: str(d.expires_at) };
    this.#csrf = session.csrf;
    return session;
  }

  // --- settings --------------------------------------------------------------------------------------------

  async settings(): Promise<Settings> {
    const d = record(dataOf(await this.#request('GET', '/dashboard/api/settings')));
    const encryption = record(d.encryption);
    return {
      server_url: str(d.server_url),
      callback_url: str(d.callback_url),
      public_key: str(d.public_key),
      allowed_origins: strList(d.allowed_origins),
      require_connect_session: d.require_connect_session === true,
      webhook_url: strOrNull(d.webhook_url) || null,
      encryption: { current_key_id: str(encryption.current_key_id), key_ids: strList(encryption.key_ids) },
    };
  }

  /** A connect session (POST /connect/sessions) for one test end user and one integration: what "Try it" starts flows with. */
  async createConnectSession(endUserId: string, integration: string): Promise<{ token: string; expiresAt: string }> {
    const d = record(dataOf(await this.#request('POST', '/connect/sessions', { end_user: { id: endUserId }, allowed_integrations: [integration] })));
    return { token: str(d.token), expiresAt: str(d.expires_at) };
  }

  async testWebhook(): Promise<WebhookTestResult> {
    const d = record(dataOf(await this.#request('POST', '/dashboard/api/webhook-test')));
    return { delivered: d.delivered === true, status: typeof d.status === 'number' ? d.status : 0, ...(typeof d.error === 'string' && { error: d.error }) };
  }

  // --- providers and integrations ------------------------------------------------------------------------

  /** Every Provider Template (fetched once per page load: they change only when the server restarts). */
  providers(): Promise<Provider[]> {
    this.#providers ??= this.#request('GET', '/providers').then(
      (body) => {
        const list = dataOf(body);
        return (Array.isArray(list) ? list : []).map(toProvider).sort((a, b) => a.display_name.localeCompare(b.display_name));
      },
      (e: unknown) => {
        this.#providers = undefined;
        throw e;
      },
    );
    return this.#providers;
  }

  async provider(name: string): Promise<Provider> {
    return toProvider(dataOf(await this.#request('GET', `/providers/${enc(name)}`)));
  }

  async integrations(): Promise<Integration[]> {
    const list = dataOf(await this.#request('GET', '/integrations'));
    return (Array.isArray(list) ? list : []).map(toIntegration);
  }

  /** The integration and its client id and scopes; the client secret in the answer is dropped here. */
  async integration(key: string): Promise<{ integration: Integration; client: IntegrationClient }> {
    const d = record(dataOf(await this.#request('GET', `/integrations/${enc(key)}?include=credentials`)));
    const c = record(d.credentials);
    return { integration: toIntegration(d), client: { client_id: str(c.client_id), scopes: splitScopes(str(c.scopes)) } };
  }

  /**
   * The stored client secret, read only at the moment an edit of the client id or scopes is saved with the secret
   * field left empty: the server's PATCH replaces the client as a whole (id, secret, scopes), so "unchanged" means
   * sending the stored secret back. It is never kept or shown.
   */
  async storedClientSecret(key: string): Promise<string> {
    const d = record(dataOf(await this.#request('GET', `/integrations/${enc(key)}?include=credentials`)));
    return str(record(d.credentials).client_secret);
  }

  async createIntegration(input: IntegrationInput): Promise<Integration> {
    return toIntegration(dataOf(await this.#request('POST', '/integrations', input)));
  }

  async updateIntegration(key: string, input: IntegrationInput): Promise<Integration> {
    return toIntegration(dataOf(await this.#request('PATCH', `/integrations/${enc(key)}`, input)));
  }

  async deleteIntegration(key: string): Promise<void> {
    await this.#request('DELETE', `/integrations/${enc(key)}`);
  }

  // --- connections ---------------------------------------------------------------------------------------

  /** One page of connections, filtered and paged by the server. */
  async connections(q: ConnectionQuery, limit = PAGE_SIZE): Promise<ConnectionPage> {
    const params = new URLSearchParams();
    if (q.integration) params.set('integrationId', q.integration);
    if (q.search) params.set('search', q.search);
    if (q.status) params.set('status', q.status);
    params.set('limit', String(limit));
    params.set('page', String(q.page));
    const body = record(await this.#request('GET', `/connections?${params}`));
    const list = Array.isArray(body.connections) ? body.connections : [];
    return { connections: list.map(toSummary), total: typeof body.total === 'number' ? body.total : list.length };
  }

  /** One page of the activity log, newest first; `cursor` is a previous page's `next_cursor`. */
  async logs(q: Partial<ActivityQuery>, cursor = '', limit = PAGE_SIZE): Promise<ActivityPage> {
    const params = new URLSearchParams();
    if (q.integration) params.set('provider_config_key', q.integration);
    if (q.connection) params.set('connection_id', q.connection);
    if (q.type) params.set('type', q.type);
    if (q.outcome) params.set('outcome', q.outcome);
    if (q.from) params.set('from', q.from);
    if (q.to) params.set('to', q.to);
    if (cursor) params.set('cursor', cursor);
    params.set('limit', String(limit));
    const body = record(await this.#request('GET', `/logs?${params}`));
    return { entries: (Array.isArray(body.data) ? body.data : []).map(toActivity), next_cursor: strOrNull(body.next_cursor) };
  }

  /** One connection's summary (the list's fields), when its full read fails. */
  async connectionSummary(key: string, id: string): Promise<ConnectionSummary | undefined> {
    const params = new URLSearchParams({ integrationId: key, connectionId: id, limit: '1', page: '0' });
    const body = record(await this.#request('GET', `/connections?${params}`));
    const first = Array.isArray(body.connections) ? body.connections[0] : undefined;
    return first === undefined ? undefined : toSummary(first);
  }

  async connection(key: string, id: string, { forceRefresh = false } = {}): Promise<ConnectionDetail> {
    const params = new URLSearchParams({ provider_config_key: key });
    if (forceRefresh) params.set('force_refresh', 'true');
    return toDetail(await this.#request('GET', `/connections/${enc(id)}?${params}`));
  }

  async deleteConnection(key: string, id: string): Promise<void> {
    await this.#request('DELETE', `/connections/${enc(id)}?${new URLSearchParams({ provider_config_key: key })}`);
  }

  /** Replaces the connection's metadata. */
  async saveMetadata(key: string, id: string, metadata: Record<string, unknown>): Promise<void> {
    await this.#request('POST', '/connections/metadata', { connection_id: id, provider_config_key: key, metadata });
  }
}

export const splitScopes = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

const AUTH_MODES: readonly AuthMode[] = ['OAUTH2', 'OAUTH2_CC', 'API_KEY', 'BASIC', 'TWO_STEP'];
const authMode = (v: unknown): AuthMode => (AUTH_MODES.includes(v as AuthMode) ? (v as AuthMode) : 'OAUTH2');
const STATUS_VALUES: readonly ConnectionStatus[] = ['ok', 'expiring', 'refresh_failed', 'exhausted'];

function toProvider(v: unknown): Provider {
  const d = record(v);
  const config: Provider['connection_config'] = {};
  for (const [name, input] of Object.entries(record(d.connection_config))) {
    const i = record(input);
    config[name] = {
      title: str(i.title, name),
      ...(typeof i.description === 'string' && { description: i.description }),
      ...(typeof i.pattern === 'string' && { pattern: i.pattern }),
      ...(typeof i.example === 'string' && { example: i.example }),
      ...(i.from_integration === true && { from_integration: true }),
    };
  }
  return {
    name: str(d.name),
    display_name: str(d.display_name) || str(d.name),
    auth_mode: authMode(d.auth_mode),
    categories: strList(d.categories),
    docs: str(d.docs),
    default_scopes: strList(d.default_scopes),
    connection_config: config,
    host_inputs: strList(d.host_inputs),
    client_certificate: d.client_certificate === true,
  };
}

function toIntegration(v: unknown): Integration {
  const d = record(v);
  const fixed: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(d.connection_config))) if (typeof v === 'string') fixed[k] = v;
  return {
    unique_key: str(d.unique_key),
    provider: str(d.provider),
    display_name: str(d.display_name),
    connection_config: fixed,
    allowed_hosts: strList(d.allowed_hosts),
    client_certificate: toCertificate(d.client_certificate),
    created_at: str(d.created_at),
    updated_at: str(d.updated_at),
  };
}

/** The certificate's public facts only: anything else in the answer (a key, were one ever sent) is dropped. */
function toCertificate(v: unknown): CertificateSummary | null {
  if (!isRecord(v)) return null;
  return { subject: str(v.subject), issuer: str(v.issuer), not_before: str(v.not_before), not_after: str(v.not_after), fingerprint256: str(v.fingerprint256) };
}

function toEndUser(v: unknown): EndUser | null {
  if (!isRecord(v)) return null;
  return { id: str(v.id), email: strOrNull(v.email), display_name: strOrNull(v.display_name) };
}

function toSummary(v: unknown): ConnectionSummary {
  const d = record(v);
  return {
    connection_id: str(d.connection_id),
    provider_config_key: str(d.provider_config_key),
    provider: str(d.provider),
    created: str(d.created),
    metadata: record(d.metadata),
    auth_mode: authMode(d.auth_mode),
    status: STATUS_VALUES.includes(d.status as ConnectionStatus) ? (d.status as ConnectionStatus) : 'ok',
    expires_at: strOrNull(d.expires_at),
    end_user: toEndUser(d.end_user),
  };
}

function toFailure(v: unknown): RefreshFailure | null {
  if (!isRecord(v)) return null;
  return {
    at: str(v.at),
    code: str(v.code),
    ...(typeof v.description === 'string' && { description: v.description }),
    backoff_until: str(v.backoff_until),
    days: strList(v.days),
  };
}

function toDetail(v: unknown): ConnectionDetail {
  const d = record(v);
  const c = record(d.credentials);
  return {
    connection_id: str(d.connection_id),
    provider_config_key: str(d.provider_config_key),
    provider: str(d.provider),
    connection_config: record(d.connection_config),
    metadata: record(d.metadata),
    created_at: str(d.created_at),
    updated_at: str(d.updated_at),
    end_user: toEndUser(d.end_user),
    last_refresh_failure: toFailure(d.last_refresh_failure),
    // Only the type and the expiry: never a token, a key or a password.
    credentials: { type: authMode(c.type), expires_at: strOrNull(c.expires_at) },
  };
}

function toActivity(v: unknown): ActivityEntry {
  const e = record(v);
  const error = isRecord(e.error) ? e.error : undefined;
  const http = isRecord(e.http) ? e.http : undefined;
  const num = (x: unknown) => (typeof x === 'number' ? x : 0);
  return {
    id: str(e.id),
    at: str(e.at),
    type: str(e.type),
    action: str(e.action),
    outcome: str(e.outcome),
    provider_config_key: strOrNull(e.provider_config_key),
    connection_id: strOrNull(e.connection_id),
    ...(typeof e.request_id === 'string' && { request_id: e.request_id }),
    message: str(e.message),
    error: error ? { code: str(error.code), message: str(error.message), provider_error: strOrNull(error.provider_error) } : null,
    http: http ? { method: str(http.method), path: str(http.path), status: num(http.status), duration_ms: num(http.duration_ms), retries: typeof http.retries === 'number' ? http.retries : null } : null,
  };
}
