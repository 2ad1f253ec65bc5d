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
import { KeywayError } from '../errors.ts';
import type { OutboundFetch } from '../http/outbound.ts';

export { OAuth2Tokens, generateCodeVerifier, generateState };

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'basic' | 'body';
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
}

const PROTECTED_PARAMS = new Set(['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope']);

export function buildAuthorizationUrl(req: AuthorizationRequest): URL {
  const client = new OAuth2Client(req.clientId, null, req.redirectUri);
  const url =
    req.codeVerifier === null
      ? client.createAuthorizationURL(req.authorizationUrl, req.state, [])
      : client.createAuthorizationURLWithPKCE(req.authorizationUrl, req.state, CodeChallengeMethod.S256, req.codeVerifier, []);
  if (req.scopes.length > 0) url.searchParams.set('scope', req.scopes.join(req.scopeSeparator));
  for (const [k, v] of Object.entries(req.params)) {
    if (!PROTECTED_PARAMS.has(k)) url.searchParams.set(k, v);
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
  /** `form` (default, RFC 6749) or `json`, for providers that only read JSON bodies. */
  readonly bodyFormat?: 'form' | 'json';
  readonly timeoutMs: number;
  /** The guarded HTTP client (http/outbound.ts): never the global fetch. */
  readonly fetch: OutboundFetch;
}

/** RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64 (arctic skips this). */
function basicAuthorization(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
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
  } else {
    body.set('client_id', req.client.clientId);
    body.set('client_secret', req.client.clientSecret);
  }
  try {
    const response = await req.fetch(req.tokenUrl, {
      method: 'POST',
      headers,
      body: json ? JSON.stringify(Object.fromEntries(body)) : body,
      redirect: 'error',
      signal: AbortSignal.timeout(req.timeoutMs),
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
