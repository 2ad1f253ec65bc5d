import { AuthError } from './errors.ts';
import type { AuthOptions, AuthResult } from './types.ts';

const enc = encodeURIComponent;

/**
 * `auth(key, id, { credentials })` for API-key, Basic and two-step integrations (Nango's
 * POST /api-auth/api-key|basic/:providerConfigKey, /auth/two-step/:providerConfigKey): the server
 * verifies the credentials at the provider (or obtains a token with them) before it stores them;
 * its typed error becomes the AuthError's type.
 */
export const apiAuth = async (
  host: string,
  providerConfigKey: string,
  connectionId: string | undefined,
  credential: [name: string, value: string],
  o: AuthOptions,
): Promise<AuthResult> => {
  const q = [credential[0] + '=' + enc(credential[1])];
  if (connectionId) q.push('connection_id=' + enc(connectionId));
  for (const k in o.params) q.push(`params[${enc(k)}]=${enc(o.params[k]!)}`);
  const c = o.credentials!;
  const kind = c.type == 'TWO_STEP' ? 'auth/two-step' : 'apiKey' in c ? 'api-auth/api-key' : 'api-auth/basic';
  let r: Response;
  try {
    r = await fetch(`${host}/${kind}/${enc(providerConfigKey)}?${q.join('&')}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(o.credentials),
      credentials: 'omit',
      signal: o.signal,
    });
  } catch (e) {
    throw (e as Error)?.name == 'AbortError'
      ? new AuthError('The authorization was aborted.', 'aborted')
      : new AuthError(`cannot reach the Keyway server at ${host}; is this page's origin in KEYWAY_ALLOWED_ORIGINS?`, 'unknown_error');
  }
  const d = await r.json().catch(() => ({}));
  if (!r.ok) throw new AuthError(d.error?.message || `The server answered ${r.status}`, d.error?.code || 'unknown_error');
  return { providerConfigKey: String(d.providerConfigKey), connectionId: String(d.connectionId) };
};
