import { connectionExists, type ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import { parseConnectionId } from '../ids.ts';
import type { ConnectSession, Credentials, EndUser, Integration, Store } from '../store/types.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import { assertIntegrationInputs, withFixedInputs } from '../integrations/host-policy.ts';
import { validateConnectionConfig, type ConnectionConfig } from '../templates/interpolate.ts';
import type { ProviderTemplate } from '../templates/schema.ts';
import { bracketParams } from './state.ts';

export interface ConnectTarget {
  readonly connectionId: string;
  readonly connectionConfig: ConnectionConfig;
  readonly endUser: EndUser | null;
  /** The connect session's tags for the connection; undefined for a public-key flow. */
  readonly tags: Readonly<Record<string, string>> | undefined;
  /** Only a connect session made by the backend may replace an existing connection; the public key only creates. */
  readonly mayReplace: boolean;
}

/**
 * Which connection a browser request may create, whatever the auth mode. Under a connect
 * session the connection belongs to the session's end user, or is the one a reconnect session
 * names (the browser cannot pick another id), only allowed integrations are open, and the
 * backend's connection config wins over the browser's; inputs the integration fixed win over both
 * (a different value is refused). With the public key the browser picks the
 * id, so it may only create: replacing a connection's credentials would let anyone holding the
 * public key (every page of the app has it) swap in their own account under the victim's id.
 */
export function connectTarget(integration: Integration, template: ProviderTemplate, query: URLSearchParams, session: ConnectSession | null): ConnectTarget {
  if (session?.allowed_integrations && !session.allowed_integrations.includes(integration.unique_key)) {
    throw new KeywayError('integration_not_allowed', `This connect session does not allow the integration "${integration.unique_key}"`);
  }
  const requested = query.get('connection_id') || undefined;
  const fixed = session ? (session.connection_id ?? session.end_user?.id) : undefined;
  if (fixed !== undefined && requested !== undefined && requested !== fixed) {
    throw new KeywayError('connection_id_not_allowed', 'This connect session is for another connection id');
  }
  const given = { ...bracketParams(query, 'params'), ...session?.integrations_config_defaults[integration.unique_key]?.connection_config };
  assertIntegrationInputs(integration, template, given);
  return {
    connectionId: parseConnectionId(fixed ?? requested),
    connectionConfig: validateConnectionConfig(template, withFixedInputs(integration, given)),
    endUser: session?.end_user ?? null,
    tags: session?.tags,
    mayReplace: session !== null,
  };
}

/** Refuses, before anything is sent or stored, a flow that could only end by replacing a connection it may not replace. */
export async function refuseReplacement(store: Store, providerConfigKey: string, target: ConnectTarget): Promise<void> {
  if (!target.mayReplace && (await store.getConnection(providerConfigKey, target.connectionId))) throw connectionExists(target.connectionId);
}

/** `unknown_config_key` is what the browser flows call a missing integration (Nango's code). */
export function asUnknownConfigKey(key: string) {
  return (e: unknown): never => {
    if (e instanceof KeywayError && e.code === 'unknown_provider_config') throw new KeywayError('unknown_config_key', `There is no integration "${key}"`);
    throw e;
  };
}

/**
 * Stores a connection a browser flow made for its target (created, or replaced when the target may replace it)
 * and announces it (webhook `auth` event): the last step of the API-key, Basic and two-step flows.
 */
export async function storeForTarget(
  deps: { readonly connections: ConnectionService; readonly events: AuthEventSink },
  integration: Integration,
  template: ProviderTemplate,
  target: ConnectTarget,
  credentials: Credentials,
  connectionConfig: Readonly<Record<string, unknown>> = target.connectionConfig,
): Promise<{ providerConfigKey: string; connectionId: string }> {
  const { result } = await deps.connections.upsert({
    providerConfigKey: integration.unique_key,
    connectionId: target.connectionId,
    provider: template.name,
    credentials,
    connectionConfig,
    endUser: target.endUser,
    ...(target.tags && { tags: target.tags }),
    createOnly: !target.mayReplace,
  });
  deps.events.emit({
    operation: result === 'created' ? 'creation' : 'override',
    success: true,
    providerConfigKey: integration.unique_key,
    connectionId: target.connectionId,
    provider: template.name,
    authMode: template.auth_mode,
    endUser: target.endUser,
    ...(target.tags && { tags: target.tags }),
  });
  return { providerConfigKey: integration.unique_key, connectionId: target.connectionId };
}
