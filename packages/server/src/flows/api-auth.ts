import { NO_ACTIVITY, pathOnly, type ActivitySink } from '../activity/log.ts';
import { KeywayError } from '../errors.ts';
import type { ConnectionService } from '../connections/service.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { ApiKeyCredentials, BasicCredentials, ConnectSession, Store } from '../store/types.ts';
import { fillUrl, type ConnectionConfig } from '../templates/interpolate.ts';
import type { ApiKeyTemplate, BasicTemplate, TwoStepTemplate } from '../templates/schema.ts';
import { isRecord } from '../primitives.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import { asUnknownConfigKey, connectTarget, refuseReplacement, storeForTarget } from './target.ts';

const CREDENTIAL_PLACEHOLDER = /\$\{credentials\.([A-Za-z0-9_]+)\}/g;
const CONFIG_PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g;

export interface KeyConnectRequest {
  readonly mode: 'API_KEY' | 'BASIC';
  readonly providerConfigKey: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly session: ConnectSession | null;
}

export interface KeyConnectDeps {
  readonly store: Store;
  readonly integrations: IntegrationService;
  readonly connections: ConnectionService;
  readonly events: AuthEventSink;
  readonly providerTimeoutMs: number;
  readonly outbound: OutboundFetch;
  readonly activity?: ActivitySink;
}

/**
 * API-key and Basic connections (Nango's POST /api-auth/api-key|basic/:providerConfigKey): the
 * fields the template declares, checked by pattern, then proven by the template's verification
 * request before anything is stored.
 */
export async function connectWithCredentials(req: KeyConnectRequest, deps: KeyConnectDeps): Promise<{ providerConfigKey: string; connectionId: string }> {
  const { integration, template } = await deps.integrations.withTemplate(req.providerConfigKey, req.mode).catch(asUnknownConfigKey(req.providerConfigKey));
  const target = connectTarget(integration, template, req.query, req.session);
  const fields = parseCredentials(template, req.body);
  await refuseReplacement(deps.store, integration.unique_key, target);
  if (template.verification) await verify(template, fields, target.connectionConfig, deps, { key: integration.unique_key, id: target.connectionId });

  const { apiKey = '', username = '', password = '', ...rest } = fields;
  const credentials: ApiKeyCredentials | BasicCredentials =
    req.mode === 'API_KEY' ? { type: 'API_KEY', apiKey, fields: rest } : { type: 'BASIC', username, password, fields: rest };
  return storeForTarget(deps, integration, template, target, credentials);
}

/** Exactly the declared fields, each a string matching its pattern, without control characters. */
export function parseCredentials(template: Pick<ApiKeyTemplate | BasicTemplate | TwoStepTemplate, 'name' | 'credentials'>, body: unknown): Record<string, string> {
  if (!isRecord(body)) throw new KeywayError('invalid_body', 'The body must be a JSON object of credentials');
  const out: Record<string, string> = {};
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(template.credentials, key)) throw new KeywayError('invalid_credentials', `"${key}" is not a credential of ${template.name}`);
  }
  for (const [key, field] of Object.entries(template.credentials)) {
    const pattern = field.pattern === undefined ? undefined : new RegExp(`^(?:${field.pattern})$`, 'u');
    // A field may be empty only when its pattern says so (some providers want an empty Basic password).
    const value = body[key] ?? (pattern?.test('') ? '' : undefined);
    if (typeof value !== 'string' || (value.length === 0 && !pattern?.test(''))) throw new KeywayError('invalid_credentials', `${field.title} (${key}) is required`);
    if (value.length > 4096 || /[\u0000-\u001f\u007f]/.test(value)) throw new KeywayError('invalid_credentials', `${field.title} (${key}) is not a valid value`);
    if (pattern && !pattern.test(value)) {
      throw new KeywayError('invalid_credentials', `${field.title} (${key}) does not have the expected format`);
    }
    out[key] = value;
  }
  return out;
}

/** The template's verification request must answer 2xx with these credentials. */
async function verify(
  template: ApiKeyTemplate | BasicTemplate,
  fields: Record<string, string>,
  config: ConnectionConfig,
  deps: { providerTimeoutMs: number; outbound: OutboundFetch; activity?: ActivitySink },
  pair: { key: string; id: string },
): Promise<void> {
  const v = template.verification!;
  const started = performance.now();
  // The template's own path, placeholders unfilled: a filled one may carry the credential itself.
  const path = pathOnly(v.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')) || '/';
  const record = (status: number, error?: KeywayError) =>
    (deps.activity ?? NO_ACTIVITY).record({
      type: 'verification',
      action: error ? 'failed' : 'verified',
      outcome: error ? 'failure' : 'success',
      provider_config_key: pair.key,
      connection_id: pair.id,
      message: error ? `The provider did not accept the ${template.auth_mode === 'BASIC' ? 'Basic credentials' : 'API key'}` : `${template.auth_mode === 'BASIC' ? 'Basic credentials' : 'API key'} verified`,
      http: { method: v.method ?? 'GET', path, status, duration_ms: Math.round(performance.now() - started) },
      ...(error && { error: { code: error.code, message: error.message } }),
    });
  const url = fillUrl(v.url, config, (s) => s.replace(CREDENTIAL_PLACEHOLDER, (_, k: string) => encodeURIComponent(fields[k] ?? '')));
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'keyway' };
  for (const [name, value] of Object.entries(v.headers ?? {})) {
    headers[name] = value.replace(CREDENTIAL_PLACEHOLDER, (_, k: string) => fields[k] ?? '').replace(CONFIG_PLACEHOLDER, (_, k: string) => config[k] ?? '');
  }
  if (template.auth_mode === 'BASIC' && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    headers.Authorization = `Basic ${Buffer.from(`${fields.username}:${fields.password}`).toString('base64')}`;
  }
  let status: number;
  try {
    const res = await deps.outbound(url, { method: v.method ?? 'GET', headers, redirect: 'manual', signal: AbortSignal.timeout(deps.providerTimeoutMs) });
    status = res.status;
    await res.body?.cancel();
  } catch (e) {
    const error =
      e instanceof KeywayError
        ? e // the SSRF guard's refusal
        : e instanceof DOMException && e.name === 'TimeoutError'
          ? new KeywayError('provider_timeout', 'The provider did not answer the verification request in time')
          : new KeywayError('verification_failed', 'The provider could not be reached to verify the credentials');
    record(0, error);
    throw error;
  }
  const error =
    status === 401 || status === 403
      ? new KeywayError('invalid_credentials', `The provider refused these credentials (${status})`)
      : status < 200 || status >= 300
        ? new KeywayError('verification_failed', `The provider answered the verification request with ${status}`)
        : undefined;
  record(status, error);
  if (error) throw error;
}
