/** Domain records -> Nango's public JSON shapes. Nothing secret leaves unless asked for. */
import { certificateSummary } from '../http/client-certificate.ts';
import { connectionStatus } from '../store/status.ts';
import type { Connection, Credentials, EndUser, Integration } from '../store/types.ts';

/** Nango's end user shape. */
function apiEndUser(u: EndUser | null) {
  return u && { id: u.id, email: u.email ?? null, display_name: u.display_name ?? null, organization: u.organization ? { id: u.organization.id, display_name: u.organization.display_name ?? null } : null };
}
import { hostInputs } from '../templates/hosts.ts';
import type { ProviderTemplate } from '../templates/schema.ts';

/** `include`: Nango's `?include=credentials,webhook`. */
export function apiIntegration(i: Integration, include: { credentials?: boolean; webhook?: boolean } = {}) {
  return {
    unique_key: i.unique_key,
    provider: i.provider,
    display_name: i.display_name,
    logo: '',
    // Keyway's additions: inputs the operator fixed, and where a user-chosen host may receive the secret.
    connection_config: i.connection_config ?? {},
    allowed_hosts: i.allowed_hosts ?? [],
    // Mutual TLS: what the certificate says (subject, issuer, validity); its private key never leaves.
    client_certificate: i.client_certificate ? certificateSummary(i.client_certificate.certificate) : null,
    created_at: i.created_at,
    updated_at: i.updated_at,
    // Nango's URL where the provider sends its own webhooks; Keyway receives none from providers.
    ...(include.webhook && { webhook_url: null }),
    ...(include.credentials && {
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
    auth_mode: c.credentials.type,
    status: connectionStatus(c),
    expires_at: 'expires_at' in c.credentials ? (c.credentials.expires_at ?? null) : null,
    errors: c.last_refresh_failure ? [{ type: 'auth', log_id: '' }] : [],
    end_user: apiEndUser(c.end_user),
    tags: c.tags ?? {},
  };
}

/** The full connection; the refresh token is left out unless `includeRefreshToken` (Nango's `refresh_token=true`). */
export function apiConnection(c: Connection, includeRefreshToken: boolean) {
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
    errors: c.last_refresh_failure ? [{ type: 'auth', log_id: '' }] : [],
    last_refresh_failure: c.last_refresh_failure,
    end_user: apiEndUser(c.end_user),
    tags: c.tags ?? {},
    credentials: apiCredentials(c.credentials, includeRefreshToken),
  };
}

/** Nango's credential shapes. A client secret never leaves; a refresh token only when asked for. */
function apiCredentials(creds: Credentials, includeRefreshToken: boolean) {
  switch (creds.type) {
    case 'OAUTH2': {
      const { refresh_token, obtained_at: _, ...rest } = creds;
      const raw = includeRefreshToken ? creds.raw : withoutRefreshTokens(creds.raw);
      return { ...rest, ...(includeRefreshToken && refresh_token !== undefined && { refresh_token }), raw };
    }
    case 'OAUTH2_CC':
      return {
        type: creds.type,
        token: creds.access_token,
        ...(creds.expires_at !== undefined && { expires_at: creds.expires_at }),
        client_id: creds.client_id,
        raw: includeRefreshToken ? creds.raw : withoutRefreshTokens(creds.raw),
      };
    case 'TWO_STEP':
      // Nango's TwoStepCredentials: the typed fields (as API_KEY / BASIC show theirs), the token, the answer.
      return {
        ...creds.fields,
        type: creds.type,
        token: creds.access_token,
        ...(creds.expires_at !== undefined && { expires_at: creds.expires_at }),
        raw: includeRefreshToken ? creds.raw : withoutRefreshTokens(creds.raw),
      };
    case 'API_KEY':
      return { ...creds.fields, type: creds.type, apiKey: creds.apiKey };
    case 'BASIC':
      return { ...creds.fields, type: creds.type, username: creds.username, password: creds.password };
  }
}

export function apiProvider(t: ProviderTemplate) {
  const { name, ...rest } = t;
  // `host_inputs` (Keyway's): the connection config inputs that name a host, which an integration may fix.
  return { name, ...rest, logo_url: '', host_inputs: hostInputs(t) };
}

/**
 * A copy of a raw token response without any `refresh_token`, at any depth: templates with a
 * `token_path` (Slack user tokens under `authed_user`) nest it, and a provider may nest it
 * elsewhere. Objects without one are shared, not copied (this runs on every token read).
 */
export function withoutRefreshTokens(raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return strip(raw, 0) as Record<string, unknown>;
}

/** Beyond this depth a provider's response is cut off rather than walked further. */
const MAX_RAW_DEPTH = 32;

function strip(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_RAW_DEPTH) return null;
  if (Array.isArray(value)) {
    const items = value.map((v) => strip(v, depth + 1));
    return items.every((v, i) => v === value[i]) ? value : items;
  }
  const entries = Object.entries(value);
  const next = entries.map(([k, v]) => (k === 'refresh_token' ? undefined : strip(v, depth + 1)));
  if (next.every((v, i) => v === entries[i]![1])) return value;
  // A fresh object built key by key (`delete` would slow every later read of it); a provider's own
  // `__proto__` key is defined as a key, never assigned (which would set the copy's prototype).
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < entries.length; i++) {
    const k = entries[i]![0];
    const v = next[i];
    if (v === undefined) continue;
    if (k === '__proto__') Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
    else copy[k] = v;
  }
  return copy;
}
