import { readPath } from '../connections/metadata.ts';
import { KeywayError } from '../errors.ts';
import type { ConnectionConfig } from '../templates/interpolate.ts';
import { fillUrl } from '../templates/interpolate.ts';
import type { PostConnectionRequest } from '../templates/schema.ts';
import type { OutboundFetch } from '../http/outbound.ts';

const MAX_BODY = 1024 * 1024;

/**
 * The template's one request after the token exchange (Atlassian's accessible-resources, Mailchimp's
 * metadata): sent with the new access token, its JSON answer read at the template's dot-paths. A
 * failure fails the flow (`token_err`): a connection without its cloud id or data centre cannot
 * call the API. Only strings and numbers are kept, each at most 255 characters, since they are
 * later put into URLs.
 */
export async function postConnection(
  request: PostConnectionRequest,
  config: ConnectionConfig,
  accessToken: string,
  deps: { readonly providerTimeoutMs: number; readonly outbound: OutboundFetch },
): Promise<Record<string, string>> {
  const url = fillUrl(request.url, config);
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'keyway', Authorization: `Bearer ${accessToken}` };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    // Header names are case-insensitive: a template's Authorization replaces ours.
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
    headers[name] = value.replaceAll('${accessToken}', accessToken).replace(/\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g, (_, k: string) => config[k] ?? '');
  }
  let data: unknown;
  try {
    // Through the guarded client, as every request made for a connection (the host may be the user's).
    const response = await deps.outbound(url, { method: request.method ?? 'GET', headers, redirect: 'error', signal: AbortSignal.timeout(deps.providerTimeoutMs) });
    const text = await response.text();
    if (!response.ok) throw new KeywayError('token_err', `The post-connection request failed: the provider answered ${response.status}`);
    if (text.length > MAX_BODY) throw new KeywayError('token_err', 'The post-connection answer is too large');
    data = JSON.parse(text);
  } catch (e) {
    if (e instanceof KeywayError) throw e;
    if (e instanceof DOMException && e.name === 'TimeoutError') throw new KeywayError('provider_timeout', 'The post-connection request timed out');
    throw new KeywayError('token_err', e instanceof SyntaxError ? 'The post-connection answer is not JSON' : 'The post-connection request failed: the provider could not be reached');
  }
  const values: Record<string, string> = {};
  for (const [name, path] of Object.entries(request.connection_config)) {
    const value = readPath(data, path);
    if ((typeof value !== 'string' && typeof value !== 'number') || String(value).length === 0 || String(value).length > 255) {
      throw new KeywayError('token_err', `The post-connection answer has no usable value at "${path}"`);
    }
    values[name] = String(value);
  }
  return values;
}
