/** The demo backend's JSON API: shared by server/app.ts and the Preact app. */

/** GET /api/config */
export interface DemoConfig {
  /** Where the browser SDK sends the user (the Keyway server's public URL). */
  readonly keywayHost: string;
  /** The demo's one signed-in user; it is the connection id of every connection it makes. */
  readonly userId: string;
  /** A connect session the backend made for `userId` (30 minutes): the browser SDK starts flows with it. */
  readonly connectSessionToken: string;
  /** ISO 8601: when the session ends; the page asks for a new one before. */
  readonly sessionExpiresAt: string;
}

/** One item of GET /api/integrations */
export interface DemoIntegration {
  /** The integration's unique key (the "provider config key" given to `nango.auth`). */
  readonly uniqueKey: string;
  /** The Provider Template it uses, e.g. `keyway-sandbox`, `slack`. */
  readonly provider: string;
  readonly displayName: string;
}

/** One item of GET /api/connections */
export interface DemoConnection {
  readonly providerConfigKey: string;
  readonly connectionId: string;
  readonly provider: string;
  readonly createdAt: string;
}

/** GET /api/token/:providerConfigKey: what the backend read with @keyway/node, token masked. */
export interface TokenView {
  readonly connectionId: string;
  /** ISO 8601, or null when the provider gave no expiry. */
  readonly expiresAt: string | null;
  readonly metadata: Record<string, unknown> | null;
  readonly connectionConfig: Record<string, unknown>;
  /** `abcd…yz`: the first 4 and last 2 characters; null when the credentials hold no access token. */
  readonly maskedToken: string | null;
}

/** Every error answer of the demo API. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}
