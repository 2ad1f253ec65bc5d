import { KeywayError } from '../errors.ts';
import type { OAuth2ClientCredentialsTemplate, OAuth2Template, ProviderTemplate } from './schema.ts';
import { isIP } from 'node:net';
import { isAllowedProviderUrl, isLoopbackHost } from './urls.ts';
import { inputProblem } from './validate.ts';

export type ConnectionConfig = Readonly<Record<string, string>>;

/** A template's endpoints with every `${connectionConfig.x}` filled in. */
export interface ProviderEndpoints {
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  readonly refreshUrl: string;
  readonly authorizationParams: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g;

/**
 * Checks the user's connection config against the template's declared inputs: every required
 * input present (an optional one takes its `default_value`), each value fitting its enum,
 * pattern and format, nothing undeclared. Inputs the provider names in its callback are not the
 * user's to give. A bad value is a 400 here, never a request to a half-built URL.
 */
export function validateConnectionConfig(template: ProviderTemplate, given: Readonly<Record<string, string>>): ConnectionConfig {
  const inputs = template.connection_config ?? {};
  const config: Record<string, string> = Object.create(null);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(inputs, key) || inputs[key]!.callback_param !== undefined) {
      throw new KeywayError('invalid_connection_config', `"${key}" is not a connection config input of ${template.name}`);
    }
  }
  for (const [key, input] of Object.entries(inputs)) {
    if (input.callback_param !== undefined) continue;
    const givenValue = Object.hasOwn(given, key) ? given[key] : undefined;
    const value = givenValue === undefined || givenValue === '' ? input.default_value : givenValue;
    if (value === undefined) {
      if (input.optional) continue;
      throw new KeywayError('invalid_connection_config', `Missing connection config "${key}" (${input.title})`);
    }
    const problem = inputProblem(input, value);
    if (problem !== null) throw new KeywayError('invalid_connection_config', `Connection config "${key}" ${problem}`);
    config[key] = value;
  }
  return config;
}

/** The scheme and authority of a URL template (`https://${connectionConfig.host}`), placeholders unfilled. */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
const HAS_PLACEHOLDER = /\$\{connectionConfig\.[A-Za-z0-9_]+\}/;

/**
 * Fills `${connectionConfig.x}`, URL-encoded; in the authority a `:` stays as it is, since
 * `host:port` is a valid host input (encoded, it became `%3A` and the URL was refused).
 */
function fillPlaceholders(template: string, config: ConnectionConfig): string {
  const authority = AUTHORITY.exec(template)?.[0] ?? '';
  const fill = (s: string, keepColon: boolean) =>
    s.replace(PLACEHOLDER, (_, key: string) => {
      const encoded = encodeURIComponent(config[key] ?? '');
      return keepColon ? encoded.replace(/%3A/gi, ':') : encoded;
    });
  return fill(authority, true) + fill(template.slice(authority.length), false);
}

/**
 * The inputs a template takes from the provider's callback query (a data-centre host), checked
 * like user inputs. A value that does not fit is the provider's fault: `authorization_err`.
 * With `format: hostname`, an https origin (`https://accounts.zoho.eu`) gives its host.
 */
export function callbackInputs(template: ProviderTemplate, query: URLSearchParams): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, input] of Object.entries(template.connection_config ?? {})) {
    if (input.callback_param === undefined) continue;
    let value = query.get(input.callback_param);
    if (value === null || value === '') {
      if (input.default_value !== undefined) value = input.default_value;
      else if (input.optional) continue;
      else throw new KeywayError('authorization_err', `The provider's callback has no "${input.callback_param}"`);
    }
    if (input.format === 'hostname' && /^https:\/\//i.test(value)) {
      try {
        const url = new URL(value);
        if (url.pathname === '/' && !url.search && !url.username && !url.port) value = url.hostname;
      } catch {
        // left as is: the check below refuses it
      }
    }
    const problem = inputProblem(input, value);
    if (problem !== null) throw new KeywayError('authorization_err', `The provider's callback "${input.callback_param}" ${problem}`);
    values[key] = value;
  }
  return values;
}

