import type { StoredConnection, StoredIntegration } from '../codec.ts';
import type { Connection, Credentials } from '../types.ts';

/**
 * The tables' rows and how they map to the records RecordCodec seals and opens. A record's fields
 * that have no column of their own (added after the schema) travel in `other_fields`, kept as they are.
 */

export const CONNECTION_COLUMNS =
  'provider_config_key, connection_id, id, provider, auth_type, credentials, expires_at, connection_config, metadata, end_user, last_refresh_failure, other_fields, created_at, updated_at';
export const INTEGRATION_COLUMNS = 'unique_key, provider, display_name, client_id, client_secret, scopes, other_fields, created_at, updated_at';
export const CONNECTION_FIELDS: ReadonlySet<string> = new Set(['provider_config_key', 'connection_id', 'id', 'provider', 'credentials', 'connection_config', 'metadata', 'end_user', 'last_refresh_failure', 'created_at', 'updated_at']);
export const INTEGRATION_FIELDS: ReadonlySet<string> = new Set(['unique_key', 'provider', 'display_name', 'client_id', 'client_secret', 'scopes', 'created_at', 'updated_at']);

export interface ConnectionRow {
  provider_config_key: string;
  connection_id: string;
  id: string;
  provider: string;
  auth_type: string;
  credentials: string;
  expires_at: Date | null;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  end_user: Connection['end_user'];
  last_refresh_failure: Connection['last_refresh_failure'];
  other_fields: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface IntegrationRow {
  unique_key: string;
  provider: string;
  display_name: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
  other_fields: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

/** The cache key of a connection. */
export const connectionKey = (providerConfigKey: string, connectionId: string) => JSON.stringify([providerConfigKey, connectionId]);

/** Whether a cache key (connectionKey) names one of the integration's connections. */
export function ofIntegration(providerConfigKey: string): (key: string) => boolean {
  const prefix = JSON.stringify([providerConfigKey]).slice(0, -1) + ',';
  return (key) => key.startsWith(prefix);
}

export function storedConnection(row: ConnectionRow): StoredConnection {
  return {
    ...row.other_fields,
    id: row.id,
    provider_config_key: row.provider_config_key,
    connection_id: row.connection_id,
    provider: row.provider,
    credentials: row.credentials,
    connection_config: row.connection_config,
    metadata: row.metadata,
    end_user: row.end_user,
    last_refresh_failure: row.last_refresh_failure,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function storedIntegration(row: IntegrationRow): StoredIntegration {
  return {
    ...row.other_fields,
    unique_key: row.unique_key,
    provider: row.provider,
    display_name: row.display_name,
    client_id: row.client_id,
    client_secret: row.client_secret,
    scopes: row.scopes,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The connection as RecordCodec.openConnection builds it, with credentials already opened from the same ciphertext. */
export function withCredentials(stored: StoredConnection, credentials: Credentials): Connection {
  return { ...stored, end_user: stored.end_user ?? null, last_refresh_failure: stored.last_refresh_failure ?? null, credentials };
}

/** The record's fields that have no column of their own, for `other_fields`. */
export function otherFields(record: object, columns: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k, v]) => !columns.has(k) && v !== undefined));
}

export const jsonOrNull = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/** An error's message for a StoreError (node-postgres' AggregateError of per-address failures spelled out). */
export function errorMessage(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => errorMessage(x)).join('; ');
  const message = e instanceof Error ? e.message : String(e);
  return message || (e as { code?: string })?.code || 'unknown error';
}
