import { randomUUID } from 'node:crypto';
import { KeywayError } from '../errors.ts';
import type { ActivitySink } from '../activity/log.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import { assertSecretHosts } from '../integrations/host-policy.ts';
import type { PresentedCertificate } from '../http/outbound.ts';
import { presentedCertificate } from '../integrations/mutual-tls.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { ProviderCallError, requestTokens, type OAuth2Tokens } from '../oauth/client.ts';
import { hasToken, type Connection, type ConnectionFilter, type Credentials, type EndUser, type Integration, type RefreshFailure, type Store, type TokenCredentials, type UpsertResult } from '../store/types.ts';
import { resolveEndpoints } from '../templates/interpolate.ts';
import type { OAuth2ClientCredentialsTemplate, OAuth2Template, TwoStepTemplate } from '../templates/schema.ts';
import { requestTwoStepToken } from '../oauth/two-step.ts';
import { clientCredentialsFrom, credentialsFrom, expiresWithin, refreshDue } from './credentials.ts';
import { checkMetadataSize, mergeMetadata } from './metadata.ts';
import { EXHAUSTED_AFTER_DAYS } from '../store/status.ts';

/** Refresh a token that expires within this margin (a template may set its own). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** No template asks for a margin longer than this (an hour); beyond it a token is fresh whatever the template. */
const MAX_MARGIN_MS = 60 * 60_000;
/** After the provider refuses a refresh, reads that need one fail fast for this long. */
export const REFRESH_BACKOFF_MS = 30_000;
export { EXHAUSTED_AFTER_DAYS } from '../store/status.ts';
/** Waits between attempts when a refresh fails transiently (5xx, network, time-out). */
export const TRANSIENT_RETRY_DELAYS_MS = [250, 1000] as const;
/** How long a refresh may hold its lock before another server instance may take it. */
const REFRESH_LOCK_TTL_MS = 60_000;

export interface NewConnection {
  readonly providerConfigKey: string;
  readonly connectionId: string;
  readonly provider: string;
  readonly credentials: Credentials;
  readonly connectionConfig: Readonly<Record<string, unknown>>;
  readonly endUser: EndUser | null;
  /** Replaces the connection's metadata when given (an import); otherwise it is kept. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Replaces the connection's tags when given (a connect session's); otherwise they are kept. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Refuse (connection_exists) rather than replace an existing connection: public-key flows. */
  readonly createOnly?: boolean;
}

export interface ConnectionServiceOptions {
  readonly providerTimeoutMs: number;
  /** The guarded HTTP client every refresh goes through. */
  readonly outbound: OutboundFetch;
  readonly log: Logger;
  /** Refresh counts by outcome and latency. */
  readonly metrics?: Pick<Metrics, 'refreshes' | 'refreshDuration'>;
  /** Told when the provider refuses a refresh (webhooks). */
  readonly onRefreshFailure?: (connection: Connection, error: KeywayError) => void;
  /** Told when a refresh succeeds after failures (webhooks). */
  readonly onRefreshRecovered?: (connection: Connection) => void;
  /** The activity log: every refresh attempted, refused, held back or given up. */
  readonly activity?: ActivitySink;
  readonly retryDelaysMs?: readonly number[];
}

/** Connections: one end user's credentials for one integration, kept fresh. */
export class ConnectionService {
  /** One refresh per connection at a time in this process; callers share the one in flight. */
  readonly #refreshing = new Map<string, Promise<Connection>>();

  constructor(
    private readonly store: Store,
    private readonly integrations: IntegrationService,
    private readonly options: ConnectionServiceOptions,
  ) {}

