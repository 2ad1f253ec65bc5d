import { randomBytes, randomUUID } from 'node:crypto';
import { tagsWithEndUser, type Tags } from '../connections/tags.ts';
import { KeywayError } from '../errors.ts';
import { sha256 } from '../primitives.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { ConnectSession, EndUser, Store } from '../store/types.ts';

export const CONNECT_SESSION_TTL_MS = 30 * 60_000;

/** Nango's answer to POST /connect/sessions (and /reconnect). */
export interface ConnectSessionAnswer {
  readonly token: string;
  readonly connect_link: string;
  readonly expires_at: string;
}

export interface ConnectSessionInput {
  /** Null when only tags were given (Nango makes `end_user` optional then). */
  readonly end_user: EndUser | null;
  readonly tags?: Tags;
  readonly allowed_integrations: readonly string[] | null;
  readonly integrations_config_defaults: ConnectSession['integrations_config_defaults'];
}

/** Nango's POST /connect/sessions/reconnect: a session for replacing one existing connection's credentials. */
export interface ReconnectSessionInput {
  readonly connection_id: string;
  readonly integration_id: string;
  /** The connection's end user when absent (or, when it has none, one named by the connection id). */
  readonly end_user?: EndUser;
  /** The connection's tags when absent. */
  readonly tags?: Tags;
  readonly integrations_config_defaults: ConnectSession['integrations_config_defaults'];
}

/**
 * Connect sessions: the app's backend (secret key) decides who connects and to what; the browser
 * gets a short-lived token good only for starting those flows. The token is stored as a hash.
 */
export class ConnectSessionService {
  constructor(
    private readonly store: Store,
    private readonly integrations: IntegrationService,
    /** The public base URL: connect links point at its Connect UI. */
    private readonly serverUrl: string,
  ) {}

  async create(input: ConnectSessionInput & { readonly connection_id?: string }): Promise<ConnectSessionAnswer> {
    for (const key of [...(input.allowed_integrations ?? []), ...Object.keys(input.integrations_config_defaults)]) {
      await this.integrations.get(key).catch(() => {
        throw new KeywayError('invalid_body', `"${key}" is not an integration`);
      });
    }
    const token = `kw_cs_${randomBytes(32).toString('base64url')}`;
    const expiresAt = Date.now() + CONNECT_SESSION_TTL_MS;
    // Without an end user, whose id names the connection, each session connects under a fresh id (as Nango).
    const connectionId = input.connection_id ?? (input.end_user ? undefined : randomUUID());
    await this.store.putSession({
      token_hash: sha256(token),
      ...input,
      ...(connectionId !== undefined && { connection_id: connectionId }),
      tags: tagsWithEndUser(input.end_user, input.tags),
      created_at: new Date().toISOString(),
      expires_at: expiresAt,
    });
    // Nango's connect_link: the Connect UI on its own page, for a flow started from an email or a chat message.
    // The token goes in the fragment, which browsers never send to a server (nor to its logs).
    return { token, connect_link: `${this.serverUrl}/connect/ui/#session_token=${token}`, expires_at: new Date(expiresAt).toISOString() };
  }

  /**
   * A session whose flows may replace the credentials of one existing connection, and nothing
   * else: its integration is the only one allowed, its connection id the only one targeted.
   */
  async createReconnect(input: ReconnectSessionInput): Promise<ConnectSessionAnswer> {
    await this.integrations.get(input.integration_id);
    const existing = await this.store.getConnection(input.integration_id, input.connection_id);
    if (!existing) throw new KeywayError('unknown_connection', `There is no connection "${input.connection_id}" for the integration "${input.integration_id}"`);
    return this.create({
      end_user: input.end_user ?? existing.end_user ?? { id: input.connection_id },
      ...((input.tags ?? existing.tags) && { tags: input.tags ?? existing.tags }),
      allowed_integrations: [input.integration_id],
      integrations_config_defaults: input.integrations_config_defaults,
      connection_id: input.connection_id,
    });
  }

  /** Ends the session now (Nango's DELETE /connect/session): flows it has not started yet are refused. */
  async end(token: string): Promise<void> {
    await this.resolve(token);
    await this.store.deleteSession(sha256(token));
  }

  async resolve(token: string): Promise<ConnectSession> {
    const session = /^kw_cs_[A-Za-z0-9_-]{43}$/.test(token) ? await this.store.getSession(sha256(token)) : undefined;
    if (!session) throw new KeywayError('invalid_connect_session', 'The connect session is unknown or expired; ask your backend for a new one');
    return session;
  }
}
