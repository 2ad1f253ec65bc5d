import { clientCredentialsFrom } from '../connections/credentials.ts';
import { pickPaths } from '../connections/metadata.ts';
import type { ConnectionService } from '../connections/service.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import { assertSecretHosts, withFixedInputs } from '../integrations/host-policy.ts';
import { presentedCertificate } from '../integrations/mutual-tls.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { requestTokens } from '../oauth/client.ts';
import type { EndUser } from '../store/types.ts';
import { fillScope, resolveEndpoints, validateConnectionConfig } from '../templates/interpolate.ts';
import type { AuthEventSink } from '../webhooks/events.ts';

export interface ClientCredentialsRequest {
  readonly providerConfigKey: string;
  readonly connectionId: string;
  /** The connection's own client; the integration's when absent. */
  readonly client?: { readonly client_id: string; readonly client_secret: string };
  readonly scopes?: readonly string[];
  readonly connectionConfig: Readonly<Record<string, string>>;
  readonly endUser: EndUser | null;
}

/**
 * An OAuth 2.0 client-credentials connection, made from the backend (no browser): the first token
 * is minted now, and re-minted before it expires whenever the token is read.
 */
export async function connectClientCredentials(
  req: ClientCredentialsRequest,
  deps: { integrations: IntegrationService; connections: ConnectionService; events: AuthEventSink; providerTimeoutMs: number; outbound: OutboundFetch },
): Promise<{ providerConfigKey: string; connectionId: string }> {
  const { integration, template } = await deps.integrations.withTemplate(req.providerConfigKey, 'OAUTH2_CC');
  const config = validateConnectionConfig(template, withFixedInputs(integration, req.connectionConfig));
  const clientCertificate = presentedCertificate(integration, template);
  if (!req.client) assertSecretHosts(integration, template, config);
  const client = req.client ?? { client_id: integration.client_id, client_secret: integration.client_secret };
  const scopes = (req.scopes ?? (integration.scopes.length > 0 ? integration.scopes : (template.default_scopes ?? []))).map((s) => fillScope(s, config));
  const tokens = await requestTokens({
    tokenUrl: resolveEndpoints(template, config).tokenUrl,
    client: { clientId: client.client_id, clientSecret: client.client_secret, authMethod: template.token_request_auth_method ?? 'basic' },
    grant: { grant_type: 'client_credentials', scope: scopes.join(template.scope_separator ?? ' ') || null },
    ...(template.token_params && { extraParams: template.token_params }),
    ...(template.body_format && { bodyFormat: template.body_format }),
    timeoutMs: deps.providerTimeoutMs,
    fetch: deps.outbound,
    ...(clientCertificate && { clientCertificate }),
  });
  const { result } = await deps.connections.upsert({
    providerConfigKey: integration.unique_key,
    connectionId: req.connectionId,
    provider: template.name,
    credentials: clientCredentialsFrom(tokens, { ...client, scopes }, template.default_expires_in),
    connectionConfig: { ...config, ...pickPaths(tokens.data, template.token_response_metadata) },
    endUser: req.endUser,
  });
  deps.events.emit({ operation: result === 'created' ? 'creation' : 'override', success: true, providerConfigKey: integration.unique_key, connectionId: req.connectionId, provider: template.name, authMode: 'OAUTH2_CC', endUser: req.endUser });
  return { providerConfigKey: integration.unique_key, connectionId: req.connectionId };
}
