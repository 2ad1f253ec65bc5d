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
  readonly created_at: string;
  readonly updated_at: string;
}

export interface OAuth2Credentials {
  readonly type: 'OAUTH2';
  readonly access_token: string;
  readonly refresh_token?: string;
  /** ISO 8601; absent when the provider gave no expiry. */
  readonly expires_at?: string;
  /** The provider's token response as it came. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface Connection {
  readonly id: string;
  readonly provider_config_key: string;
  readonly connection_id: string;
  readonly provider: string;
  readonly credentials: OAuth2Credentials;
  /** User inputs (a subdomain) and values the template keeps from the token response or callback. */
  readonly connection_config: Readonly<Record<string, unknown>>;
  /** The application's own data, set through the metadata API. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly created_at: string;
  readonly updated_at: string;
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
  readonly expires_at: number;
}

/** What the browser SDK reads at `GET /oauth/flows/:flowId`. Never holds a token. */
export type FlowResult =
  | { readonly status: 'success'; readonly providerConfigKey: string; readonly connectionId: string; readonly operation: 'creation' | 'override' }
  | { readonly status: 'error'; readonly error: { readonly code: string; readonly message: string } };

/** A flow's outcome, keyed by the SHA-256 of its flow id, kept for a short while. */
export interface FlowOutcomeRecord {
  readonly flow_id_hash: string;
  readonly result: FlowResult;
  readonly expires_at: number;
}

export interface ConnectionFilter {
  readonly provider_config_key?: string;
  readonly connection_id?: string;
  /** Substring of the connection id. */
  readonly search?: string;
  readonly limit: number;
  readonly offset: number;
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
  listConnections(filter: ConnectionFilter): Promise<Connection[]>;
  /**
   * Read-modify-write of one connection, atomic per (config key, connection id): concurrent
   * writers (a refresh, a metadata update, a reconnect) never overwrite each other's changes.
   */
  writeConnection(providerConfigKey: string, connectionId: string, update: ConnectionUpdate): Promise<WriteResult>;
  deleteConnection(providerConfigKey: string, connectionId: string): Promise<boolean>;

  putFlow(flow: FlowState): Promise<void>;
  /** Returns and deletes the flow in one step (single use); undefined when absent or expired. */
  takeFlow(stateHash: string): Promise<FlowState | undefined>;

  putOutcome(outcome: FlowOutcomeRecord): Promise<void>;
  getOutcome(flowIdHash: string): Promise<FlowOutcomeRecord | undefined>;

  close(): Promise<void>;
}