  /**
   * Creates the connection, or replaces the credentials of the existing pair (keeping its metadata);
   * with `createOnly`, an existing pair is left as it is and `connection_exists` thrown (decided in
   * the store's atomic read-modify-write, so two concurrent flows cannot both pass).
   */
  async upsert(input: NewConnection): Promise<{ connection: Connection; result: UpsertResult }> {
    const { credentials } = input;
    const { connection, result } = await this.store.writeConnection(input.providerConfigKey, input.connectionId, (existing) => {
      if (existing && input.createOnly) return null;
      const now = new Date().toISOString();
      return {
        id: existing?.id ?? randomUUID(),
        provider_config_key: input.providerConfigKey,
        connection_id: input.connectionId,
        provider: input.provider,
        credentials,
        connection_config: input.connectionConfig,
        metadata: input.metadata ?? existing?.metadata ?? {},
        end_user: input.endUser ?? existing?.end_user ?? null,
        ...((input.tags ?? existing?.tags) && { tags: input.tags ?? existing?.tags }),
        last_refresh_failure: null,
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
    });
    if (result === 'unchanged') throw connectionExists(input.connectionId);
    return { connection: connection!, result };
  }

  /** Nango's PATCH /connections/:id: a new end user and/or new tags (replacing them). */
  async patch(providerConfigKey: string, connectionId: string, change: { readonly end_user?: EndUser; readonly tags?: Readonly<Record<string, string>> }): Promise<Connection> {
    const { connection } = await this.store.writeConnection(providerConfigKey, connectionId, (existing) =>
      existing
        ? {
            ...existing,
            ...(change.end_user !== undefined && { end_user: change.end_user }),
            ...(change.tags !== undefined && { tags: change.tags }),
            updated_at: new Date().toISOString(),
          }
        : null,
    );
    if (!connection) throw new KeywayError('unknown_connection', `There is no connection "${connectionId}" for the integration "${providerConfigKey}"`);
    return connection;
  }

  /**
   * The connection with a token valid for at least the refresh margin. A fresh token is a memory
   * read; otherwise one refresh runs (shared by concurrent callers), or a typed error says why not.
   */
  async getFresh(providerConfigKey: string, connectionId: string, forceRefresh = false): Promise<Connection> {
    const connection = await this.get(providerConfigKey, connectionId);
    if (!hasToken(connection.credentials)) return connection; // API keys and passwords do not expire
    // The common case costs no lookup of the template: far from expiry under any margin a template may set.
    if (!forceRefresh && !refreshDue(connection.credentials, MAX_MARGIN_MS)) return connection;
    if (!forceRefresh && !refreshDue(connection.credentials, await this.#margin(providerConfigKey))) return connection;
    return this.#flight(providerConfigKey, connectionId, forceRefresh);
  }

  /**
   * The provider refused `rejectedToken` (a 401 to a proxied call): a forced refresh, unless the
   * token was renewed meanwhile. Twenty calls refused with one token cause one refresh: they join the
   * refresh in flight, or find, under the lock, that the stored token is already another.
   */
  async renewRejected(providerConfigKey: string, connectionId: string, rejectedToken: string): Promise<Connection> {
    const connection = await this.get(providerConfigKey, connectionId);
    if (!hasToken(connection.credentials) || connection.credentials.access_token !== rejectedToken) return connection;
    const joined = await this.#flight(providerConfigKey, connectionId, true, rejectedToken);
    // A flight that was already running may have been a plain read that found the token fresh.
    if (hasToken(joined.credentials) && joined.credentials.access_token === rejectedToken) return this.#flight(providerConfigKey, connectionId, true, rejectedToken);
    return joined;
  }

  #flight(providerConfigKey: string, connectionId: string, force: boolean, rejectedToken?: string): Promise<Connection> {
    const key = JSON.stringify([providerConfigKey, connectionId]);
    let flight = this.#refreshing.get(key);
    if (!flight) {
      flight = this.store
        .withLock(`refresh:${key}`, REFRESH_LOCK_TTL_MS, () => this.#refresh(providerConfigKey, connectionId, force, rejectedToken))
        .finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, flight);
    }
    return flight;
  }

  /**
   * Background refresh of one connection: under its refresh lock (across instances), re-reads it and
   * refreshes only if `stillDue` holds for what is stored now. Of several passes (instances) that
   * chose the same connection, the first refreshes it and the others find it no longer due.
   */
  async refreshIfDue(providerConfigKey: string, connectionId: string, stillDue: (c: Connection) => boolean): Promise<'refreshed' | 'not_due'> {
    const key = JSON.stringify([providerConfigKey, connectionId]);
    return this.store.withLock(`refresh:${key}`, REFRESH_LOCK_TTL_MS, async () => {
      const current = await this.store.getConnection(providerConfigKey, connectionId);
      if (!current || !stillDue(current)) return 'not_due';
      await this.#refresh(providerConfigKey, connectionId, true);
      return 'refreshed';
    });
  }

  async #margin(providerConfigKey: string): Promise<number> {
    const template = await this.integrations.templateOf(providerConfigKey);
    const buffer = template && 'token_expiration_buffer' in template ? template.token_expiration_buffer : undefined;
    return buffer === undefined ? REFRESH_MARGIN_MS : buffer * 1000;
  }

  /** Runs under the connection's refresh lock. Renews an OAuth 2.0 token by refresh, a client-credentials one by minting. */
  async #refresh(providerConfigKey: string, connectionId: string, force: boolean, rejectedToken?: string): Promise<Connection> {
    // Re-read under the lock: a refresh that finished meanwhile (here or in another instance) may
    // have made this one needless.
    const current = await this.get(providerConfigKey, connectionId);
    const creds = current.credentials;
    if (!hasToken(creds)) return current;
    if (rejectedToken !== undefined && creds.access_token !== rejectedToken) return current;
    if (!force && !refreshDue(creds, await this.#margin(providerConfigKey))) return current;
    const stillValid = !expiresWithin(creds, 0);

    const failure = current.last_refresh_failure;
    if (failure) {
      const blocked = Date.parse(failure.backoff_until) > Date.now()
        ? new KeywayError('refresh_backoff', `The provider refused the last refresh (${failure.code}); not retried before ${failure.backoff_until}`, failureDetails(failure))
        : failure.days.length >= EXHAUSTED_AFTER_DAYS && !force
          ? new KeywayError('refresh_exhausted', `The provider has refused refreshes on ${failure.days.length} days (${failure.code}); the user must connect again`, failureDetails(failure))
          : undefined;
      if (blocked) {
        if (stillValid && !force) return current;
        this.#activity(current, blocked.code === 'refresh_backoff' ? 'backoff' : 'exhausted', 'failure', blocked.message, blocked);
        throw blocked;
      }
    }
    if (creds.type === 'OAUTH2' && !creds.refresh_token) {
      if (force || !stillValid) throw new KeywayError('refresh_failed', 'The access token cannot be refreshed: the provider gave no refresh token. Reconnect.');
      return current; // still valid for a while; nothing to refresh it with
    }

    const { integration, template } = await this.integrations.withTemplate(providerConfigKey, 'OAUTH2', 'OAUTH2_CC', 'TWO_STEP');
    const config = Object.fromEntries(Object.entries(current.connection_config).filter((e): e is [string, string] => typeof e[1] === 'string'));
    if (creds.type === 'OAUTH2' && template.auth_mode !== 'TWO_STEP') assertSecretHosts(integration, template, config);
    const clientCertificate = presentedCertificate(integration, template);
    const started = performance.now();
    const observe = (outcome: 'success' | 'refused' | 'failed') => {
      this.options.metrics?.refreshes.inc({ config_key: providerConfigKey, outcome });
      this.options.metrics?.refreshDuration.observe({ outcome }, (performance.now() - started) / 1000);
    };
    let credentials: TokenCredentials;
    try {
      credentials = await this.#withRetries(() => this.#renew(integration, template, creds, config, clientCertificate));
    } catch (e) {
      observe(e instanceof ProviderCallError && !e.transient ? 'refused' : 'failed');
      if (!(e instanceof ProviderCallError)) throw e;
      if (e.transient) {
        this.options.log.warn('refresh failed transiently', { config_key: providerConfigKey, connection_id: connectionId, error_code: e.code });
        this.#activity(current, 'failed_transiently', 'failure', stillValid ? 'The refresh failed transiently; the current token is still valid' : 'The refresh failed transiently', e);
        if (stillValid) return current; // a working token beats an error
        throw e;
      }
      return this.#refused(current, creds.access_token, e);
    }

    // Stored before any caller sees the new token: a rotated refresh token must never be lost.
    let recovered = false;
    const { connection } = await this.store.writeConnection(providerConfigKey, connectionId, (latest) => {
      // Deleted meanwhile, or replaced by a new connect flow: theirs wins.
      if (!latest || !sameToken(latest, creds.access_token)) return null;
      recovered = latest.last_refresh_failure !== null;
      return { ...latest, credentials, last_refresh_failure: null, updated_at: new Date().toISOString() };
    });
    observe('success');
    if (!connection) throw new KeywayError('unknown_connection', `The connection "${connectionId}" was deleted during its refresh`);
    if (recovered) this.options.onRefreshRecovered?.(connection);
    this.#activity(current, 'refreshed', 'success', creds.type === 'OAUTH2' ? 'Access token refreshed' : creds.type === 'TWO_STEP' ? 'Two-step token obtained again' : 'Client-credentials token renewed');
    return connection;
  }

  /**
   * One renewal request: an OAuth 2.0 refresh, a client-credentials mint, or (TWO_STEP) the stored
   * credentials posted again to the token URL. Failures are ProviderCallErrors.
   */
  async #renew(
    integration: Integration,
    template: OAuth2Template | OAuth2ClientCredentialsTemplate | TwoStepTemplate,
    creds: TokenCredentials,
    config: Record<string, string>,
    clientCertificate: PresentedCertificate | undefined,
  ): Promise<TokenCredentials> {
    if (template.auth_mode === 'TWO_STEP' || creds.type === 'TWO_STEP') {
      if (template.auth_mode !== 'TWO_STEP' || creds.type !== 'TWO_STEP') throw new KeywayError('wrong_auth_mode', `The integration "${integration.unique_key}" is ${template.auth_mode}; its connection holds ${creds.type} credentials. Reconnect.`);
      return requestTwoStepToken({ template, fields: creds.fields, config, timeoutMs: this.options.providerTimeoutMs, fetch: this.options.outbound });
    }
    const endpoints = resolveEndpoints(template, config);
    const tokens: OAuth2Tokens = await requestTokens(
      creds.type === 'OAUTH2'
        ? {
            tokenUrl: endpoints.refreshUrl,
            client: { clientId: integration.client_id, clientSecret: integration.client_secret, authMethod: template.token_request_auth_method ?? 'basic' },
            grant: { grant_type: 'refresh_token', refresh_token: creds.refresh_token! },
            ...refreshParams(template),
            ...(template.auth_mode === 'OAUTH2' && template.token_param_names && { paramNames: template.token_param_names }),
            timeoutMs: this.options.providerTimeoutMs,
            fetch: this.options.outbound,
          }
        : {
            tokenUrl: endpoints.tokenUrl,
            client: { clientId: creds.client_id, clientSecret: creds.client_secret, authMethod: template.token_request_auth_method ?? 'basic' },
            grant: { grant_type: 'client_credentials', scope: creds.scopes.join(template.scope_separator ?? ' ') || null },
            ...(template.token_params && { extraParams: template.token_params }),
            ...(template.body_format && { bodyFormat: template.body_format }),
            timeoutMs: this.options.providerTimeoutMs,
            fetch: this.options.outbound,
            ...(clientCertificate && { clientCertificate }),
          },
    );
    return creds.type === 'OAUTH2'
      ? credentialsFrom(tokens, { previous: creds, defaultExpiresIn: template.default_expires_in, ...(template.auth_mode === 'OAUTH2' && { tokenPath: template.token_path }) })
      : clientCredentialsFrom(tokens, creds, template.default_expires_in);
  }

  /** An activity entry for a refresh of `c`: codes and messages only, never a token. */
  #activity(c: Connection, action: string, outcome: 'success' | 'failure', message: string, error?: KeywayError): void {
    this.options.activity?.record({
      type: 'refresh',
      action,
      outcome,
      provider_config_key: c.provider_config_key,
      connection_id: c.connection_id,
      message,
      ...(error && { error: { code: error.code, message: error.message, ...(error.details?.provider_error !== undefined && { provider_error: error.details.provider_error }) } }),
    });
  }

