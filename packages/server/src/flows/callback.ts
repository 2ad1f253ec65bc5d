import type { Config } from '../config.ts';
import { credentialsFrom } from '../connections/credentials.ts';
import { pickPaths } from '../connections/metadata.ts';
import type { ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import { assertSecretHosts } from '../integrations/host-policy.ts';
import type { IntegrationService } from '../integrations/service.ts';
import { requestTokens } from '../oauth/client.ts';
import type { Store, UpsertResult } from '../store/types.ts';
import { callbackInputs, resolveEndpoints } from '../templates/interpolate.ts';
import { postConnection } from './post-connection.ts';
import { redirectUriFor } from './redirect-uri.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import { safeEqual, sha256 } from '../primitives.ts';

/** Where a flow's outcome is reported: the SDK's flow id and its page's origin (both absent for a plain redirect). */
export interface FlowReturn {
  readonly flowId: string | null;
  readonly origin: string | null;
}

/**
 * How a flow ended. A failure names the pair, and where to report it, when the state was valid
 * enough to know them.
 */
export type FlowOutcome =
  | ({ readonly ok: true; readonly providerConfigKey: string; readonly connectionId: string; readonly result: UpsertResult } & FlowReturn)
  | ({ readonly ok: false; readonly error: KeywayError; readonly providerConfigKey?: string; readonly connectionId?: string } & Partial<FlowReturn>);

export interface CallbackRequest {
  readonly query: URLSearchParams;
  readonly binding: string | undefined;
}

export interface CallbackDeps {
  readonly config: Config;
  readonly store: Store;
  readonly integrations: IntegrationService;
  readonly connections: ConnectionService;
  readonly events: AuthEventSink;
  readonly outbound: OutboundFetch;
}

/**
 * Ends a connect flow: takes the state (single use), checks the browser binding and the issuer,
 * exchanges the code (with the PKCE verifier) and upserts the Connection.
 */
export async function finishFlow(req: CallbackRequest, deps: CallbackDeps): Promise<FlowOutcome> {
  const outcome = await runCallback(req, deps);
  if (outcome.providerConfigKey !== undefined && outcome.connectionId !== undefined) await report(outcome, deps);
  return outcome;
}

/** The auth webhook of a flow whose pair is known: creation or override, success or not. */
async function report(outcome: FlowOutcome, deps: CallbackDeps): Promise<void> {
  const key = outcome.providerConfigKey!;
  const id = outcome.connectionId!;
  const provider = (await deps.integrations.templateOf(key))?.name ?? '';
  const existing = await deps.store.getConnection(key, id);
  const endUser = existing?.end_user ?? null;
  const tags = existing?.tags;
  if (outcome.ok) {
    deps.events.emit({ operation: outcome.result === 'created' ? 'creation' : 'override', success: true, providerConfigKey: key, connectionId: id, provider, authMode: 'OAUTH2', endUser, ...(tags && { tags }) });
  } else {
    deps.events.emit({
      operation: existing ? 'override' : 'creation',
      success: false,
      providerConfigKey: key,
      connectionId: id,
      provider,
      authMode: 'OAUTH2',
      endUser,
      ...(tags && { tags }),
      error: { type: outcome.error.code, description: outcome.error.message },
    });
  }
}

async function runCallback(req: CallbackRequest, deps: CallbackDeps): Promise<FlowOutcome> {
  const state = req.query.get('state');
  if (!state) return { ok: false, error: new KeywayError('state_err', 'The callback has no state') };
  const flow = await deps.store.takeFlow(sha256(state));
  if (!flow) return { ok: false, error: new KeywayError('state_err', 'The state is unknown, expired or already used; start the connection again') };
  const pair = { providerConfigKey: flow.provider_config_key, connectionId: flow.connection_id, flowId: flow.flow_id, origin: flow.origin };
  const fail = (error: KeywayError): FlowOutcome => ({ ok: false, error, ...pair });

  if (req.binding === undefined || !safeEqual(sha256(req.binding), flow.binding_hash)) {
    return fail(new KeywayError('state_err', 'The flow was started in another browser session; start the connection again'));
  }
  try {
    const { integration, template } = await deps.integrations.withTemplate(flow.provider_config_key, 'OAUTH2');
    const iss = req.query.get('iss');
    if (iss !== null && template.issuer !== undefined && iss !== template.issuer) {
      return fail(new KeywayError('issuer_mismatch', 'The authorization response came from an unexpected issuer'));
    }
    const providerError = req.query.get('error');
    if (providerError !== null) {
      const description = (req.query.get('error_description') ?? '').slice(0, 500);
      const details: Record<string, string> = { provider_error: providerError.slice(0, 100), ...(description && { provider_error_description: description }) };
      return providerError === 'access_denied'
        ? fail(new KeywayError('access_denied', 'The authorization was denied at the provider', details))
        : fail(new KeywayError('authorization_err', `The provider answered ${details.provider_error}`, details));
    }
    // Some providers name the code otherwise (Amazon: spapi_oauth_code; TikTok: auth_code).
    const codeParam = template.authorization_code_param_in_callback ?? 'code';
    const code = req.query.get(codeParam);
    if (!code) return fail(new KeywayError('missing_code', `The callback has no authorization code (${codeParam})`));

    assertSecretHosts(integration, template, flow.connection_config); // the integration may have changed since the start
    // The value the authorization request sent, which the exchange must repeat (RFC 6749 4.1.3).
    const redirectUri = redirectUriFor(template, flow.connection_config, deps.config.serverUrl);
    // Inputs the provider names in the callback (its data centre) take part in the token URL.
    const config = { ...flow.connection_config, ...callbackInputs(template, req.query) };
    const tokens = await requestTokens({
      tokenUrl: resolveEndpoints(template, config).tokenUrl,
      client: { clientId: integration.client_id, clientSecret: integration.client_secret, authMethod: template.token_request_auth_method ?? 'basic' },
      grant: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: flow.code_verifier },
      ...(template.token_params && { extraParams: template.token_params }),
      ...(template.token_param_names && { paramNames: template.token_param_names }),
      ...(template.body_format && { bodyFormat: template.body_format }),
      timeoutMs: deps.config.providerTimeoutMs,
      fetch: deps.outbound,
    });
    const callbackValues: Record<string, string> = {};
    for (const name of template.redirect_uri_metadata ?? []) {
      const v = req.query.get(name);
      if (v !== null) callbackValues[name] = v;
    }
    const credentials = credentialsFrom(tokens, { defaultExpiresIn: template.default_expires_in, tokenPath: template.token_path });
    const discovered = template.post_connection
      ? await postConnection(template.post_connection, config, credentials.access_token, { providerTimeoutMs: deps.config.providerTimeoutMs, outbound: deps.outbound })
      : {};
    const { result } = await deps.connections.upsert({
      providerConfigKey: pair.providerConfigKey,
      connectionId: pair.connectionId,
      provider: template.name,
      credentials,
      connectionConfig: { ...config, ...pickPaths(tokens.data, template.token_response_metadata), ...callbackValues, ...discovered },
      endUser: flow.end_user,
      ...(flow.tags && { tags: flow.tags }),
      // Checked again here: a connection made meanwhile (another flow for the same id) is not replaced either.
      createOnly: flow.may_replace !== true,
    });
    return { ok: true, ...pair, result };
  } catch (e) {
    if (e instanceof KeywayError) return fail(e);
    throw e;
  }
}
