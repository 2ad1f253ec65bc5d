import { pickPaths } from '../connections/metadata.ts';
import type { ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { ProviderCallError } from '../oauth/client.ts';
import { requestTwoStepToken } from '../oauth/two-step.ts';
import { isRecord } from '../primitives.ts';
import type { ConnectSession, Store } from '../store/types.ts';
import type { TwoStepTemplate } from '../templates/schema.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import { parseCredentials } from './api-auth.ts';
import { asUnknownConfigKey, connectTarget, refuseReplacement, storeForTarget } from './target.ts';

export interface TwoStepConnectRequest {
  readonly providerConfigKey: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly session: ConnectSession | null;
}

export interface TwoStepConnectDeps {
  readonly store: Store;
  readonly integrations: IntegrationService;
  readonly connections: ConnectionService;
  readonly events: AuthEventSink;
  readonly providerTimeoutMs: number;
  readonly outbound: OutboundFetch;
}

/**
 * A TWO_STEP connection (Nango's POST /auth/two-step/:providerConfigKey): the fields the template
 * declares, checked as API keys are, posted to the template's token URL; stored, with the token
 * obtained, only when the provider gave one. The session rules of API-key connections apply.
 */
export async function connectTwoStep(req: TwoStepConnectRequest, deps: TwoStepConnectDeps): Promise<{ providerConfigKey: string; connectionId: string }> {
  const { integration, template } = await deps.integrations.withTemplate(req.providerConfigKey, 'TWO_STEP').catch(asUnknownConfigKey(req.providerConfigKey));
  const target = connectTarget(integration, template, req.query, req.session);
  const fields = parseCredentials(template, withoutTypeMarker(template, req.body));
  await refuseReplacement(deps.store, integration.unique_key, target);
  const credentials = await requestTwoStepToken({ template, fields, config: target.connectionConfig, timeoutMs: deps.providerTimeoutMs, fetch: deps.outbound }).catch(
    (e: unknown) => {
      throw refusedCredentials(e);
    },
  );
  return storeForTarget(deps, integration, template, target, credentials, { ...target.connectionConfig, ...pickPaths(credentials.raw, template.token_response_metadata) });
}

/** Nango's browser SDK marks two-step credentials with `type: 'TWO_STEP'`: a marker, not a field (unless the template declares one). */
function withoutTypeMarker(template: TwoStepTemplate, body: unknown): unknown {
  if (!isRecord(body) || body.type !== 'TWO_STEP' || Object.hasOwn(template.credentials, 'type')) return body;
  const { type: _, ...fields } = body;
  return fields;
}

/** At connect time a 400, 401 or 403 from the token URL means the typed credentials are wrong: the end user's to fix. */
function refusedCredentials(e: unknown): unknown {
  if (!(e instanceof ProviderCallError) || e.transient) return e;
  const status = e.details?.provider_status;
  if (status === '400' || status === '401' || status === '403') {
    return new KeywayError('invalid_credentials', `The provider refused these credentials (${status})`, e.details);
  }
  return e;
}
