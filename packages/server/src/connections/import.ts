import { KeywayError } from '../errors.ts';
import { isRecord } from '../primitives.ts';
import type { ApiKeyCredentials, BasicCredentials, OAuth2Credentials } from '../store/types.ts';

/** The auth modes whose credentials can be brought in from elsewhere (Nango's POST /connections). */
export type ImportableCredentials = OAuth2Credentials | ApiKeyCredentials | BasicCredentials;

const str = (c: Record<string, unknown>, key: string, max: number, required: boolean): string | undefined => {
  const v = c[key];
  if (v === undefined || v === null) {
    if (required) throw new KeywayError('invalid_body', `\`credentials.${key}\` is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new KeywayError('invalid_body', `\`credentials.${key}\` must be a string of 1 to ${max} characters`);
  return v;
};

/**
 * Nango's `credentials` of an imported connection, checked against the integration's auth mode.
 * An OAuth 2.0 expiry must be a date; without one the token is treated as never expiring (as a
 * flow whose provider gave none), so give it whenever the provider had one.
 */
export function parseImportedCredentials(value: unknown, authMode: string): ImportableCredentials {
  if (!isRecord(value)) throw new KeywayError('invalid_body', '`credentials` must be an object with a `type`');
  if (value.type !== authMode) throw new KeywayError('invalid_body', `\`credentials.type\` must be ${authMode}, the integration's auth mode`);
  switch (authMode) {
    case 'OAUTH2': {
      const expires = str(value, 'expires_at', 64, false);
      if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new KeywayError('invalid_body', '`credentials.expires_at` must be an ISO 8601 date');
      const refresh = str(value, 'refresh_token', 16_384, false);
      const raw = value.raw === undefined ? {} : value.raw;
      if (!isRecord(raw)) throw new KeywayError('invalid_body', '`credentials.raw` must be an object');
      return {
        type: 'OAUTH2',
        access_token: str(value, 'access_token', 16_384, true)!,
        ...(refresh !== undefined && { refresh_token: refresh }),
        ...(expires !== undefined && { expires_at: new Date(expires).toISOString() }),
        raw,
      };
    }
    case 'API_KEY':
      return { type: 'API_KEY', apiKey: str(value, 'apiKey', 16_384, true)!, fields: {} };
    case 'BASIC': {
      const username = str(value, 'username', 1024, true)!;
      const password = str(value, 'password', 16_384, false) ?? '';
      return { type: 'BASIC', username, password, fields: {} };
    }
    default:
      throw new KeywayError('invalid_body', `Connections of ${authMode} integrations cannot be imported (OAUTH2, API_KEY and BASIC can)`);
  }
}
