/**
 * A Provider Template: plain data that says how to connect to one provider. Templates live as JSON
 * files in `templates/` (one per template, named `<name>.json`) and in the optional
 * `KEYWAY_TEMPLATES_DIR`. Field names follow Nango's providers.yaml where Nango has one.
 * The auth mode decides which fields exist: the types make other combinations unrepresentable.
 */
export type ProviderTemplate = OAuth2Template | OAuth2ClientCredentialsTemplate | ApiKeyTemplate | BasicTemplate | TwoStepTemplate;
export type AuthMode = ProviderTemplate['auth_mode'];

interface TemplateBase {
  /** The template's name: its file name without `.json` (`google-calendar`). */
  readonly name: string;
  readonly display_name: string;
  readonly categories: readonly string[];
  /** The provider's own documentation of its OAuth or API-key set-up. */
  readonly docs: string;
  /** Inputs the end user gives (a subdomain, a region), each validated by its pattern. */
  readonly connection_config?: Readonly<Record<string, ConnectionConfigInput>>;
  /** Where and when the template's facts were last checked against the provider's documentation. */
  readonly verified?: Verified;
  /** How `/proxy/*` reaches the provider's API (Nango's `proxy`). */
  readonly proxy?: ProxySettings;
}

export interface Verified {
  /** The provider documentation page the facts were checked against (https). */
  readonly source: string;
  /** The day they were checked, `YYYY-MM-DD`. */
  readonly date: string;
}

/**
 * The provider's API behind `/proxy/*`. Values may contain `${connectionConfig.<input>}`; header and
 * query values also `${accessToken}`, `${apiKey}` and `${credentials.<field>}` (how the credential is sent).
 */
export interface ProxySettings {
  /** Where `/proxy/<endpoint>` goes: `https://api.example.com/v1`. */
  readonly base_url: string;
  /** Headers sent with every proxied request (`x-api-key: ${apiKey}`, an API version). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters added to every proxied request (`key: ${apiKey}`). */
  readonly query?: Readonly<Record<string, string>>;
  /** Response headers that say when to retry a 429 or 5xx (Nango's `proxy.retry`). */
  readonly retry?: ProxyRetry;
}

export interface ProxyRetry {
  /** Headers holding the time to retry at, in seconds since the epoch (`x-ratelimit-reset`). */
  readonly at?: readonly string[];
  /** Headers holding the seconds to wait, or an HTTP date (`retry-after`). */
  readonly after?: readonly string[];
}

/**
 * One request made right after the token exchange, with the new access token (`Authorization:
 * Bearer` unless `headers` say otherwise; `${accessToken}` may appear in a header value). Each
 * entry of `connection_config` names a dot-path of the JSON answer (`0.id` for the first
 * element of a list) whose value is stored in the connection's config under that name.
 */
export interface PostConnectionRequest {
  readonly method?: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connection_config: Readonly<Record<string, string>>;
}

/** What the token endpoint of OAuth templates shares. URLs may contain `${connectionConfig.<input>}`. */
interface TokenEndpoint {
  readonly token_url: string;
  /** How scopes are joined; default `' '`. */
  readonly scope_separator?: string;
  readonly default_scopes?: readonly string[];
  /** Extra body parameters of the token request (and of refreshes, unless `refresh_params` is set). */
  readonly token_params?: Readonly<Record<string, string>>;
  /**
   * How the client authenticates at the token endpoint. Required by the lint in every built-in
   * template (Nango defaults to `body`; a missing value here means `basic`, for user templates).
   * `secret_hash` sends `client_id` and `hash`, the hex SHA-256 of `<secret>|<code or refresh
   * token>`, and never the secret itself (Smartsheet).
   */
  readonly token_request_auth_method?: 'basic' | 'body' | 'secret_hash';
  /** The token request's body: `form` (default, RFC 6749) or `json` (a few providers require it). */
  readonly body_format?: 'form' | 'json';
  /** Dot-paths kept from the token response into connection_config (`team.id`). */
  readonly token_response_metadata?: readonly string[];
  /** Refresh this many seconds before expiry (default 300). */
  readonly token_expiration_buffer?: number;
  /** Lifetime in seconds to assume when the token response has no `expires_in`. */
  readonly default_expires_in?: number;
}

