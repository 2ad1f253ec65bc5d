import type { Config } from '../config.ts';
import { KeywayError } from '../errors.ts';
import { parseConnectionId } from '../ids.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { buildAuthorizationUrl, generateCodeVerifier, generateState } from '../oauth/client.ts';
import type { ConnectSession, Store } from '../store/types.ts';
import { resolveEndpoints, validateConnectionConfig } from '../templates/interpolate.ts';
import { bracketParams, sha256 } from './state.ts';

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
export async function startFlow(req: ConnectRequest, deps: { config: Config; store: Store; integrations: IntegrationService }): Promise<URL> {
  const { integration, template } = await deps.integrations.withTemplate(req.providerConfigKey, 'OAUTH2').catch((e: unknown) => {
    if (e instanceof KeywayError && e.code === 'unknown_provider_config') {
      throw new KeywayError('unknown_config_key', `There is no integration "${req.providerConfigKey}"`);
    }
    throw e;
  });
  const { session } = req;
  if (session?.allowed_integrations && !session.allowed_integrations.includes(integration.unique_key)) {
    throw new KeywayError('integration_not_allowed', `This connect session does not allow the integration "${integration.unique_key}"`);
  }
  // Under a session the connection belongs to the session's end user: the browser cannot pick another id.
  const requested = req.query.get('connection_id') || undefined;
  if (session && requested !== undefined && requested !== session.end_user.id) {
    throw new KeywayError('connection_id_not_allowed', 'This connect session is for another connection id');
  }
  const connectionId = parseConnectionId(session ? session.end_user.id : requested);
  const connectionConfig = validateConnectionConfig(template, {
    ...bracketParams(req.query, 'params'),
    ...session?.integrations_config_defaults[integration.unique_key]?.connection_config, // the backend's values win
  });
  const endpoints = resolveEndpoints(template, connectionConfig);

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
    end_user: session?.end_user ?? null,
    expires_at: Date.now() + deps.config.flowTtlMs,
  });
  return buildAuthorizationUrl({
    authorizationUrl: endpoints.authorizationUrl,
    clientId: integration.client_id,
    redirectUri: `${deps.config.serverUrl}/oauth/callback`,
    state,
    codeVerifier,
    scopes: integration.scopes.length > 0 ? integration.scopes : (template.default_scopes ?? []),
    scopeSeparator,
    params,
  });
}
