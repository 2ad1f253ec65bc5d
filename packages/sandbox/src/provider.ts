// oidc-provider configuration of the sandbox.
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import Provider, { type ClientMetadata, type Configuration, type JWK } from 'oidc-provider';
import { CLAIMS_BY_SCOPE, findAccount } from './account.ts';
import { errorPage, PAGE_CSP } from './html.ts';
import { INTERACTION_PREFIX } from './interactions.ts';
import type { ResolvedOptions } from './options.ts';
import type { MemoryStore } from './store.ts';

/** Every scope the sandbox knows. Client metadata `scope` may only list these. */
export const SUPPORTED_SCOPES = [
  'openid',
  'offline_access',
  'profile',
  'email',
  'contacts:read',
  'contacts:write',
] as const;

/** Endpoint paths (oidc-provider's defaults, set explicitly so they cannot drift). */
export const ROUTES = {
  authorization: '/auth',
  token: '/token',
  userinfo: '/me',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/jwks',
} as const;

const ID_TOKEN_TTL = 3600;
const AUTHORIZATION_CODE_TTL = 60;
const INTERACTION_TTL = 60 * 60;
const SESSION_TTL = 14 * 24 * 60 * 60;
const MIN_GRANT_TTL = 365 * 24 * 60 * 60;

/** A fresh RS256 signing key for ID tokens (a new one on every start). */
export async function createSigningKey(): Promise<JWK> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function originOf(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

function clientMetadata(options: ResolvedOptions): ClientMetadata[] {
  return options.clients.map((client) => ({
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: [...client.redirectUris],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: SUPPORTED_SCOPES.join(' '),
  }));
}

export function createProvider(
  issuer: string,
  port: number,
  options: ResolvedOptions,
  store: MemoryStore,
  signingKey: JWK,
): Provider {
  const configuration: Configuration = {
    adapter: store.factory,
    clients: clientMetadata(options),
    findAccount,
    jwks: { keys: [signingKey] },
    scopes: [...SUPPORTED_SCOPES],
    claims: { acr: null, auth_time: null, iss: null, sid: null, ...CLAIMS_BY_SCOPE },
    routes: { ...ROUTES },

    // Expiry is exact: an access token past its exp is refused at once (the default allows 15 s).
    clockTolerance: 0,

    // Cookies on 127.0.0.1 are shared by every port: names of our own, with the port in them so
    // that two sandboxes in one browser do not overwrite each other's. Keys are new on each start.
    cookies: {
      names: {
        session: `sandbox_session_${port}`,
        interaction: `sandbox_interaction_${port}`,
        resume: `sandbox_interaction_resume_${port}`,
      },
      keys: [randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },

    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      introspection: {
        enabled: true,
        // Any authenticated client may introspect any token (the sandbox's clients are all confidential).
        allowedPolicy: () => true,
      },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens; other tokens are left alone (the endpoint still answers 200).
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
    },

    interactions: {
      url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}`,
    },

    // Keyway always sends S256; confidential clients may omit PKCE, public ones may not.
    // (oidc-provider 9 only accepts S256 when a code_challenge is sent.)
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },

    // A refresh token whenever the client may use the refresh_token grant and offline_access was
    // granted. Note that oidc-provider drops offline_access from the request unless prompt=consent.
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: options.rotateRefreshTokens,

    // The redirect_uri parameter is always required and must equal a registered one exactly.
    allowOmittingSingleRegisteredRedirectUri: false,

    // Browsers may call /me (and the other CORS-enabled endpoints) from a registered redirect URI's origin.
    clientBasedCORS: (_ctx, origin, client) =>
      (client.redirectUris ?? []).some((uri) => originOf(uri) === origin),

    ttl: {
      AccessToken: () => options.accessTokenTtlSeconds, // read at issue time: setAccessTokenTtl() may change it
      RefreshToken: options.refreshTokenTtlSeconds,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: ID_TOKEN_TTL,
      Interaction: INTERACTION_TTL,
      Session: SESSION_TTL,
      // The grant must outlive every token of its chain, rotated refresh tokens included.
      Grant: Math.max(MIN_GRANT_TTL, options.refreshTokenTtlSeconds, options.accessTokenTtlSeconds),
    },

    // Errors that cannot go back to the client (unknown client, wrong redirect_uri, ...).
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = errorPage(out.error, out.error_description);
    },
  };

  return new Provider(issuer, configuration);
}
