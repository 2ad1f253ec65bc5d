import { KeywayError } from '../errors.ts';
import type { OAuth2ClientCredentialsTemplate, OAuth2Template, ProviderTemplate } from './schema.ts';
import { isIP } from 'node:net';
import { isAllowedProviderUrl, isLoopbackHost } from './urls.ts';

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
 * Checks the user's connection config against the template's declared inputs: every input
 * present and matching its whole pattern, nothing undeclared. A bad value is a 400 here, never a
 * request to a half-built URL.
 */
export function validateConnectionConfig(template: ProviderTemplate, given: Readonly<Record<string, string>>): ConnectionConfig {
  const inputs = template.connection_config ?? {};
  const config: Record<string, string> = Object.create(null);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(inputs, key)) {
      throw new KeywayError('invalid_connection_config', `"${key}" is not a connection config input of ${template.name}`);
    }
  }
  for (const [key, input] of Object.entries(inputs)) {
    const value = Object.hasOwn(given, key) ? given[key] : undefined;
    if (value === undefined || value === '') {
      throw new KeywayError('invalid_connection_config', `Missing connection config "${key}" (${input.title})`);
    }
    if (value.length > 255 || !new RegExp(`^(?:${input.pattern})$`, 'u').test(value)) {
      throw new KeywayError('invalid_connection_config', `Connection config "${key}" does not match ${input.pattern}`);
    }
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

export function resolveEndpoints(template: OAuth2Template | OAuth2ClientCredentialsTemplate, config: ConnectionConfig): ProviderEndpoints {
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
