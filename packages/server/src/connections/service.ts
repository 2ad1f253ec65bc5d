import { randomUUID } from 'node:crypto';
import { KeywayError } from '../errors.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { requestTokens, type OAuth2Tokens } from '../oauth/client.ts';
import type { Connection, ConnectionFilter, Store, UpsertResult } from '../store/types.ts';
import { resolveEndpoints } from '../templates/interpolate.ts';
import { credentialsFrom, expiresWithin, refreshDue } from './credentials.ts';
import { mergeMetadata } from './metadata.ts';

/** Refresh a token that expires within this margin, so a caller never gets one about to die. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface NewConnection {
  readonly providerConfigKey: string;
  readonly connectionId: string;
  readonly provider: string;
  readonly tokens: OAuth2Tokens;
  readonly connectionConfig: Readonly<Record<string, unknown>>;
}

/** Connections: one end user's credentials for one integration, kept fresh. */
export class ConnectionService {
  /** One refresh per connection at a time in this process; callers share the one in flight. */
  readonly #refreshing = new Map<string, Promise<Connection>>();

  constructor(
    private readonly store: Store,
    private readonly integrations: IntegrationService,
    private readonly providerTimeoutMs: number,
  ) {}

  /** Creates the connection, or replaces the credentials of the existing pair (keeping its metadata). */
  async upsert(input: NewConnection): Promise<{ connection: Connection; result: UpsertResult }> {
    const credentials = credentialsFrom(input.tokens);
    const { connection, result } = await this.store.writeConnection(input.providerConfigKey, input.connectionId, (existing) => {
      const now = new Date().toISOString();
      return {
        id: existing?.id ?? randomUUID(),
        provider_config_key: input.providerConfigKey,
        connection_id: input.connectionId,
        provider: input.provider,
        credentials,
        connection_config: input.connectionConfig,
        metadata: existing?.metadata ?? {},
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
    });
    return { connection: connection!, result: result === 'unchanged' ? 'overridden' : result };
  }

  /** The connection with a token valid for at least the refresh margin (refreshing it if needed). */
  async getFresh(providerConfigKey: string, connectionId: string, forceRefresh = false): Promise<Connection> {
    const connection = await this.get(providerConfigKey, connectionId);
    if (!forceRefresh && !refreshDue(connection.credentials, REFRESH_MARGIN_MS)) return connection; // a memory read
    const key = JSON.stringify([providerConfigKey, connectionId]);
    let flight = this.#refreshing.get(key);
    if (!flight) {
      flight = this.#refresh(providerConfigKey, connectionId, forceRefresh).finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, flight);
    }
    return flight;
  }

  async #refresh(providerConfigKey: string, connectionId: string, force: boolean): Promise<Connection> {
    // Re-read under the flight: a refresh that finished meanwhile may have made this one needless.
    const current = await this.get(providerConfigKey, connectionId);
    if (!force && !refreshDue(current.credentials, REFRESH_MARGIN_MS)) return current;
    const refreshToken = current.credentials.refresh_token;
    if (!refreshToken) {
      if (force || expiresWithin(current.credentials, 0)) {
        throw new KeywayError('refresh_failed', 'The access token cannot be refreshed: the provider gave no refresh token. Reconnect.');
      }
      return current; // still valid for a while; nothing to refresh it with
    }
    const { integration, template } = await this.integrations.withTemplate(providerConfigKey);
    const config = Object.fromEntries(Object.entries(current.connection_config).filter((e): e is [string, string] => typeof e[1] === 'string'));
    let tokens: OAuth2Tokens;
    try {
      tokens = await requestTokens({
        tokenUrl: resolveEndpoints(template, config).refreshUrl,
        client: { clientId: integration.client_id, clientSecret: integration.client_secret, authMethod: template.token_request_auth_method ?? 'basic' },
        grant: { grant_type: 'refresh_token', refresh_token: refreshToken },
        timeoutMs: this.providerTimeoutMs,
      });
    } catch (e) {
      if (e instanceof KeywayError && e.code === 'token_err') throw new KeywayError('refresh_failed', e.message, e.details);
      throw e;
    }
    const credentials = credentialsFrom(tokens, current.credentials);
    // Stored before any caller sees the new token: a rotated refresh token must never be lost.
    const { connection } = await this.store.writeConnection(providerConfigKey, connectionId, (latest) => {
      // Deleted meanwhile, or replaced by a new connect flow: theirs wins.
      if (!latest || latest.credentials.refresh_token !== refreshToken) return null;
      return { ...latest, credentials, updated_at: new Date().toISOString() };
    });
    if (!connection) throw new KeywayError('unknown_connection', `The connection "${connectionId}" was deleted during its refresh`);
    return connection;
  }

  async get(providerConfigKey: string, connectionId: string): Promise<Connection> {
    await this.integrations.get(providerConfigKey);
    const connection = await this.store.getConnection(providerConfigKey, connectionId);
    if (!connection) {
      throw new KeywayError('unknown_connection', `There is no connection "${connectionId}" for the integration "${providerConfigKey}"`);
    }
    return connection;
  }

  list(filter: ConnectionFilter): Promise<Connection[]> {
    return this.store.listConnections(filter);
  }

  async delete(providerConfigKey: string, connectionId: string): Promise<void> {
    await this.get(providerConfigKey, connectionId);
    await this.store.deleteConnection(providerConfigKey, connectionId);
  }

  /** Replaces (`merge` false) or shallow-merges the metadata of each connection; all must exist first. */
  async writeMetadata(providerConfigKey: string, connectionIds: readonly string[], metadata: Record<string, unknown>, merge: boolean): Promise<void> {
    await Promise.all(connectionIds.map((id) => this.get(providerConfigKey, id)));
    for (const id of connectionIds) {
      await this.store.writeConnection(providerConfigKey, id, (c) =>
        c ? { ...c, metadata: merge ? mergeMetadata(c.metadata, metadata) : metadata, updated_at: new Date().toISOString() } : null,
      );
    }
  }
}