  /** The provider refused the renewal: record it (backoff, exhaustion) and say so. */
  async #refused(current: Connection, usedAccessToken: string, e: ProviderCallError): Promise<Connection> {
    const { provider_config_key: key, connection_id: id } = current;
    // Another writer may have renewed the credentials meanwhile (a reconnect, another instance): then ours were stale, not refused.
    const latest = await this.store.getConnection(key, id);
    if (latest && !sameToken(latest, usedAccessToken)) return latest;

    const now = new Date();
    const previous = current.last_refresh_failure;
    const failure: RefreshFailure = {
      at: now.toISOString(),
      code: e.details?.provider_error ?? e.code,
      ...(e.details?.provider_error_description !== undefined && { description: e.details.provider_error_description }),
      backoff_until: new Date(now.getTime() + REFRESH_BACKOFF_MS).toISOString(),
      days: [...new Set([...(previous?.days ?? []), now.toISOString().slice(0, 10)])].slice(-EXHAUSTED_AFTER_DAYS),
    };
    const { connection } = await this.store.writeConnection(key, id, (c) =>
      c && sameToken(c, usedAccessToken) ? { ...c, last_refresh_failure: failure, updated_at: now.toISOString() } : null,
    );
    const error = new KeywayError('refresh_failed', e.message, e.details);
    this.options.log.warn('refresh refused by the provider', { config_key: key, connection_id: id, error_code: failure.code, failure_days: failure.days.length });
    this.options.onRefreshFailure?.(connection ?? current, error);
    this.#activity(current, 'failed', 'failure', `The provider refused the refresh (${failure.code}); retried after ${failure.backoff_until}`, error);
    throw error;
  }

  /** Retries transient failures after short waits; permanent ones end at once. */
  async #withRetries<T>(call: () => Promise<T>): Promise<T> {
    const delays = this.options.retryDelaysMs ?? TRANSIENT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        const delay = delays[attempt];
        if (!(e instanceof ProviderCallError) || !e.transient || delay === undefined) throw e;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async get(providerConfigKey: string, connectionId: string): Promise<Connection> {
    await this.integrations.get(providerConfigKey);
    const connection = await this.store.getConnection(providerConfigKey, connectionId);
    if (!connection) {
      throw new KeywayError('unknown_connection', `There is no connection "${connectionId}" for the integration "${providerConfigKey}"`);
    }
    return connection;
  }

  list(filter: ConnectionFilter): Promise<{ connections: Connection[]; total: number }> {
    return this.store.listConnections(filter);
  }

  async delete(providerConfigKey: string, connectionId: string): Promise<void> {
    await this.get(providerConfigKey, connectionId);
    await this.store.deleteConnection(providerConfigKey, connectionId);
  }

  /** Replaces (`merge` false) or shallow-merges the metadata of each connection; all must exist first. */
  async writeMetadata(providerConfigKey: string, connectionIds: readonly string[], metadata: Record<string, unknown>, merge: boolean): Promise<void> {
    const current = await Promise.all(connectionIds.map((id) => this.get(providerConfigKey, id)));
    if (merge) for (const c of current) checkMetadataSize(mergeMetadata(c.metadata, metadata));
    for (const id of connectionIds) {
      await this.store.writeConnection(providerConfigKey, id, (c) =>
        c ? { ...c, metadata: merge ? mergeMetadata(c.metadata, metadata) : metadata, updated_at: new Date().toISOString() } : null,
      );
    }
  }
}

/** A public-key flow met an existing connection: only the backend may have its credentials replaced. */
export const connectionExists = (connectionId: string) =>
  new KeywayError('connection_exists', `A connection "${connectionId}" already exists; replacing its credentials needs a reconnect session from your backend (POST /connect/sessions/reconnect)`);

/** Whether the stored connection still holds the token a refresh started from. */
const sameToken = (c: Connection, accessToken: string) => hasToken(c.credentials) && c.credentials.access_token === accessToken;

function failureDetails(f: RefreshFailure): Record<string, string> {
  return { provider_error: f.code, ...(f.description !== undefined && { provider_error_description: f.description }), retry_after: f.backoff_until };
}

/** A refresh sends the template's `refresh_params`, or else its `token_params` (Nango's fallback), in its body format. */
function refreshParams(template: OAuth2Template | OAuth2ClientCredentialsTemplate): { extraParams?: Readonly<Record<string, string>>; bodyFormat?: 'form' | 'json' } {
  const params = (template.auth_mode === 'OAUTH2' ? template.refresh_params : undefined) ?? template.token_params;
  return { ...(params && { extraParams: params }), ...(template.body_format && { bodyFormat: template.body_format }) };
}
