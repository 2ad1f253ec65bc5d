// Public option types, defaults and their validation.

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface SandboxClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs: an authorization request must use one of them verbatim. */
  redirectUris: string[];
  /** Default 'client_secret_basic'. (oidc-provider accepts either method from any client.) */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
}

export interface SandboxOptions {
  /** Default 3004; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. Only loopback hosts are accepted. */
  host?: string;
  /** Default: one client, see DEFAULT_CLIENT. */
  clients?: SandboxClient[];
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /** Default true: every refresh returns a new refresh token and the used one stops working. */
  rotateRefreshTokens?: boolean;
  /** Default false. When true the authorization flow's pages carry `Cross-Origin-Opener-Policy: same-origin`. */
  crossOriginOpenerPolicy?: boolean;
  /** Default false. When true /auth approves at once as the demo user, without showing the page. */
  autoApprove?: boolean;
}

export const DEFAULT_PORT = 3004;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
export const DEFAULT_REFRESH_TOKEN_TTL = 14 * 24 * 60 * 60;

export const DEFAULT_REDIRECT_URIS: readonly string[] = [
  'http://127.0.0.1:3003/oauth/callback',
  'http://localhost:3003/oauth/callback',
];

export const DEFAULT_CLIENT: Readonly<SandboxClient> = Object.freeze({
  clientId: 'keyway-sandbox-client',
  clientSecret: 'keyway-sandbox-secret',
  redirectUris: [...DEFAULT_REDIRECT_URIS],
  tokenEndpointAuthMethod: 'client_secret_basic',
});

export interface ResolvedOptions {
  port: number;
  host: string;
  clients: Required<SandboxClient>[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  rotateRefreshTokens: boolean;
  crossOriginOpenerPolicy: boolean;
  autoApprove: boolean;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((part) => Number(part) <= 255);
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive integer (seconds), got ${String(value)}`);
  }
  return value;
}

function checkClient(client: SandboxClient, index: number): Required<SandboxClient> {
  const where = `clients[${index}]`;
  if (typeof client.clientId !== 'string' || client.clientId === '') {
    throw new TypeError(`${where}.clientId must be a non-empty string`);
  }
  if (typeof client.clientSecret !== 'string' || client.clientSecret === '') {
    throw new TypeError(`${where}.clientSecret must be a non-empty string`);
  }
  if (!Array.isArray(client.redirectUris) || client.redirectUris.length === 0) {
    throw new TypeError(`${where}.redirectUris must list at least one URI`);
  }
  for (const uri of client.redirectUris) {
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw new TypeError(`${where}.redirectUris has an invalid URL: ${uri}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`${where}.redirectUris must use http or https: ${uri}`);
    }
    if (parsed.hash !== '') {
      throw new TypeError(`${where}.redirectUris must not have a fragment: ${uri}`);
    }
  }
  const method = client.tokenEndpointAuthMethod ?? 'client_secret_basic';
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new TypeError(`${where}.tokenEndpointAuthMethod must be client_secret_basic or client_secret_post`);
  }
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectUris: [...client.redirectUris],
    tokenEndpointAuthMethod: method,
  };
}

export function resolveOptions(options: SandboxOptions = {}): ResolvedOptions {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const host = options.host ?? DEFAULT_HOST;
  if (!isLoopbackHost(host)) {
    throw new TypeError(`host must be a loopback address (127.0.0.1, ::1 or localhost), got ${host}`);
  }
  const clients = (options.clients ?? [DEFAULT_CLIENT]).map(checkClient);
  if (clients.length === 0) throw new TypeError('clients must not be empty');
  const ids = new Set<string>();
  for (const client of clients) {
    if (ids.has(client.clientId)) throw new TypeError(`duplicate clientId: ${client.clientId}`);
    ids.add(client.clientId);
  }
  return {
    port,
    host: host === '[::1]' ? '::1' : host,
    clients,
    accessTokenTtlSeconds: positiveInteger(options.accessTokenTtlSeconds, DEFAULT_ACCESS_TOKEN_TTL, 'accessTokenTtlSeconds'),
    refreshTokenTtlSeconds: positiveInteger(options.refreshTokenTtlSeconds, DEFAULT_REFRESH_TOKEN_TTL, 'refreshTokenTtlSeconds'),
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    crossOriginOpenerPolicy: options.crossOriginOpenerPolicy ?? false,
    autoApprove: options.autoApprove ?? false,
  };
}
