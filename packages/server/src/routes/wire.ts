/** Domain records -> Nango's public JSON shapes. Nothing secret leaves unless asked for. */
import type { Connection, Integration } from '../store/types.ts';
import type { ProviderTemplate } from '../templates/schema.ts';

export function apiIntegration(i: Integration, includeCredentials = false) {
  return {
    unique_key: i.unique_key,
    provider: i.provider,
    display_name: i.display_name,
    logo: '',
    created_at: i.created_at,
    updated_at: i.updated_at,
    ...(includeCredentials && {
      credentials: {
        type: 'OAUTH2' as const,
        client_id: i.client_id,
        client_secret: i.client_secret,
        scopes: i.scopes.length > 0 ? i.scopes.join(',') : null,
        webhook_secret: null,
      },
    }),
  };
}

export function apiConnectionSummary(c: Connection) {
  return {
    id: c.id,
    connection_id: c.connection_id,
    provider_config_key: c.provider_config_key,
    provider: c.provider,
    created: c.created_at,
    metadata: c.metadata,
    errors: [],
    end_user: null,
    tags: {},
  };
}

/** The full connection; the refresh token is left out unless `includeRefreshToken` (Nango's `refresh_token=true`). */
export function apiConnection(c: Connection, includeRefreshToken: boolean) {
  const { refresh_token, ...credentials } = c.credentials;
  const raw = { ...c.credentials.raw };
  if (!includeRefreshToken) delete raw.refresh_token;
  return {
    id: c.id,
    connection_id: c.connection_id,
    provider_config_key: c.provider_config_key,
    provider: c.provider,
    connection_config: c.connection_config,
    metadata: c.metadata,
    created_at: c.created_at,
    updated_at: c.updated_at,
    last_fetched_at: new Date().toISOString(),
    errors: [],
    end_user: null,
    tags: {},
    credentials: { ...credentials, ...(includeRefreshToken && refresh_token !== undefined && { refresh_token }), raw },
  };
}

export function apiProvider(t: ProviderTemplate) {
  const { name, ...rest } = t;
  return { name, ...rest, logo_url: '' };
}
