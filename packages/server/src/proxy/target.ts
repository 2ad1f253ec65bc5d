/**
 * Where a proxied request goes and with which credentials: the template's `proxy.base_url` (its
 * `${connectionConfig.x}` filled) joined with the caller's endpoint, and the connection's credential
 * placed the way the template says. Credentials go only to the template's host or a host the
 * integration allows, never to one the caller names freely (`Base-Url-Override`).
 */
import { KeywayError } from '../errors.ts';
import type { Connection, Credentials, Integration } from '../store/types.ts';
import { hostAllowed } from '../templates/hosts.ts';
import { fillBaseUrl, withDefaults, type ConnectionConfig } from '../templates/interpolate.ts';
import type { ProviderTemplate } from '../templates/schema.ts';
import { isAllowedProviderUrl } from '../templates/urls.ts';

export interface ProxyTarget {
  readonly url: string;
  /** Lower-case names: the credential, and the template's headers that carry it. The caller cannot replace these. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Lower-case names: the template's other headers (an API version, an account id from an input). A caller's
   * `Nango-Proxy-<name>` replaces one (it may need another API version); one whose input is empty is not sent.
   */
  readonly defaultHeaders: Readonly<Record<string, string>>;
}

/**
 * `${accessToken}`, `${apiKey}` (Nango's names), `${credentials.x}`, `${connectionConfig.x}`, and
 * `${integration.clientId}` (Amazon Ads, MYOB and Deel want the app's client id on every call; never the secret).
 */
const PLACEHOLDER = /\$\{(accessToken|apiKey|integration\.clientId|credentials\.([A-Za-z0-9_]+)|connectionConfig\.([A-Za-z0-9_.-]+))\}/g;
const CREDENTIAL = /\$\{(accessToken|apiKey|credentials\.[A-Za-z0-9_]+)\}/;

/**
 * The URL and headers of one proxied request. `endpoint` is the path after `/proxy` with the
 * caller's query string, as received (never re-encoded).
 */
export function proxyTarget(template: ProviderTemplate, integration: Integration, connection: Connection, endpoint: string, baseUrlOverride: string | undefined): ProxyTarget {
  if (!template.proxy) throw new KeywayError('proxy_not_configured', `The template "${template.name}" has no proxy.base_url: Keyway does not know its API's address`);
  const stored: ConnectionConfig = Object.fromEntries(Object.entries(connection.connection_config).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const config = withDefaults(template, stored);
  const templateBase = fillBaseUrl(template.proxy.base_url, config);
  const base = baseUrlOverride === undefined ? templateBase : checkedOverride(baseUrlOverride, templateBase, integration);

  const url = `${base.replace(/\/+$/, '')}${endpoint.startsWith('/') ? '' : '/'}${endpoint}`;
  // The endpoint is a path: it cannot move the request to another origin, whatever it holds.
  if (new URL(url).origin !== new URL(base).origin) throw new KeywayError('invalid_proxy_headers', 'The endpoint must be a path on the provider\'s API');

  const { headers: headerTemplates, query: queryTemplates } = placement(template);
  const fill = (s: string) => fillValue(s, connection.credentials, config, integration);
  const headers: Record<string, string> = {};
  const defaultHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headerTemplates)) {
    const filled = fill(value);
    if (CREDENTIAL.test(value)) headers[name.toLowerCase()] = filled;
    else if (filled.trim() !== '') defaultHeaders[name.toLowerCase()] = filled;
  }
  const credentialInQuery = Object.values(queryTemplates).some((v) => CREDENTIAL.test(v));
  const c = connection.credentials;
  if (!('authorization' in headers) && !('authorization' in defaultHeaders)) {
    if ((c.type === 'OAUTH2' || c.type === 'OAUTH2_CC' || c.type === 'TWO_STEP') && !credentialInQuery) headers.authorization = `Bearer ${c.access_token}`;
    if (c.type === 'BASIC') headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }
  if (c.type === 'API_KEY' && !credentialInQuery && !Object.values(headerTemplates).some((v) => CREDENTIAL.test(v))) {
    throw new KeywayError('proxy_not_configured', `The template "${template.name}" does not say where the API key goes (proxy.headers or proxy.query)`);
  }
  const query = new URLSearchParams(Object.entries(queryTemplates).map(([k, v]): [string, string] => [k, fill(v)]));
  const extra = query.toString();
  return { url: extra ? `${url}${url.includes('?') ? '&' : '?'}${extra}` : url, headers, defaultHeaders };
}

/** A caller's other base URL: only the template's own host or one the integration's `allowed_hosts` names. */
function checkedOverride(override: string, templateBase: string, integration: Integration): string {
  if (!isAllowedProviderUrl(override) || /[?#]/.test(override)) {
    throw new KeywayError('host_not_allowed', 'Base-Url-Override must be an https URL without query (http only for loopback)');
  }
  const host = new URL(override).host;
  if (host !== new URL(templateBase).host && !hostAllowed(host, integration.allowed_hosts ?? [])) {
    throw new KeywayError('host_not_allowed', `The integration "${integration.unique_key}" does not send credentials to ${host}: the operator must add it to the integration's allowed_hosts`);
  }
  return override;
}

/**
 * The template's headers and query for the credential. `proxy.headers` / `proxy.query` when the
 * template has them; otherwise, for API keys and passwords, the placement its verification request
 * already uses (the same provider API, proven at connect time).
 */
function placement(template: ProviderTemplate): { headers: Readonly<Record<string, string>>; query: Readonly<Record<string, string>> } {
  const proxy = template.proxy!;
  const verification = template.auth_mode === 'API_KEY' || template.auth_mode === 'BASIC' ? template.verification : undefined;
  const verificationQuery: Record<string, string> = {};
  if (verification) {
    const search = verification.url.split('?')[1]?.split('#')[0] ?? '';
    for (const [k, v] of new URLSearchParams(search)) if (CREDENTIAL.test(v)) verificationQuery[k] = v;
  }
  return {
    headers: proxy.headers ?? (proxy.query ? {} : (verification?.headers ?? {})),
    query: proxy.query ?? (proxy.headers ? {} : verificationQuery),
  };
}

function fillValue(value: string, credentials: Credentials, config: ConnectionConfig, integration: Integration): string {
  return value.replace(PLACEHOLDER, (_, name: string, credential?: string, input?: string) => {
    if (input !== undefined) return config[input] ?? '';
    if (name === 'integration.clientId') return integration.client_id;
    const c = credentials;
    if (name === 'accessToken') return c.type === 'OAUTH2' || c.type === 'OAUTH2_CC' || c.type === 'TWO_STEP' ? c.access_token : '';
    if (name === 'apiKey') return c.type === 'API_KEY' ? c.apiKey : '';
    if (c.type === 'API_KEY') return credential === 'apiKey' ? c.apiKey : (c.fields[credential!] ?? '');
    if (c.type === 'BASIC') return credential === 'username' ? c.username : credential === 'password' ? c.password : (c.fields[credential!] ?? '');
    if (c.type === 'TWO_STEP') return c.fields[credential!] ?? '';
    return '';
  });
}
