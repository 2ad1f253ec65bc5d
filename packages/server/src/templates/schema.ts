/**
 * A Provider Template: plain data that says how to run one provider's OAuth flow.
 * Templates live as JSON files in `templates/` (one file per template, named `<name>.json`)
 * and in the optional `KEYWAY_TEMPLATES_DIR`. Field names follow Nango's providers.yaml.
 */
export interface ProviderTemplate {
  /** The template's name: its file name without `.json` (`google-calendar`). */
  readonly name: string;
  readonly display_name: string;
  readonly categories: readonly string[];
  /** The provider's own documentation of its OAuth set-up. */
  readonly docs: string;
  readonly auth_mode: 'OAUTH2';
  /** May contain `${connectionConfig.<input>}` placeholders. */
  readonly authorization_url: string;
  readonly token_url: string;
  /** Defaults to `token_url`. */
  readonly refresh_url?: string;
  /** Expected `iss` of the callback (RFC 9207), when the provider sends one. */
  readonly issuer?: string;
  /** How scopes are joined in the authorization URL; default `' '`. */
  readonly scope_separator?: string;
  readonly default_scopes?: readonly string[];
  /** Extra query parameters of the authorization URL (`access_type: offline`). */
  readonly authorization_params?: Readonly<Record<string, string>>;
  /** Extra body parameters of the token request. */
  readonly token_params?: Readonly<Record<string, string>>;
  /** PKCE S256; default true. Set false only for providers that reject it. */
  readonly pkce?: boolean;
  /** How the client authenticates at the token endpoint; default `basic`. */
  readonly token_request_auth_method?: 'basic' | 'body';
  /** Inputs the end user gives (a subdomain, a region), each validated by its pattern. */
  readonly connection_config?: Readonly<Record<string, ConnectionConfigInput>>;
  /** Dot-paths kept from the token response into connection_config (`team.id`). */
  readonly token_response_metadata?: readonly string[];
  /** Callback query parameters kept into connection_config (`realmId`). */
  readonly redirect_uri_metadata?: readonly string[];
  /** Refresh this many seconds before expiry (default 300). */
  readonly token_expiration_buffer?: number;
  /** Lifetime in seconds to assume when the token response has no `expires_in`. */
  readonly default_expires_in?: number;
}

export interface ConnectionConfigInput {
  readonly title: string;
  readonly description?: string;
  /** A JavaScript regular expression the whole value must match (anchored by us). */
  readonly pattern: string;
  readonly example?: string;
}

export const CATEGORIES = [
  'accounting', 'analytics', 'banking', 'calendar', 'communication', 'crm', 'design', 'dev-tools',
  'e-commerce', 'erp', 'hr', 'knowledge-base', 'marketing', 'payment', 'productivity', 'sales',
  'storage', 'support', 'ticketing', 'other',
] as const;
