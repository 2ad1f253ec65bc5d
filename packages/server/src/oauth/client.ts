/**
 * The one module that talks OAuth 2.0 to providers. arctic builds the authorization URL (state,
 * PKCE S256) and gives us its token and error types; around it we add what templates need and
 * arctic 3.7 lacks: any scope separator, extra parameters, client authentication in the body or
 * by a correctly form-encoded Basic header, and a time-out on every provider call. arctic's own
 * token requests would use the global `fetch`: ours go through the SSRF-guarded client instead
 * (http/outbound.ts), which is why arctic is used for the URL and the types, not the POST.
 * arctic is frozen upstream: nothing outside this folder imports it, so it stays replaceable.
 */
import {
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  OAuth2Tokens,
  UnexpectedErrorResponseBodyError,
  UnexpectedResponseError,
  generateCodeVerifier,
  generateState,
} from 'arctic';
import { createHash } from 'node:crypto';
import { KeywayError } from '../errors.ts';
import type { OutboundFetch, PresentedCertificate } from '../http/outbound.ts';
import type { AuthorizationParamName, TokenParamName } from '../templates/schema.ts';

export { OAuth2Tokens, generateCodeVerifier, generateState };

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'basic' | 'body' | 'secret_hash';
}

export interface AuthorizationRequest {
  readonly authorizationUrl: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string;
  /** null when the template opts out of PKCE. */
  readonly codeVerifier: string | null;
  readonly scopes: readonly string[];
  readonly scopeSeparator: string;
  /** Template params first, then the caller's; OAuth's own parameters cannot be overridden. */
  readonly params: Readonly<Record<string, string>>;
  /** Other names for OAuth's own parameters (TikTok Ads: `client_id` is `app_id`). */
  readonly paramNames?: Readonly<Partial<Record<AuthorizationParamName, string>>>;
  /** A route in the fragment that the query follows (`/oauth/authorize`: `https://app.example.com/#/oauth/authorize?...`). */
  readonly fragment?: string;
}

const PROTECTED_PARAMS = new Set(['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope']);

/**
 * The provider's authorization URL as a string (a fragment route, when there is one, carries the
 * query, so a `URL` object would re-encode it): arctic's URL, then the template's renames.
 */
export function buildAuthorizationUrl(req: AuthorizationRequest): string {
  const url = standardAuthorizationUrl(req);
  const renames = Object.entries(req.paramNames ?? {});
  if (renames.length > 0) {
    // Rebuilt in the same order, each own parameter under the provider's name for it.
    const names = new Map<string, string>(renames);
    const query = new URLSearchParams();
    for (const [k, v] of url.searchParams) query.append(names.get(k) ?? k, v);
    url.search = query.toString();
  }
  if (req.fragment === undefined) return url.href;
  const search = url.search;
  url.search = '';
  url.hash = '';
  return `${url.href}#${req.fragment}${search}`;
}

function standardAuthorizationUrl(req: AuthorizationRequest): URL {
  const client = new OAuth2Client(req.clientId, null, req.redirectUri);
  const url =
    req.codeVerifier === null
      ? client.createAuthorizationURL(req.authorizationUrl, req.state, [])
      : client.createAuthorizationURLWithPKCE(req.authorizationUrl, req.state, CodeChallengeMethod.S256, req.codeVerifier, []);
  if (req.scopes.length > 0) url.searchParams.set('scope', req.scopes.join(req.scopeSeparator));
  const renamed = new Set(Object.values(req.paramNames ?? {}));
  for (const [k, v] of Object.entries(req.params)) {
    if (!PROTECTED_PARAMS.has(k) && !renamed.has(k)) url.searchParams.set(k, v);
  }
  return url;
}

export type TokenGrant =
  | { readonly grant_type: 'authorization_code'; readonly code: string; readonly redirect_uri: string; readonly code_verifier: string | null }
  | { readonly grant_type: 'refresh_token'; readonly refresh_token: string }
  | { readonly grant_type: 'client_credentials'; readonly scope: string | null };

export interface TokenRequest {
  readonly tokenUrl: string;
  readonly client: ClientCredentials;
  readonly grant: TokenGrant;
  readonly extraParams?: Readonly<Record<string, string>>;
  /** Other names for the standard parameters (TikTok: `app_id`, `secret`, `auth_code`). */
  readonly paramNames?: Readonly<Partial<Record<TokenParamName, string>>>;
  /** `form` (default, RFC 6749) or `json`, for providers that only read JSON bodies. */
  readonly bodyFormat?: 'form' | 'json';
  readonly timeoutMs: number;
  /** The guarded HTTP client (http/outbound.ts): never the global fetch. */
  readonly fetch: OutboundFetch;
  /** Mutual TLS: the integration's client certificate, presented in the handshake. */
  readonly clientCertificate?: PresentedCertificate;
}

/** RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64 (arctic skips this). */
function basicAuthorization(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * Smartsheet's client authentication: the hex SHA-256 of `<secret>|<code>` (or `|<refresh token>`),
 * so the secret itself never travels. A client-credentials grant has no value to bind it to.
 */
function secretHash(secret: string, grant: TokenGrant): string {
  const bound = grant.grant_type === 'authorization_code' ? grant.code : grant.grant_type === 'refresh_token' ? grant.refresh_token : null;
  if (bound === null) throw new KeywayError('token_err', 'The secret_hash client authentication needs a code or a refresh token');
  return createHash('sha256').update(`${secret}|${bound}`).digest('hex');
}

/**
 * A failed provider call. `transient` failures (time-out, network, 5xx, 429, the OAuth errors
 * `server_error` and `temporarily_unavailable`) may succeed if tried again; the others will not.
 */
export class ProviderCallError extends KeywayError {
  constructor(
    code: 'token_err' | 'provider_timeout',
    message: string,
    readonly transient: boolean,
    details?: Readonly<Record<string, string>>,
  ) {
    super(code, message, details);
  }
}

/**
 * POSTs a token request and returns arctic's OAuth2Tokens. Every failure becomes a KeywayError:
 * the provider's OAuth error (`token_err` with its code and description), a non-JSON or 5xx
 * answer, a network failure, or our time-out (`provider_timeout`). A 200 that carries an
 * `error` field (GitHub does this) is an error too.
 */
export async function requestTokens(req: TokenRequest): Promise<OAuth2Tokens> {
  let status = 0;
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(req.extraParams ?? {})) body.set(k, v);
  for (const [k, v] of Object.entries(req.grant)) if (v !== null && v !== '') body.set(k, v);
  const json = req.bodyFormat === 'json';
  const headers: Record<string, string> = {
    'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded',
    Accept: 'application/json',
    'User-Agent': 'keyway',
  };
  if (req.client.authMethod === 'basic') {
    headers.Authorization = basicAuthorization(req.client.clientId, req.client.clientSecret);
  } else if (req.client.authMethod === 'secret_hash') {
    body.set('client_id', req.client.clientId);
    body.set('hash', secretHash(req.client.clientSecret, req.grant));
  } else {
    body.set('client_id', req.client.clientId);
    body.set('client_secret', req.client.clientSecret);
  }
  // The provider's own names for the standard parameters, renamed last so nothing is missed.
  for (const [standard, name] of Object.entries(req.paramNames ?? {})) {
    const value = body.get(standard);
    if (value === null) continue;
    body.delete(standard);
    body.set(name, value);
  }
  try {
    const response = await req.fetch(req.tokenUrl, {
      method: 'POST',
      headers,
      body: json ? JSON.stringify(Object.fromEntries(body)) : body,
      redirect: 'error',
      signal: AbortSignal.timeout(req.timeoutMs),
      ...(req.clientCertificate && { clientCertificate: req.clientCertificate }),
    });
    status = response.status;
    const text = await response.text();
    const data = parseJsonObject(text);
    // Where the access token sits (top level, or nested as in Slack user tokens) is the template's
    // business: the caller reads it and says so when it is missing.
    if (response.ok && data && typeof data.error !== 'string') return new OAuth2Tokens(data);
    if (data && typeof data.error === 'string') {
      throw new OAuth2RequestError(
        data.error,
        typeof data.error_description === 'string' ? data.error_description : null,
        typeof data.error_uri === 'string' ? data.error_uri : null,
        null,
      );
    }
    throw data ? new UnexpectedErrorResponseBodyError(response.status, null) : new UnexpectedResponseError(response.status);
  } catch (e) {
    if (e instanceof KeywayError) throw e; // the SSRF guard's refusal: not the provider's answer
    throw toProviderError(e, req.grant.grant_type, status);
  }
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const TRANSIENT_OAUTH_ERRORS = new Set(['server_error', 'temporarily_unavailable']);

function toProviderError(e: unknown, grant: TokenGrant['grant_type'], status: number): ProviderCallError {
  const what = { authorization_code: 'The code exchange', refresh_token: 'The token refresh', client_credentials: 'The client-credentials token request' }[grant];
  const transientStatus = status >= 500 || status === 429;
  if (e instanceof DOMException && e.name === 'TimeoutError') {
    return new ProviderCallError('provider_timeout', `${what} timed out: the provider did not answer in time`, true);
  }
  if (e instanceof OAuth2RequestError) {
    const details: Record<string, string> = { provider_error: e.code.slice(0, 100) };
    if (e.description) details.provider_error_description = e.description.slice(0, 500);
    return new ProviderCallError('token_err', `${what} failed: the provider answered ${details.provider_error}`, transientStatus || TRANSIENT_OAUTH_ERRORS.has(e.code), details);
  }
  if (e instanceof UnexpectedErrorResponseBodyError) {
    return new ProviderCallError('token_err', `${what} failed: the provider answered ${e.status} without an access token`, transientStatus);
  }
  if (e instanceof UnexpectedResponseError) {
    return new ProviderCallError('token_err', `${what} failed: the provider answered ${e.status} with a body that is not JSON`, transientStatus);
  }
  if (e instanceof TypeError) {
    return new ProviderCallError('token_err', `${what} failed: the provider could not be reached`, true);
  }
  return new ProviderCallError('token_err', `${what} failed`, false);
}
