import type { Config } from '../config.ts';
import { assertSecretHosts } from '../integrations/host-policy.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { buildAuthorizationUrl, generateCodeVerifier, generateState } from '../oauth/client.ts';
import type { ConnectSession, Store } from '../store/types.ts';
import { fillScope, resolveEndpoints } from '../templates/interpolate.ts';
import { sha256 } from '../primitives.ts';
import { redirectUriFor } from './redirect-uri.ts';
import { bracketParams } from './state.ts';
import { asUnknownConfigKey, connectTarget, refuseReplacement } from './target.ts';

export interface ConnectRequest {
  readonly providerConfigKey: string;
  readonly query: URLSearchParams;
  /** The browser-binding cookie's value; the same must come back with the callback. */
  readonly binding: string;
  /** From the browser SDK, validated by the route: where the outcome goes. */
  readonly flowId: string | null;
  readonly origin: string | null;
  /** The connect session the flow runs under; null for a public-key flow. */
  readonly session: ConnectSession | null;
}

/**
 * Starts a connect flow: validates everything the browser sent, records the flow under the
 * hash of a fresh single-use `state` (with the PKCE verifier and the browser binding), and
 * returns the provider's authorization URL.
 */
export async function startFlow(req: ConnectRequest, deps: { config: Config; store: Store; integrations: IntegrationService }): Promise<string> {
  const { integration, template } = await deps.integrations.withTemplate(req.providerConfigKey, 'OAUTH2').catch(asUnknownConfigKey(req.providerConfigKey));
  const target = connectTarget(integration, template, req.query, req.session);
  const { connectionId, connectionConfig, endUser } = target;
  await refuseReplacement(deps.store, integration.unique_key, target);
  const endpoints = resolveEndpoints(template, connectionConfig);
  // Refused here, before the browser goes anywhere, rather than at the code exchange.
  assertSecretHosts(integration, template, connectionConfig);

  const scopeSeparator = template.scope_separator ?? ' ';
  const userScope = (req.query.get('user_scope') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const params: Record<string, string> = { ...endpoints.authorizationParams, ...bracketParams(req.query, 'authorization_params') };
  if (userScope.length > 0) params.user_scope = userScope.join(scopeSeparator);

  const state = generateState();
  const codeVerifier = template.pkce === false ? null : generateCodeVerifier();
  await deps.store.putFlow({
    state_hash: sha256(state),
    provider_config_key: integration.unique_key,
    connection_id: connectionId,
    code_verifier: codeVerifier,
    connection_config: connectionConfig,
    binding_hash: sha256(req.binding),
    flow_id: req.flowId,
    origin: req.origin,
    end_user: endUser,
    ...(target.tags && { tags: target.tags }),
    may_replace: target.mayReplace,
    expires_at: Date.now() + deps.config.flowTtlMs,
  });
  return buildAuthorizationUrl({
    authorizationUrl: endpoints.authorizationUrl,
    clientId: integration.client_id,
    redirectUri: redirectUriFor(template, connectionConfig, deps.config.serverUrl),
    state,
    codeVerifier,
    scopes: (integration.scopes.length > 0 ? integration.scopes : (template.default_scopes ?? [])).map((s) => fillScope(s, connectionConfig)),
    scopeSeparator,
    params,
    ...(template.authorization_url_replacements && { paramNames: template.authorization_url_replacements }),
    ...(template.authorization_url_fragment !== undefined && { fragment: template.authorization_url_fragment }),
  });
}