/**
 * Fills `${connectionConfig.x}` in a scope (Dataverse's `https://${connectionConfig.orgHost}/user_impersonation`),
 * unencoded: the scope is a query value, encoded once when the URL is built. The inputs were validated.
 */
export function fillScope(scope: string, config: ConnectionConfig): string {
  return scope.replace(PLACEHOLDER, (_, key: string) => config[key] ?? '');
}

/** Fills `${connectionConfig.x}` (URL-encoded) and checks the result is still an allowed provider URL. */
export function fillUrl(template: string, config: ConnectionConfig, extra: (s: string) => string = (s) => s): string {
  const filled = extra(fillPlaceholders(template, config));
  // The validated inputs cannot change scheme or host class, but check the result anyway.
  if (!isAllowedProviderUrl(filled)) throw new KeywayError('invalid_connection_config', 'The connection config yields a provider URL that is not allowed');
  // A host the end user chose must be a public name: never loopback or an IP literal (SSRF).
  // Its addresses are checked when the request is made (http/outbound.ts).
  if (HAS_PLACEHOLDER.test(AUTHORITY.exec(template)?.[0] ?? '')) {
    const host = new URL(filled).hostname.replace(/^\[|\]$/g, '');
    if (isLoopbackHost(host) || isIP(host) !== 0 || !host.includes('.')) {
      throw new KeywayError('invalid_connection_config', 'The connection config names a host that is not a public domain');
    }
  }
  return filled;
}

/**
 * A stored connection's config as the template reads it now: an input added to the template later, with
 * a default, must not break connections made before it (a refresh, a proxied call): its default stands in.
 */
export function withDefaults(template: ProviderTemplate, stored: ConnectionConfig): ConnectionConfig {
  const config: Record<string, string> = { ...stored };
  for (const [key, input] of Object.entries(template.connection_config ?? {})) {
    if (config[key] === undefined && input.default_value !== undefined) config[key] = input.default_value;
  }
  return config;
}

/** A base URL that starts with a whole origin the flow stored (`${connectionConfig.instance_url}/services/data`). */
const ORIGIN_FIRST = /^\$\{connectionConfig\.([A-Za-z0-9_.-]+)\}(?=\/|$)/;

/**
 * Fills the proxy's base URL. Most start with a scheme and fill inputs as `fillUrl` does; some start with an
 * origin the token response or the callback gave (Salesforce's `instance_url`, Zoho's and Pipedrive's
 * `api_domain`), which is taken whole, not encoded, and only when it is exactly an allowed origin (https; no
 * path, query or credentials), so a stored value cannot smuggle a path or a second URL. The outbound
 * client still checks its addresses when it connects.
 */
export function fillBaseUrl(template: string, config: ConnectionConfig): string {
  const origin = ORIGIN_FIRST.exec(template);
  if (!origin) return fillUrl(template, config);
  const value = config[origin[1]!] ?? '';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // refused below
  }
  if (!url || !isAllowedProviderUrl(value) || url.search || url.hash || url.pathname !== '/' || !/^https?:\/\/[^/?#]+\/?$/i.test(value)) {
    throw new KeywayError('invalid_connection_config', `The connection's "${origin[1]}" is not an https origin the proxy can call`);
  }
  const rest = template.slice(origin[0].length);
  return url.origin + fillPlaceholders(rest, config);
}

export function resolveEndpoints(template: OAuth2Template | OAuth2ClientCredentialsTemplate, stored: ConnectionConfig): ProviderEndpoints {
  const config = withDefaults(template, stored);
  const fill = (s: string): string => s.replace(PLACEHOLDER, (_, key: string) => encodeURIComponent(config[key] ?? ''));
  const isCode = template.auth_mode === 'OAUTH2';
  const authorizationParams: Record<string, string> = {};
  for (const [k, v] of Object.entries(isCode ? (template.authorization_params ?? {}) : {})) authorizationParams[k] = fill(v);
  return {
    authorizationUrl: isCode ? fillUrl(template.authorization_url, config) : '',
    tokenUrl: fillUrl(template.token_url, config),
    refreshUrl: fillUrl((isCode && template.refresh_url) || template.token_url, config),
    authorizationParams,
  };
}
