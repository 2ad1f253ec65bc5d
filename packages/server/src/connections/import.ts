import { KeywayError } from '../errors.ts';
import { parseCredentials } from '../flows/api-auth.ts';
import { isRecord } from '../primitives.ts';
import type { ApiKeyCredentials, BasicCredentials, OAuth2Credentials, TwoStepCredentials } from '../store/types.ts';
import type { ProviderTemplate, TwoStepTemplate } from '../templates/schema.ts';

/** The auth modes whose credentials can be brought in from elsewhere (Nango's POST /connections). */
export type ImportableCredentials = OAuth2Credentials | ApiKeyCredentials | BasicCredentials | TwoStepCredentials;

const str = (c: Record<string, unknown>, key: string, max: number, required: boolean): string | undefined => {
  const v = c[key];
  if (v === undefined || v === null) {
    if (required) throw new KeywayError('invalid_body', `\`credentials.${key}\` is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new KeywayError('invalid_body', `\`credentials.${key}\` must be a string of 1 to ${max} characters`);
  return v;
};

/** An optional ISO 8601 expiry, normalised; without one the token is treated as never expiring. */
const expiresAt = (c: Record<string, unknown>): { expires_at?: string } => {
  const expires = str(c, 'expires_at', 64, false);
  if (expires === undefined) return {};
  if (Number.isNaN(Date.parse(expires))) throw new KeywayError('invalid_body', '`credentials.expires_at` must be an ISO 8601 date');
  return { expires_at: new Date(expires).toISOString() };
};

const rawOf = (c: Record<string, unknown>): Record<string, unknown> => {
  const raw = c.raw === undefined ? {} : c.raw;
  if (!isRecord(raw)) throw new KeywayError('invalid_body', '`credentials.raw` must be an object');
  return raw;
};

/**
 * Nango's `credentials` of an imported connection, checked against the integration's template.
 * An expiry must be a date; without one the token is treated as never expiring (as a flow whose
 * provider gave none), so give it whenever the provider had one.
 */
export function parseImportedCredentials(value: unknown, template: ProviderTemplate): ImportableCredentials {
  const authMode = template.auth_mode;
  if (!isRecord(value)) throw new KeywayError('invalid_body', '`credentials` must be an object with a `type`');
  if (value.type !== authMode) throw new KeywayError('invalid_body', `\`credentials.type\` must be ${authMode}, the integration's auth mode`);
  switch (template.auth_mode) {
    case 'OAUTH2': {
      const refresh = str(value, 'refresh_token', 16_384, false);
      return {
        type: 'OAUTH2',
        access_token: str(value, 'access_token', 16_384, true)!,
        ...(refresh !== undefined && { refresh_token: refresh }),
        ...expiresAt(value),
        raw: rawOf(value),
      };
    }
    case 'API_KEY':
      return { type: 'API_KEY', apiKey: str(value, 'apiKey', 16_384, true)!, fields: {} };
    case 'BASIC': {
      const username = str(value, 'username', 1024, true)!;
      const password = str(value, 'password', 16_384, false) ?? '';
      return { type: 'BASIC', username, password, fields: {} };
    }
    case 'TWO_STEP':
      return twoStep(value, template);
    default:
      throw new KeywayError('invalid_body', `Connections of ${authMode} integrations cannot be imported (OAUTH2, API_KEY, BASIC and TWO_STEP can)`);
  }
}

/**
 * Nango's TwoStepCredentials, as its GET /connection returns them: the typed fields beside `type`,
 * `token`, `expires_at` and `raw`. The fields are checked as the connect route checks them, since
 * every renewal posts them again. Nango's optional `refresh_token` is dropped: Keyway renews a
 * two-step token only by posting the fields.
 */
function twoStep(value: Record<string, unknown>, template: TwoStepTemplate): TwoStepCredentials {
  const { type: _type, token: _token, expires_at: _expires, raw: _raw, refresh_token: _refresh, ...fields } = value;
  return {
    type: 'TWO_STEP',
    access_token: str(value, 'token', 16_384, true)!,
    ...expiresAt(value),
    fields: parseCredentials(template, fields),
    raw: rawOf(value),
  };
}
