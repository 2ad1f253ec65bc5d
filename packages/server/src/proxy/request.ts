/**
 * Nango's proxy request headers, parsed: `Connection-Id`, `Provider-Config-Key`, `Retries`,
 * `Retry-On`, `Base-Url-Override`, `Decompress`, and `Nango-Proxy-<name>` (sent to the provider as
 * `<name>`). Nothing else the caller sent reaches the provider but `Content-Type` (and the body's
 * length): not its `Authorization` (Keyway's secret key), cookies, or hop-by-hop headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { KeywayError } from '../errors.ts';
import { parseConfigKey, parseConnectionId } from '../ids.ts';

export interface ProxyRequestOptions {
  readonly providerConfigKey: string;
  readonly connectionId: string;
  /** Extra attempts on 429, 5xx and the `Retry-On` statuses (Nango's default is none). */
  readonly retries: number;
  readonly retryOn: readonly number[];
  readonly baseUrlOverride: string | undefined;
  readonly decompress: boolean;
  /** For the provider, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Retries asked beyond this are refused: each may wait, and the time budget bounds them anyway. */
export const MAX_RETRIES = 10;
const PREFIX = 'nango-proxy-';
/** Hop-by-hop (RFC 9110 section 7.6.1) and transport headers: never forwarded in either direction. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

export function parseProxyRequest(headers: IncomingHttpHeaders): ProxyRequestOptions {
  const one = (name: string) => {
    const v = headers[name];
    return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
  };
  const retriesText = one('retries') ?? '0';
  if (!/^\d{1,2}$/.test(retriesText) || Number(retriesText) > MAX_RETRIES) throw new KeywayError('invalid_proxy_headers', `Retries must be a whole number from 0 to ${MAX_RETRIES}`);
  const retryOn = (one('retry-on') ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!retryOn.every((n) => Number.isInteger(n) && n >= 400 && n <= 599)) throw new KeywayError('invalid_proxy_headers', 'Retry-On must list HTTP statuses from 400 to 599, separated by commas');
  const connectionId = one('connection-id');
  if (connectionId === undefined) throw new KeywayError('missing_connection_id', 'The Connection-Id header is required');
  const providerConfigKey = one('provider-config-key');
  if (providerConfigKey === undefined) throw new KeywayError('invalid_provider_config_key', 'The Provider-Config-Key header is required');

  const forwarded: Record<string, string> = {};
  const contentType = one('content-type');
  if (contentType !== undefined) forwarded['content-type'] = contentType;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(PREFIX) || value === undefined) continue;
    const target = name.slice(PREFIX.length);
    if (target === '' || HOP_BY_HOP.has(target)) continue;
    forwarded[target] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    providerConfigKey: parseConfigKey(providerConfigKey),
    connectionId: parseConnectionId(connectionId),
    retries: Number(retriesText),
    retryOn,
    baseUrlOverride: one('base-url-override'),
    decompress: one('decompress') === 'true',
    headers: forwarded,
  };
}
