/**
 * The token request of TWO_STEP templates (Nango's name): what the end user typed, placed in the
 * template's headers and body, sent to its token URL; the token and its lifetime read from the
 * answer at the template's dot-paths. The same request obtains the first token and every later
 * one, so connect and refresh share this function. Failures are ProviderCallErrors, transient or
 * not, like OAuth token requests: the connection service's retries and back-off apply unchanged.
 */
import { readPath } from '../connections/metadata.ts';
import { KeywayError } from '../errors.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import type { TwoStepCredentials } from '../store/types.ts';
import { fillUrl, type ConnectionConfig } from '../templates/interpolate.ts';
import type { TwoStepParam, TwoStepTemplate } from '../templates/schema.ts';
import { ProviderCallError } from './client.ts';

const PLACEHOLDER = /\$\{(credentials|connectionConfig)\.([A-Za-z0-9_]+)\}/g;
const BASE64 = /\$\{base64\((.*?)\)\}/g;
/** A number below this is seconds since the epoch; above, milliseconds (year 33658 in seconds). */
const EPOCH_MS_THRESHOLD = 1e12;

export interface TwoStepRequest {
  readonly template: TwoStepTemplate;
  /** The fields the end user typed. */
  readonly fields: Readonly<Record<string, string>>;
  readonly config: ConnectionConfig;
  readonly timeoutMs: number;
  /** The guarded HTTP client (http/outbound.ts): never the global fetch. */
  readonly fetch: OutboundFetch;
  readonly now?: () => number;
}

/** Obtains a token: credentials that hold it, its expiry, the answer, and the fields for next time. */
export async function requestTwoStepToken(req: TwoStepRequest): Promise<TwoStepCredentials> {
  const { template } = req;
  // Placeholders are filled in the template's text only: a typed value is never parsed again.
  // `${base64(...)}` first: its output holds no placeholder, so the second pass cannot touch it.
  const plain = (text: string) => text.replace(PLACEHOLDER, (_, kind: string, key: string) => (kind === 'credentials' ? req.fields[key] : req.config[key]) ?? '');
  const fill = (text: string) => plain(text.replace(BASE64, (_, inner: string) => Buffer.from(plain(inner)).toString('base64')));
  const method = template.token_request_method ?? 'POST';
  const json = (template.body_format ?? 'json') === 'json';
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'keyway' };
  const params = template.token_params === undefined ? undefined : fillParams(template.token_params, fill);
  let url = fillUrl(template.token_url, req.config);
  let body: string | URLSearchParams | undefined;
  if (params !== undefined && method === 'GET') {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    url = u.toString();
  } else if (params !== undefined) {
    headers['Content-Type'] = json ? 'application/json' : 'application/x-www-form-urlencoded';
    body = json ? JSON.stringify(params) : new URLSearchParams(params as Record<string, string>);
  }
  for (const [name, value] of Object.entries(template.token_headers ?? {})) {
    // Replace a default of ours whatever the case the template writes the name in.
    for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
    headers[name] = fill(value);
  }

  let status = 0;
  try {
    const res = await req.fetch(url, { method, headers, ...(body !== undefined && { body }), redirect: 'error', signal: AbortSignal.timeout(req.timeoutMs) });
    status = res.status;
    const text = await res.text();
    const data = parseJson(text);
    if (status < 200 || status >= 300) throw refused(status, data);
    if (!data) throw new ProviderCallError('token_err', `The token request failed: the provider answered ${status} with a body that is not JSON`, false, { provider_status: String(status) });
    const token = readPath(data, template.token_response.token);
    if (typeof token !== 'string' || token.length === 0) {
      throw new ProviderCallError('token_err', 'The token request failed: the answer has no token where the template says it is', false, { provider_status: String(status) });
    }
    const now = (req.now ?? Date.now)();
    const expiresAt = expiry(template, data, now);
    return {
      type: 'TWO_STEP',
      access_token: token,
      ...(expiresAt !== undefined && { expires_at: new Date(expiresAt).toISOString() }),
      obtained_at: new Date(now).toISOString(),
      fields: { ...req.fields },
      raw: data,
    };
  } catch (e) {
    if (e instanceof KeywayError) throw e; // ours, or the SSRF guard's refusal
    if (e instanceof DOMException && e.name === 'TimeoutError') throw new ProviderCallError('provider_timeout', 'The token request timed out: the provider did not answer in time', true);
    if (e instanceof TypeError) throw new ProviderCallError('token_err', 'The token request failed: the provider could not be reached', true);
    throw new ProviderCallError('token_err', 'The token request failed', false, status ? { provider_status: String(status) } : undefined);
  }
}

/** A 4xx is a refusal (bad credentials mostly); a 5xx or 429 may pass when tried again. */
function refused(status: number, data: Record<string, unknown> | null): ProviderCallError {
  const details: Record<string, string> = { provider_status: String(status) };
  const error = data?.error ?? data?.message;
  if (typeof error === 'string') details.provider_error = error.slice(0, 100);
  const description = data?.error_description;
  if (typeof description === 'string') details.provider_error_description = description.slice(0, 500);
  return new ProviderCallError('token_err', `The token request failed: the provider answered ${status}${data ? '' : ' with a body that is not JSON'}`, status >= 500 || status === 429, details);
}

/** The expiry in ms since the epoch: from the answer, else the template's default lifetime, else none. */
function expiry(template: TwoStepTemplate, data: Record<string, unknown>, now: number): number | undefined {
  const r = template.token_response;
  const seconds = (v: unknown) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    return Number.isFinite(n) && n > 0 ? n : undefined;
  };
  if (r.expires_in !== undefined || r.token_expiration_strategy === 'expireIn') {
    const s = seconds(readPath(data, r.expires_in ?? r.token_expiration ?? ''));
    if (s !== undefined) return now + s * 1000;
  } else if (r.token_expiration !== undefined) {
    const v = readPath(data, r.token_expiration);
    const n = seconds(v);
    const at = n !== undefined ? (n < EPOCH_MS_THRESHOLD ? n * 1000 : n) : typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(at)) return at;
  }
  return template.token_expires_in_ms === undefined ? undefined : now + template.token_expires_in_ms;
}

function fillParams(params: Readonly<Record<string, TwoStepParam>>, fill: (s: string) => string): Record<string, TwoStepParam> {
  // Keys are the template's; a null prototype keeps a `__proto__` key a key.
  const out: Record<string, TwoStepParam> = Object.create(null);
  for (const [k, v] of Object.entries(params)) out[k] = typeof v === 'string' ? fill(v) : fillParams(v, fill);
  return out;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
