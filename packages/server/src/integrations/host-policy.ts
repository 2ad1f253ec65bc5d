/**
 * What an integration lets the end user choose, and where its client secret may go.
 * - Inputs the operator fixed on the integration (`connection_config: { host: 'gitlab.acme.internal' }`)
 *   are not the end user's to change: a different value is refused, never silently used.
 * - When the end user names the whole host of the token endpoint (self-managed GitLab, Keycloak...),
 *   the integration's client secret goes there only if the host matches the integration's
 *   `allowed_hosts`; otherwise the flow is refused before the browser is sent anywhere.
 */
import { KeywayError } from '../errors.ts';
import type { Integration } from '../store/types.ts';
import { freeHostInput, hostAllowed } from '../templates/hosts.ts';
import { fillUrl, type ConnectionConfig } from '../templates/interpolate.ts';
import type { OAuth2ClientCredentialsTemplate, OAuth2Template, ProviderTemplate } from '../templates/schema.ts';

/** The end user's (and connect session's) inputs with the integration's fixed ones over them. */
export function withFixedInputs(integration: Integration, given: Readonly<Record<string, string>>): Record<string, string> {
  const fixed = integration.connection_config ?? {};
  for (const [key, value] of Object.entries(fixed)) {
    if (Object.hasOwn(given, key) && given[key] !== value) {
      throw new KeywayError('invalid_connection_config', `Connection config "${key}" is set by the integration "${integration.unique_key}" and cannot be changed`);
    }
  }
  return { ...given, ...fixed };
}

/**
 * Refuses a flow whose `from_integration` inputs (an app-wide value: Amazon's application id,
 * eBay's RuName) the end user tries to give, or that the integration has not set yet.
 */
export function assertIntegrationInputs(integration: Integration, template: ProviderTemplate, given: Readonly<Record<string, string>>): void {
  const fixed = integration.connection_config ?? {};
  for (const [key, input] of Object.entries(template.connection_config ?? {})) {
    if (!input.from_integration) continue;
    const set = Object.hasOwn(fixed, key);
    if (Object.hasOwn(given, key) && !(set && given[key] === fixed[key])) {
      throw new KeywayError('invalid_connection_config', `Connection config "${key}" is set by the integration, not by the end user`);
    }
    if (!set && !input.optional && input.default_value === undefined) {
      throw new KeywayError('invalid_connection_config', `The integration "${integration.unique_key}" must set connection_config.${key} (${input.title}) before connections can be made`);
    }
  }
}

/** Throws `host_not_allowed` unless every host the integration's secret is sent to was chosen or allowed by the operator. */
export function assertSecretHosts(integration: Integration, template: OAuth2Template | OAuth2ClientCredentialsTemplate, config: ConnectionConfig): void {
  const urls = template.auth_mode === 'OAUTH2' ? [template.token_url, template.refresh_url ?? template.token_url] : [template.token_url];
  for (const url of urls) {
    const input = freeHostInput(template, url);
    if (input === undefined || Object.hasOwn(integration.connection_config ?? {}, input)) continue;
    const host = new URL(fillUrl(url, config)).host;
    if (!hostAllowed(host, integration.allowed_hosts ?? [])) {
      throw new KeywayError(
        'host_not_allowed',
        `The integration "${integration.unique_key}" does not send its client secret to ${host}: the operator must add it to the integration's allowed_hosts (or fix the host in its connection_config)`,
      );
    }
  }
}