/** OAuth 2.0 authorization code (+ PKCE), in a popup. */
export interface OAuth2Template extends TemplateBase, TokenEndpoint {
  readonly auth_mode: 'OAUTH2';
  readonly authorization_url: string;
  /** Defaults to `token_url`. */
  readonly refresh_url?: string;
  /** Expected `iss` of the callback (RFC 9207), when the provider sends one. */
  readonly issuer?: string;
  /** Extra query parameters of the authorization URL (`access_type: offline`). */
  readonly authorization_params?: Readonly<Record<string, string>>;
  /** PKCE S256; default true. Set false only for providers that reject it. */
  readonly pkce?: boolean;
  /** Callback query parameters kept into connection_config (`realmId`). */
  readonly redirect_uri_metadata?: readonly string[];
  /** Dot-path of the object holding the tokens when not at the top (Slack user tokens: `authed_user`). */
  readonly token_path?: string;
  /** Extra body parameters of refresh requests; when absent, `token_params` are sent (as Nango does). */
  readonly refresh_params?: Readonly<Record<string, string>>;
  /** One request after the token exchange whose answer fills connection_config (Atlassian's cloudId). */
  readonly post_connection?: PostConnectionRequest;
  /**
   * Other names for the standard parameters of token requests (exchange and refresh), as a
   * provider spells them: `{ client_id: 'app_id', client_secret: 'secret', code: 'auth_code' }` (TikTok).
   */
  readonly token_param_names?: Readonly<Partial<Record<TokenParamName, string>>>;
  /**
   * Other names for OAuth's own query parameters in the authorization URL (Nango's field):
   * `{ client_id: 'app_id' }` (TikTok Ads).
   */
  readonly authorization_url_replacements?: Readonly<Partial<Record<AuthorizationParamName, string>>>;
  /**
   * A route in the URL's fragment, for single-page consent screens (Nango's field): with
   * `/oauth/authorize`, the URL is `<authorization_url>#/oauth/authorize?client_id=...` (Apollo).
   */
  readonly authorization_url_fragment?: string;
  /** The callback query parameter carrying the code, when not `code` (Nango's field; Amazon: `spapi_oauth_code`). */
  readonly authorization_code_param_in_callback?: string;
  /**
   * The `redirect_uri` sent in place of Keyway's callback URL: `${connectionConfig.<input>}` naming an
   * input the integration sets (`from_integration`), such as eBay's RuName, a name the provider maps
   * to the callback URL registered with it.
   */
  readonly redirect_uri?: string;
}

/** OAuth's own parameters of the authorization URL, which `authorization_url_replacements` may rename. */
export const AUTHORIZATION_PARAM_NAMES = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const;
export type AuthorizationParamName = (typeof AUTHORIZATION_PARAM_NAMES)[number];
/** The standard parameters of token requests, which `token_param_names` may rename. */
export const TOKEN_PARAM_NAMES = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret'] as const;
export type TokenParamName = (typeof TOKEN_PARAM_NAMES)[number];

/** OAuth 2.0 client credentials: created from the backend, re-minted before expiry. */
export interface OAuth2ClientCredentialsTemplate extends TemplateBase, TokenEndpoint {
  readonly auth_mode: 'OAUTH2_CC';
  /**
   * The provider requires mutual TLS: every request, token and API alike, presents the app's client
   * certificate, which the integration holds (ADP). A connection is refused while it has none.
   */
  readonly client_certificate?: boolean;
}

/** Whether a template's requests must present the integration's TLS client certificate. */
export const requiresClientCertificate = (t: ProviderTemplate): boolean => t.auth_mode === 'OAUTH2_CC' && t.client_certificate === true;

/** A credential the end user types (an API key, a username): shown as a form field. */
export interface CredentialField {
  readonly title: string;
  readonly description?: string;
  /** A JavaScript regular expression the whole value must match. */
  readonly pattern?: string;
  readonly example?: string;
  /** Masked in forms (passwords, keys); default true for `apiKey` and `password`. */
  readonly secret?: boolean;
}

/**
 * A cheap request that must succeed with the credentials before a connection is stored. The URL
 * and header values may contain `${credentials.<field>}` and `${connectionConfig.<input>}`; for
 * BASIC templates without an Authorization header, HTTP Basic is sent.
 */
