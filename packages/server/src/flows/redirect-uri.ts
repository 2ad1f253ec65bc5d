import { KeywayError } from '../errors.ts';
import type { ConnectionConfig } from '../templates/interpolate.ts';
import type { OAuth2Template } from '../templates/schema.ts';

const PLACEHOLDER = /^\$\{connectionConfig\.([A-Za-z0-9_]+)\}$/;

/**
 * The `redirect_uri` of a flow: Keyway's one callback URL, or, for a template that names one, the
 * integration's own value (eBay's RuName, which eBay maps to the callback URL registered with it).
 * The same value goes in the authorization URL and the code exchange, so both read it from the
 * flow's config. The validator allows only a whole placeholder of an input the integration sets,
 * and the connect flow refuses to start while the integration lacks it.
 */
export function redirectUriFor(template: OAuth2Template, config: ConnectionConfig, serverUrl: string): string {
  if (template.redirect_uri === undefined) return `${serverUrl}/oauth/callback`;
  const key = PLACEHOLDER.exec(template.redirect_uri)?.[1];
  const value = key === undefined ? undefined : config[key];
  if (!value) throw new KeywayError('invalid_connection_config', `The template ${template.name} takes its redirect_uri from the integration's connection config, which has none`);
  return value;
}
