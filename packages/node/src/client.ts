import { KeywayError } from './errors.ts';
import { HttpClient } from './http.ts';
import { TokenCache } from './token-cache.ts';
import { sendProxy, type ProxyConfiguration, type ProxyContext, type ProxyResponse } from './proxy.ts';
import type {
  Connection,
  ConnectionSummary,
  ConnectSession,
  CreateConnectSessionProps,
  CreateReconnectSessionProps,
  CreateIntegrationBody,
  DeleteResponse,
  Integration,
  IntegrationInclude,
  LegacyListConnectionsQueries,
  ListConnectionsOptions,
  Metadata,
  MetadataChangeResponse,
  NangoOptions,
  OtherCredentials,
  PatchConnectionBody,
  ImportConnectionBody,
  Provider,
  UpdateIntegrationBody,
} from './types.ts';
import { requireConnectionId, requireConnectionIds, requireMetadata, requireProvider, requireProviderConfigKey } from './validate.ts';
import { verifyWebhookRequest, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

const seg = encodeURIComponent;

/**
 * Client for a Keyway server. Method names, argument order and answer shapes mirror @nangohq/node,
 * so existing code moves by changing the import.
 */
export class Nango {
  /** The server's base URL, without trailing slash. */
  readonly serverUrl: string;
  readonly #http: HttpClient;
  /** Fresh tokens by connection, when the caller opted in (`cache`). */
  readonly #tokens: TokenCache<string | OtherCredentials> | undefined;
  readonly #webhookSigningKey: string | undefined;
  readonly #proxy: ProxyContext;
  /** Defaults for `proxy()` (as @nangohq/node's constructor options). */
  readonly connectionId: string | undefined;
  readonly providerConfigKey: string | undefined;

  constructor(options: NangoOptions) {
    const config: Partial<NangoOptions> = options ?? {};
    if (config.secretKey && config.apiKey && config.secretKey !== config.apiKey) {
      throw new KeywayError('conflicting_secret_key', 'Pass the secret key once: secretKey and apiKey differ');
    }
    const secretKey = config.secretKey || config.apiKey;
    if (typeof secretKey !== 'string' || secretKey.trim() === '') {
      throw new KeywayError('missing_secret_key', 'A secret key is required: new Nango({ host, secretKey })');
    }
    this.serverUrl = parseHost(config.host);
    this.#webhookSigningKey = config.webhookSigningKey;

    const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new KeywayError('invalid_timeout', `timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
    }

    const maxAgeMs = typeof config.cache === 'object' && config.cache !== null ? (config.cache.maxAgeMs ?? Infinity) : Infinity;
    if (typeof maxAgeMs !== 'number' || Number.isNaN(maxAgeMs) || maxAgeMs <= 0) {
      throw new KeywayError('invalid_cache', `cache.maxAgeMs must be a positive number of milliseconds, got ${String(maxAgeMs)}`);
    }
    this.#tokens = config.cache ? new TokenCache(maxAgeMs) : undefined;
    // Resolved at call time so a global fetch installed later (mocks) is honoured.
    const doFetch: typeof fetch = config.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#http = new HttpClient({ baseUrl: this.serverUrl, secretKey, timeoutMs, fetch: doFetch });
    this.#proxy = { serverUrl: this.serverUrl, secretKey, timeoutMs, fetch: doFetch };
    this.connectionId = config.connectionId;
    this.providerConfigKey = config.providerConfigKey;
  }

  /* ───────────── Proxy ───────────── */

  /**
   * A request to the provider's API through the server's proxy, with the connection's credentials.
   * Answers as axios (and @nangohq/node) do: `{ data, status, headers }`; a non-2xx status throws a
   * KeywayError whose `response` holds the provider's answer.
   */
  async proxy<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>> {
    const full = { ...config, connectionId: config.connectionId || this.connectionId, providerConfigKey: config.providerConfigKey || this.providerConfigKey };
    requireProviderConfigKey(full.providerConfigKey);
    requireConnectionId(full.connectionId);
    if (typeof full.endpoint !== 'string' || full.endpoint === '') throw new KeywayError('missing_endpoint', 'endpoint is required');
    return sendProxy<T>(this.#proxy, full);
  }

  get<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy<T>({ ...config, method: 'GET' });
  }

  post<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy<T>({ ...config, method: 'POST' });
  }

  put<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy<T>({ ...config, method: 'PUT' });
  }

  patch<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy<T>({ ...config, method: 'PATCH' });
  }

  delete<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy<T>({ ...config, method: 'DELETE' });
  }

  /* ───────────── Connections ───────────── */

  /**
   * The access token (OAuth 2) of a connection, refreshed by the server when it is about to expire.
   * For other auth modes, the credentials object.
   */
  async getToken(providerConfigKey: string, connectionId: string, forceRefresh = false): Promise<string | OtherCredentials> {
    const key = JSON.stringify([providerConfigKey, connectionId]);
    if (!forceRefresh) {
      const cached = this.#tokens?.get(key);
      if (cached !== undefined) return cached;
    }
    const { credentials } = await this.#getConnection(providerConfigKey, connectionId, forceRefresh, false);
    const token = credentials.type === 'OAUTH2' ? credentials.access_token : credentials;
    this.#tokens?.set(key, token, typeof credentials.expires_at === 'string' ? credentials.expires_at : undefined);
    return token;
  }

  /** The full connection, credentials included. `refreshToken: true` also returns the refresh token. */
  async getConnection(providerConfigKey: string, connectionId: string, forceRefresh = false, refreshToken = false): Promise<Connection> {
    return this.#getConnection(providerConfigKey, connectionId, forceRefresh, refreshToken);
  }

  /** The provider's token response, as received (`credentials.raw`). */
  async getRawTokenResponse<T = Record<string, unknown>>(providerConfigKey: string, connectionId: string, forceRefresh = false): Promise<T> {
    const { credentials } = await this.#getConnection(providerConfigKey, connectionId, forceRefresh, false);
    return credentials.raw as T;
  }

  /** Lists connections: `listConnections({ integrationId, endUserId, limit, page })`. */
  listConnections(options?: ListConnectionsOptions): Promise<{ connections: ConnectionSummary[] }>;
  /** Legacy form of @nangohq/node: `listConnections(connectionId?, search?, queries?)`. */
  listConnections(connectionId?: string, search?: string, queries?: LegacyListConnectionsQueries): Promise<{ connections: ConnectionSummary[] }>;
  async listConnections(
    first?: string | ListConnectionsOptions,
    search?: string,
    queries?: LegacyListConnectionsQueries,
  ): Promise<{ connections: ConnectionSummary[] }> {
    const options: ListConnectionsOptions =
      typeof first === 'object' && first !== null ? first : { ...queries, ...(first ? { connectionId: first } : {}), ...(search ? { search } : {}) };
    const integrationId = Array.isArray(options.integrationId) ? options.integrationId.join(',') : options.integrationId;
    return this.#http.request('GET', '/connections', {
      query: {
        connectionId: nonEmpty(options.connectionId),
        search: nonEmpty(options.search),
        integrationId: nonEmpty(integrationId),
        endUserId: nonEmpty(options.endUserId ?? options.userId),
        ...tagQuery(options.tags),
        limit: options.limit,
        page: options.page,
      },
    });
  }

  /** Nango's POST /connections: stores credentials obtained elsewhere (replacing those of an existing pair). */
  async importConnection(body: ImportConnectionBody): Promise<Connection> {
    requireProviderConfigKey(body?.provider_config_key);
    if (body.connection_id !== undefined) requireConnectionId(body.connection_id);
    return this.#http.request('POST', '/connections', { body });
  }

  /** Nango's patchConnection: replaces the connection's end user and/or tags. */
  async patchConnection(params: { connectionId: string; provider_config_key: string }, body: PatchConnectionBody): Promise<{ success: boolean }> {
    requireConnectionId(params?.connectionId);
    requireProviderConfigKey(params?.provider_config_key);
    return this.#http.request('PATCH', `/connections/${seg(params.connectionId)}`, { query: { provider_config_key: params.provider_config_key }, body });
  }

  async deleteConnection(providerConfigKey: string, connectionId: string): Promise<DeleteResponse> {
    requireProviderConfigKey(providerConfigKey);
    requireConnectionId(connectionId);
    this.#tokens?.delete(JSON.stringify([providerConfigKey, connectionId]));
    const body = await this.#http.request<DeleteResponse | null>('DELETE', `/connections/${seg(connectionId)}`, {
      query: { provider_config_key: providerConfigKey },
    });
    return body ?? { success: true };
  }

  /* ───────────── Metadata ───────────── */

  async getMetadata<T = Metadata>(providerConfigKey: string, connectionId: string): Promise<T> {
    const connection = await this.#getConnection(providerConfigKey, connectionId, false, false);
    return (connection.metadata ?? {}) as T;
  }

  /** Replaces the metadata of one or several connections. */
  async setMetadata(providerConfigKey: string, connectionId: string | string[], metadata: Metadata): Promise<MetadataChangeResponse> {
    return this.#writeMetadata('POST', providerConfigKey, connectionId, metadata);
  }

  /** Merges into the metadata of one or several connections (top-level keys). */
  async updateMetadata(providerConfigKey: string, connectionId: string | string[], metadata: Metadata): Promise<MetadataChangeResponse> {
    return this.#writeMetadata('PATCH', providerConfigKey, connectionId, metadata);
  }

  /* ───────────── Integrations ───────────── */

  /** GET /integrations answers `{ data }`; like @nangohq/node, this returns `{ configs }`. */
  async listIntegrations(): Promise<{ configs: Integration[] }> {
    const body = await this.#http.request<{ data: Integration[] }>('GET', '/integrations');
    return { configs: body.data };
  }

  async getIntegration(params: { uniqueKey: string }, queries?: { include?: IntegrationInclude[] }): Promise<{ data: Integration }> {
    requireProviderConfigKey(params?.uniqueKey, 'Integration unique key');
    return this.#http.request('GET', `/integrations/${seg(params.uniqueKey)}`, { query: { include: queries?.include } });
  }

  async createIntegration(body: CreateIntegrationBody): Promise<{ data: Integration }> {
    return this.#http.request('POST', '/integrations', { body });
  }

  async updateIntegration(params: { uniqueKey: string }, body: UpdateIntegrationBody): Promise<{ data: Integration }> {
    requireProviderConfigKey(params?.uniqueKey, 'Integration unique key');
    return this.#http.request('PATCH', `/integrations/${seg(params.uniqueKey)}`, { body });
  }

  async deleteIntegration(uniqueKey: string): Promise<DeleteResponse> {
    requireProviderConfigKey(uniqueKey, 'Integration unique key');
    const body = await this.#http.request<DeleteResponse | null>('DELETE', `/integrations/${seg(uniqueKey)}`);
    return body ?? { success: true };
  }

  /* ───────────── Connect sessions ───────────── */

  /**
   * A short-lived token (30 minutes) for the browser SDK: `new Nango({ connectSessionToken })`. The
   * flows it starts connect `end_user.id` (as the connection id) to the allowed integrations only.
   */
  async createConnectSession(props: CreateConnectSessionProps): Promise<{ data: ConnectSession }> {
    if (!props?.end_user?.id && !props?.tags) throw new KeywayError('missing_end_user', 'end_user.id (it becomes the connection id) or tags are required');
    return this.#http.request('POST', '/connect/sessions', { body: props });
  }

  /**
   * A connect session that may replace the credentials of one existing connection (a reconnect):
   * the only way a browser flow replaces a connection. Plain sessions and the public key create.
   */
  async createReconnectSession(props: CreateReconnectSessionProps): Promise<{ data: ConnectSession }> {
    requireConnectionId(props?.connection_id);
    requireProviderConfigKey(props?.integration_id, 'integration_id');
    return this.#http.request('POST', '/connect/sessions/reconnect', { body: props });
  }

  /* ───────────── Providers ───────────── */

  async listProviders(queries?: { search?: string }): Promise<{ data: Provider[] }> {
    return this.#http.request('GET', '/providers', { query: { search: nonEmpty(queries?.search) } });
  }

  async getProvider(params: { provider: string }): Promise<{ data: Provider }> {
    requireProvider(params?.provider);
    return this.#http.request('GET', `/providers/${seg(params.provider)}`);
  }

  /* ───────────── Webhooks ───────────── */

  /**
   * Whether a webhook request was signed with this client's `webhookSigningKey` (the server's
   * KEYWAY_WEBHOOK_SECRET) and is recent: the Standard Webhooks signature over `webhook-id`,
   * `webhook-timestamp` and `rawBody` (the body exactly as received), with the timestamp within
   * 5 minutes of now (`options.toleranceSeconds`). False without a `webhookSigningKey`: the API's
   * secret key never signs webhooks.
   */
  verifyIncomingWebhookRequest(rawBody: string | Buffer, headers: WebhookHeaders, options?: VerifyWebhookOptions): boolean {
    return this.#webhookSigningKey !== undefined && verifyWebhookRequest(this.#webhookSigningKey, rawBody, headers, options);
  }

  /* ───────────── internals ───────────── */

  async #getConnection(providerConfigKey: string, connectionId: string, forceRefresh: boolean, refreshToken: boolean): Promise<Connection> {
    requireProviderConfigKey(providerConfigKey);
    requireConnectionId(connectionId);
    const connection = await this.#http.request<Connection | null>('GET', `/connections/${seg(connectionId)}`, {
      query: { provider_config_key: providerConfigKey, force_refresh: forceRefresh, refresh_token: refreshToken },
    });
    if (typeof connection !== 'object' || connection === null || typeof connection.credentials !== 'object' || connection.credentials === null) {
      throw new KeywayError('invalid_response', 'The server answered GET /connections/:connectionId without a connection and its credentials', {
        payload: connection,
      });
    }
    return connection;
  }

  async #writeMetadata(
    method: 'POST' | 'PATCH',
    providerConfigKey: string,
    connectionId: string | string[],
    metadata: Metadata,
  ): Promise<MetadataChangeResponse> {
    requireProviderConfigKey(providerConfigKey);
    requireConnectionIds(connectionId);
    requireMetadata(metadata);
    return this.#http.request(method, '/connections/metadata', {
      body: { connection_id: connectionId, provider_config_key: providerConfigKey, metadata },
    });
  }
}

function parseHost(host: unknown): string {
  if (typeof host !== 'string' || host.trim() === '') {
    throw new KeywayError('invalid_host_url', 'A host is required: new Nango({ host: "http://127.0.0.1:3003", secretKey })');
  }
  let url: URL;
  try {
    url = new URL(host.trim());
  } catch {
    throw new KeywayError('invalid_host_url', `Invalid host URL: ${host}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KeywayError('invalid_host_url', `The host must be an http(s) URL, got ${url.protocol}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new KeywayError('invalid_host_url', 'The host URL must not have a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** `tags[key]=value` query entries, with @nangohq/node's aliases (`email`, `displayName`) and lower-cased keys. */
function tagQuery(tags: Record<string, string> | undefined): Record<string, string> {
  const alias: Record<string, string> = { email: 'end_user_email', displayName: 'end_user_display_name' };
  return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`tags[${alias[k] ?? k.toLowerCase()}]`, v]));
}