export interface VerificationRequest {
  readonly method?: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiKeyTemplate extends TemplateBase {
  readonly auth_mode: 'API_KEY';
  /** At least `apiKey`. */
  readonly credentials: Readonly<Record<string, CredentialField>>;
  readonly verification?: VerificationRequest;
}

export interface BasicTemplate extends TemplateBase {
  readonly auth_mode: 'BASIC';
  /** `username` and `password` (titles and patterns vary: an email and an API token, ...). */
  readonly credentials: Readonly<Record<string, CredentialField>>;
  readonly verification?: VerificationRequest;
}

/**
 * Nango's TWO_STEP: the end user types credentials (as for API_KEY / BASIC); Keyway posts them to
 * `token_url` and keeps the token it gets back, and posts them again before that token expires.
 * `token_url`, `token_headers` and `token_params` may contain `${credentials.<field>}` and
 * `${connectionConfig.<input>}`; header and body values also `${base64(...)}` (`Basic ${base64(${credentials.username}:${credentials.password})}`).
 */
export interface TwoStepTemplate extends TemplateBase {
  readonly auth_mode: 'TWO_STEP';
  /** What the end user types (at least one field). */
  readonly credentials: Readonly<Record<string, CredentialField>>;
  readonly token_url: string;
  /** Default `POST`. */
  readonly token_request_method?: 'POST' | 'GET' | 'PUT';
  readonly token_headers?: Readonly<Record<string, string>>;
  /** The body: form fields, or with `body_format: json` a JSON object (values may nest). */
  readonly token_params?: Readonly<Record<string, TwoStepParam>>;
  /** `json` (default, as Nango) or `form`. */
  readonly body_format?: 'form' | 'json';
  /** Where the answer holds the token and its lifetime (dot-paths). */
  readonly token_response: TwoStepTokenResponse;
  /** Lifetime in milliseconds when the answer gives none (Nango's name). */
  readonly token_expires_in_ms?: number;
  /** Obtain a new token this many seconds before expiry (default 300). */
  readonly token_expiration_buffer?: number;
  /** Dot-paths kept from the token response into connection_config (`site.id`). */
  readonly token_response_metadata?: readonly string[];
}

export type TwoStepParam = string | { readonly [key: string]: TwoStepParam };

export interface TwoStepTokenResponse {
  /** Dot-path of the token (`access_token`, `data.accessToken`, `credentials.token`). */
  readonly token: string;
  /** Dot-path of the expiry: a date, or seconds (or milliseconds) since the epoch. */
  readonly token_expiration?: string;
  /** Nango's: `expireIn` reads `token_expiration` as a lifetime in seconds; default `expireAt`. */
  readonly token_expiration_strategy?: 'expireAt' | 'expireIn';
  /** Dot-path of a lifetime in seconds. */
  readonly expires_in?: string;
}

/**
 * An input of connection_config. Field names are Nango's. A value is checked against `enum`
 * (when given) or `pattern` (one of them is required) and `format`.
 */
export interface ConnectionConfigInput {
  readonly title: string;
  readonly description?: string;
  /** A JavaScript regular expression the whole value must match (anchored by us). */
  readonly pattern?: string;
  /** The only values allowed (shown as a choice). */
  readonly enum?: readonly string[];
  readonly example?: string;
  /** May be left empty; `default_value` is used then, if there is one. */
  readonly optional?: boolean;
  readonly default_value?: string;
  /** A shape checked in addition to the pattern: `hostname` (a public DNS name), `uuid`, `uri` (https). */
  readonly format?: 'hostname' | 'uuid' | 'uri';
  /** Shown before and after the field (`https://`, `.zendesk.com`); display only. */
  readonly prefix?: string;
  readonly suffix?: string;
  /** The anchor of `docs` that explains where to find the value (`#step-1`). */
  readonly doc_section?: string;
  /** Not shown to the end user (set by the template's default or the integration). */
  readonly hidden?: boolean;
  /**
   * Taken from this query parameter of the provider's callback, never from the end user (a data
   * centre the provider names there): usable in the token URL, refresh URL and proxy base URL.
   * With `format: hostname`, an https origin is accepted and its host kept.
   */
  readonly callback_param?: string;
  /**
   * Set by the integration's operator (the integration's `connection_config`), never by the end
   * user: an app-wide value such as Amazon's application id or eBay's RuName. A connect flow is
   * refused while the integration lacks it (unless `optional`).
   */
  readonly from_integration?: boolean;
}

export const CATEGORIES = [
  'accounting', 'analytics', 'banking', 'calendar', 'communication', 'crm', 'design', 'dev-tools',
  'e-commerce', 'erp', 'hr', 'knowledge-base', 'marketing', 'payment', 'productivity', 'sales',
  'storage', 'support', 'ticketing', 'other',
] as const;

