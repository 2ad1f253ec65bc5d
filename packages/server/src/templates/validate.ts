import { isRecord } from '../primitives.ts';
import { AUTHORIZATION_PARAM_NAMES, CATEGORIES, TOKEN_PARAM_NAMES, type ConnectionConfigInput, type ProviderTemplate } from './schema.ts';
import { isAllowedProviderUrl } from './urls.ts';

const CONFIG_PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g;
/** In proxy texts a placeholder may name a stored dot-path (`${connectionConfig.team.id}`). */
const STORED_PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_.-]+)\}/g;
const CREDENTIAL_PLACEHOLDER = /\$\{credentials\.([A-Za-z0-9_]+)\}/g;
/** What the proxy fills in its URL, headers and query (proxy/target.ts). */
const PROXY_PLACEHOLDER = /^\$\{(accessToken|apiKey|integration\.clientId|credentials\.[A-Za-z0-9_]+|connectionConfig\.[A-Za-z0-9_.-]+)\}$/;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const COMMON = ['display_name', 'categories', 'docs', 'auth_mode', 'connection_config', 'verified', 'proxy'];
const TOKEN_ENDPOINT = ['token_url', 'scope_separator', 'default_scopes', 'token_params', 'token_request_auth_method', 'body_format', 'token_response_metadata', 'token_expiration_buffer', 'default_expires_in'];
/** The fields each auth mode allows; anything else is a mistake worth a clear error. */
const FIELDS: Record<ProviderTemplate['auth_mode'], ReadonlySet<string>> = {
  OAUTH2: new Set([...COMMON, ...TOKEN_ENDPOINT, 'authorization_url', 'refresh_url', 'issuer', 'authorization_params', 'pkce', 'redirect_uri_metadata', 'token_path', 'refresh_params', 'post_connection', 'token_param_names', 'authorization_url_replacements', 'authorization_url_fragment', 'authorization_code_param_in_callback', 'redirect_uri']),
  OAUTH2_CC: new Set([...COMMON, ...TOKEN_ENDPOINT, 'client_certificate']),
  API_KEY: new Set([...COMMON, 'credentials', 'verification']),
  BASIC: new Set([...COMMON, 'credentials', 'verification']),
  TWO_STEP: new Set([...COMMON, 'credentials', 'token_url', 'token_request_method', 'token_headers', 'token_params', 'body_format', 'token_response', 'token_expires_in_ms', 'token_expiration_buffer', 'token_response_metadata']),
};
const REQUIRED_CREDENTIALS: Record<string, readonly string[]> = { API_KEY: ['apiKey'], BASIC: ['username', 'password'], TWO_STEP: [] };

type Fail = (field: string, problem: string) => never;

/** Turns parsed JSON into a ProviderTemplate, or throws one message naming the field at fault. */
export function validateTemplate(name: string, data: unknown): ProviderTemplate {
  const fail: Fail = (field, problem) => {
    throw new Error(`field \`${field}\` ${problem}`);
  };
  if (!NAME.test(name)) throw new Error(`the template name "${name}" must match ${NAME}`);
  if (!isRecord(data)) throw new Error('a template must be a JSON object');
  const mode = data.auth_mode;
  if (typeof mode !== 'string' || !Object.hasOwn(FIELDS, mode)) {
    fail('auth_mode', mode === undefined ? 'is missing' : `must be one of ${Object.keys(FIELDS).join(', ')}`);
  }
  const allowed = FIELDS[mode as ProviderTemplate['auth_mode']];
  for (const key of Object.keys(data)) if (!allowed.has(key)) fail(key, `is not a field of ${String(mode)} templates`);

  const str = (field: string, required = true): string | undefined => {
    const v = data[field];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0) fail(field, v === undefined ? 'is missing' : 'must be a non-empty string');
    return v as string;
  };
  const strList = (field: string): string[] | undefined => {
    const v = data[field];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length > 0)) fail(field, 'must be a list of strings');
    return v as string[];
  };
  const strMap = (field: string): Record<string, string> | undefined => {
    const v = data[field];
    if (v === undefined) return undefined;
    if (!isRecord(v) || !Object.values(v).every((s) => typeof s === 'string')) fail(field, 'must map names to strings');
    return Object.fromEntries(Object.entries(v as Record<string, string>));
  };

  str('display_name');
  const categories = strList('categories') ?? fail('categories', 'is missing');
  if (categories.length === 0) fail('categories', 'must name at least one category');
  for (const c of categories) {
    if (!(CATEGORIES as readonly string[]).includes(c)) fail('categories', `has "${c}", not one of: ${CATEGORIES.join(', ')}`);
  }
  if (!/^https:\/\/[^\s]+$/.test(str('docs')!)) fail('docs', 'must be an https URL');
  if (data.pkce !== undefined && typeof data.pkce !== 'boolean') fail('pkce', 'must be true or false');
  if (data.client_certificate !== undefined && typeof data.client_certificate !== 'boolean') fail('client_certificate', 'must be true or false');
  const method = data.token_request_auth_method;
  if (method !== undefined && method !== 'basic' && method !== 'body' && !(method === 'secret_hash' && mode === 'OAUTH2')) {
    fail('token_request_auth_method', mode === 'OAUTH2' ? 'must be "basic", "body" or "secret_hash"' : 'must be "basic" or "body"');
  }
  if (data.body_format !== undefined && data.body_format !== 'form' && data.body_format !== 'json') fail('body_format', 'must be "form" or "json"');
  verifiedField(data.verified, fail);
  for (const field of ['scope_separator', 'issuer', 'token_path']) str(field, false);
  for (const field of ['default_scopes', 'token_response_metadata', 'redirect_uri_metadata']) strList(field);
  for (const field of ['token_expiration_buffer', 'default_expires_in']) {
    const v = data[field];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) <= 0)) fail(field, 'must be a positive whole number of seconds');
  }
  if (typeof data.token_expiration_buffer === 'number' && data.token_expiration_buffer > 3600) fail('token_expiration_buffer', 'must be at most 3600 seconds');
  // TWO_STEP bodies may nest (JSON); checked with the rest of that mode below.
  if (mode !== 'TWO_STEP') strMap('token_params');
  strMap('refresh_params');
  const authorizationParams = strMap('authorization_params');

  const inputs = connectionConfigInputs(data.connection_config, fail);
  flowNames(data, inputs, fail);
  const credentialFields = credentials(mode as string, data.credentials, fail);
  const exampleUrl = (url: string) =>
    url.replace(CONFIG_PLACEHOLDER, (_, k: string) => inputs[k]?.example ?? inputs[k]?.default_value ?? inputs[k]?.enum?.[0] ?? 'example').replace(CREDENTIAL_PLACEHOLDER, 'x');
  const urls: [string, string][] = [];
  for (const field of ['authorization_url', 'token_url', 'refresh_url'] as const) {
    const required = (field === 'authorization_url' && mode === 'OAUTH2') || (field === 'token_url' && (mode === 'OAUTH2' || mode === 'OAUTH2_CC' || mode === 'TWO_STEP'));
    const url = str(field, required);
    if (url !== undefined) urls.push([field, url]);
  }
  const verification = data.verification;
  if (verification !== undefined) {
    if (!isRecord(verification)) fail('verification', 'must be { url, method?, headers? }');
    const v = verification as Record<string, unknown>;
    for (const k of Object.keys(v)) if (!['url', 'method', 'headers'].includes(k)) fail(`verification.${k}`, 'is not a verification field');
    if (typeof v.url !== 'string') fail('verification.url', 'is missing');
    if (v.method !== undefined && v.method !== 'GET' && v.method !== 'POST') fail('verification.method', 'must be GET or POST');
    if (v.headers !== undefined && (!isRecord(v.headers) || !Object.values(v.headers).every((h) => typeof h === 'string'))) fail('verification.headers', 'must map names to strings');
    urls.push(['verification.url', v.url as string]);
  }
  const proxy = proxySettings(data.proxy, fail);
  // A base URL may start with a whole origin the token response gave (Salesforce's instance_url):
  // checked here as an https origin; the proxy's guarded client checks the stored value.
  if (proxy) urls.push(['proxy.base_url', proxy.base_url.replace(/^\$\{connectionConfig\.([A-Za-z0-9_.]+)\}/, (m, k: string) => (Object.hasOwn(inputs, k) ? m : 'https://example.com'))]);
  const post = postConnectionField(data.post_connection, fail);
  if (post) urls.push(['post_connection.url', post.url]);
  // Each URL checked with every placeholder filled by an example: no input can smuggle a scheme or host.
  for (const [field, url] of urls) {
    if (!isAllowedProviderUrl(exampleUrl(url))) fail(field, 'must be an https URL (http only for loopback hosts)');
  }
  // Inputs filled from the callback are known only after the authorization step.
  const scopes = strList('default_scopes') ?? [];
  const beforeCallback = [str('authorization_url', false) ?? '', ...Object.values(authorizationParams ?? {}), ...scopes];
  for (const key of beforeCallback.flatMap((t) => [...t.matchAll(CONFIG_PLACEHOLDER)].map((m) => m[1]!))) {
    if (inputs[key]?.callback_param !== undefined) fail('authorization_url', `cannot use "${key}": it comes from the callback`);
  }
  const twoStepTexts = mode === 'TWO_STEP' ? twoStepFields(data, credentialFields, fail) : [];
  const texts = [...urls.filter(([f]) => f !== 'proxy.base_url').map(([, u]) => u), ...Object.values(authorizationParams ?? {}), ...scopes, ...Object.values(((verification as { headers?: Record<string, string> })?.headers) ?? {}), ...Object.values(post?.headers ?? {}), ...twoStepTexts];
  for (const key of texts.flatMap((t) => [...t.matchAll(CONFIG_PLACEHOLDER)].map((m) => m[1]!))) {
    if (!Object.hasOwn(inputs, key)) fail('connection_config', `must declare "${key}" (used as \${connectionConfig.${key}})`);
  }
  // The proxy runs after the connection exists: it may also use what the flow stored.
  const stored = new Set([...Object.keys(inputs), ...Object.keys(post?.connection_config ?? {}), ...(strList('token_response_metadata') ?? []), ...(strList('redirect_uri_metadata') ?? [])]);
  const proxyTexts = proxy ? [proxy.base_url, ...Object.values(proxy.headers ?? {}), ...Object.values(proxy.query ?? {})] : [];
  for (const key of proxyTexts.flatMap((t) => [...t.matchAll(STORED_PLACEHOLDER)].map((m) => m[1]!))) {
    if (!stored.has(key)) fail('proxy', `uses \${connectionConfig.${key}}, which no input, post-connection request or token response provides`);
  }
  for (const text of proxyTexts) {
    for (const [placeholder] of text.matchAll(/\$\{[^}]*\}/g)) {
      if (!PROXY_PLACEHOLDER.test(placeholder)) fail('proxy', `${placeholder} is not a placeholder the proxy fills (\${accessToken}, \${apiKey}, \${credentials.x}, \${connectionConfig.x}, \${integration.clientId})`);
    }
  }
  for (const text of [...texts, ...proxyTexts]) {
    for (const key of [...text.matchAll(CREDENTIAL_PLACEHOLDER)].map((m) => m[1]!)) {
      if (!credentialFields.has(key)) fail('credentials', `must declare "${key}" (used as \${credentials.${key}})`);
    }
  }
  return Object.freeze({ ...(data as object), name }) as ProviderTemplate;
}

/** A query or body parameter name a provider may use (`app_id`, `spapi_oauth_code`). */
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** A fragment route: path characters only, no query, no placeholder (`/oauth/authorize`). */
const FRAGMENT_ROUTE = /^[A-Za-z0-9/._~!$&'()*+,;=:@-]{1,200}$/;
const WHOLE_PLACEHOLDER = /^\$\{connectionConfig\.([A-Za-z0-9_]+)\}$/;

/**
 * The fields that rename or relocate the flow's own parameters: each name a plain parameter
 * name, renames only of OAuth's own parameters and never two to one name, and a `redirect_uri`
 * only from an input the integration sets (a value the end user typed must never choose it).
 */
function flowNames(data: Record<string, unknown>, inputs: Record<string, ConnectionConfigInput>, fail: Fail): void {
  const renames = (field: string, allowed: readonly string[]) => {
    const v = data[field];
    if (v === undefined) return;
    if (!isRecord(v) || Object.keys(v).length === 0) fail(field, 'must map parameter names to the provider\'s names for them');
    const seen = new Set<string>();
    for (const [k, name] of Object.entries(v as Record<string, unknown>)) {
      if (!allowed.includes(k)) fail(`${field}.${k}`, `is not a parameter it can rename (${allowed.join(', ')})`);
      if (typeof name !== 'string' || !PARAM_NAME.test(name)) fail(`${field}.${k}`, 'must be a parameter name');
      if (seen.has(name as string) || (allowed.includes(name as string) && name !== k)) fail(`${field}.${k}`, `renames to "${String(name)}", which another parameter already uses`);
      seen.add(name as string);
    }
  };
  renames('authorization_url_replacements', AUTHORIZATION_PARAM_NAMES);
  renames('token_param_names', TOKEN_PARAM_NAMES);
  const fragment = data.authorization_url_fragment;
  if (fragment !== undefined && (typeof fragment !== 'string' || !FRAGMENT_ROUTE.test(fragment))) fail('authorization_url_fragment', 'must be a route without query or placeholders (/oauth/authorize)');
  const codeParam = data.authorization_code_param_in_callback;
  if (codeParam !== undefined && (typeof codeParam !== 'string' || !PARAM_NAME.test(codeParam) || codeParam === 'state')) fail('authorization_code_param_in_callback', 'must be a parameter name (not state)');
  const redirect = data.redirect_uri;
  if (redirect !== undefined) {
    const key = typeof redirect === 'string' ? WHOLE_PLACEHOLDER.exec(redirect)?.[1] : undefined;
    if (key === undefined) fail('redirect_uri', 'must be ${connectionConfig.<input>} naming an input the integration sets');
    const input = inputs[key!];
    if (!input?.from_integration || input.optional) fail('redirect_uri', `names "${key!}", which must be a required input with from_integration: true`);
  }
}

/** Header names that must not be set by a template (the transport's own, or hop-by-hop). */
const RESERVED_PROXY_HEADERS = /^(host|content-length|transfer-encoding|connection|keep-alive|upgrade|te|trailer|proxy-.*)$/i;
const TOKEN_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `proxy: { base_url, headers?, query?, retry?: { at?, after? } }`; the URL is checked with the others. */
function proxySettings(value: unknown, fail: Fail): { base_url: string; headers?: Record<string, string>; query?: Record<string, string> } | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) fail('proxy', 'must be { base_url, headers?, query?, retry? }');
  const p = value as Record<string, unknown>;
  for (const k of Object.keys(p)) if (!['base_url', 'headers', 'query', 'retry'].includes(k)) fail(`proxy.${k}`, 'is not a proxy field');
  if (typeof p.base_url !== 'string' || p.base_url.length === 0) fail('proxy.base_url', 'is missing');
  if (/[?#]/.test(p.base_url as string)) fail('proxy.base_url', 'must not have a query or fragment (use proxy.query)');
  for (const field of ['headers', 'query'] as const) {
    const m = p[field];
    if (m === undefined) continue;
    if (!isRecord(m) || !Object.values(m).every((v) => typeof v === 'string' && !/[\r\n\0]/.test(v))) fail(`proxy.${field}`, 'must map names to strings (without line breaks)');
    for (const name of Object.keys(m as object)) {
      if (field === 'headers' && (!TOKEN_NAME.test(name) || RESERVED_PROXY_HEADERS.test(name))) fail(`proxy.headers.${name}`, 'is not a header a template may set');
      if (field === 'query' && name.length === 0) fail('proxy.query', 'must not have an empty name');
    }
  }
  if (p.retry !== undefined) {
    if (!isRecord(p.retry)) fail('proxy.retry', 'must be { at?, after? }');
    for (const [k, v] of Object.entries(p.retry as Record<string, unknown>)) {
      if (k !== 'at' && k !== 'after') fail(`proxy.retry.${k}`, 'is not a retry field (at, after)');
      if (!Array.isArray(v) || !v.every((h) => typeof h === 'string' && TOKEN_NAME.test(h))) fail(`proxy.retry.${k}`, 'must be a list of header names');
    }
  }
  return p as { base_url: string; headers?: Record<string, string>; query?: Record<string, string> };
}

function connectionConfigInputs(value: unknown, fail: Fail): Record<string, ConnectionConfigInput> {
  if (value === undefined) return {};
  if (!isRecord(value)) fail('connection_config', 'must be an object of inputs');
  const inputs: Record<string, ConnectionConfigInput> = Object.create(null);
  for (const [key, input] of Object.entries(value as Record<string, unknown>)) {
    const at = `connection_config.${key}`;
    if (!FIELD_NAME.test(key)) fail(at, 'must be a plain name');
    if (!isRecord(input)) fail(at, 'must be an object');
    const { title, pattern, description, example, optional, default_value, format, prefix, suffix, doc_section, hidden, callback_param, from_integration, ...rest } = input as Record<string, unknown>;
    const choices = (input as Record<string, unknown>).enum;
    for (const k of Object.keys(rest)) if (k !== 'enum') fail(`${at}.${k}`, 'is not an input field');
    if (typeof title !== 'string') fail(`${at}.title`, 'is missing');
    if (choices !== undefined && (!Array.isArray(choices) || choices.length === 0 || !choices.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 255))) {
      fail(`${at}.enum`, 'must be a non-empty list of strings');
    }
    if (pattern === undefined && choices === undefined) fail(`${at}.pattern`, 'is missing (or give an enum)');
    if (pattern !== undefined) checkPattern(pattern, `${at}.pattern`, fail);
    for (const [k, v] of Object.entries({ description, prefix, suffix, doc_section, callback_param })) {
      if (v !== undefined && typeof v !== 'string') fail(`${at}.${k}`, 'must be a string');
    }
    if (typeof doc_section === 'string' && !doc_section.startsWith('#')) fail(`${at}.doc_section`, 'must be an anchor (#...)');
    for (const [k, v] of Object.entries({ optional, hidden, from_integration })) if (v !== undefined && typeof v !== 'boolean') fail(`${at}.${k}`, 'must be true or false');
    if (from_integration === true && callback_param !== undefined) fail(`${at}.from_integration`, 'cannot be combined with callback_param (one source per input)');
    if (format !== undefined && !['hostname', 'uuid', 'uri'].includes(format as string)) fail(`${at}.format`, 'must be hostname, uuid or uri');
    const candidate = input as unknown as ConnectionConfigInput;
    for (const [k, v] of Object.entries({ example, default_value })) {
      if (v !== undefined && (typeof v !== 'string' || inputProblem(candidate, v) !== null)) fail(`${at}.${k}`, 'must be a string the input accepts');
    }
    if (hidden === true && default_value === undefined && optional !== true) fail(`${at}.hidden`, 'needs a default_value (or optional) since nobody types it');
    inputs[key] = candidate;
  }
  return inputs;
}

/** Why a value does not fit an input (enum, pattern, format), or null when it fits. */
export function inputProblem(input: ConnectionConfigInput, value: string): string | null {
  if (value.length > 255) return 'is longer than 255 characters';
  if (input.enum !== undefined && !input.enum.includes(value)) return `must be one of ${input.enum.join(', ')}`;
  if (input.pattern !== undefined && !new RegExp(`^(?:${input.pattern})$`, 'u').test(value)) return `does not match ${input.pattern}`;
  if (input.format === 'hostname' && !HOSTNAME.test(value)) return 'must be a host name (example.com)';
  if (input.format === 'uuid' && !UUID.test(value)) return 'must be a UUID';
  if (input.format === 'uri' && !/^https:\/\/[^\s]+$/.test(value)) return 'must be an https URL';
  return null;
}

const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

function verifiedField(value: unknown, fail: Fail): void {
  if (value === undefined) return;
  if (!isRecord(value)) fail('verified', 'must be { source, date }');
  const { source, date, ...rest } = value as Record<string, unknown>;
  for (const k of Object.keys(rest)) fail(`verified.${k}`, 'is not a verified field');
  if (typeof source !== 'string' || !/^https:\/\/[^\s]+$/.test(source)) fail('verified.source', 'must be an https URL');
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) fail('verified.date', 'must be a date YYYY-MM-DD');
}

function stringMap(value: unknown, at: string, fail: Fail, keys: RegExp = /^.+$/): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value) || !Object.entries(value).every(([k, v]) => typeof v === 'string' && keys.test(k))) fail(at, 'must map names to strings');
  return value as Record<string, string>;
}

function postConnectionField(value: unknown, fail: Fail): { url: string; headers?: Record<string, string>; connection_config: Record<string, string> } | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) fail('post_connection', 'must be { url, method?, headers?, connection_config }');
  const { url, method, headers, connection_config, ...rest } = value as Record<string, unknown>;
  for (const k of Object.keys(rest)) fail(`post_connection.${k}`, 'is not a post_connection field');
  if (typeof url !== 'string' || url.length === 0) fail('post_connection.url', 'is missing');
  if (method !== undefined && method !== 'GET' && method !== 'POST') fail('post_connection.method', 'must be GET or POST');
  const h = stringMap(headers, 'post_connection.headers', fail, HEADER_NAME);
  const picks = stringMap(connection_config, 'post_connection.connection_config', fail, FIELD_NAME) ?? fail('post_connection.connection_config', 'is missing: name the values to keep');
  if (Object.keys(picks).length === 0) fail('post_connection.connection_config', 'must name at least one value');
  return { url: url as string, ...(h && { headers: h }), connection_config: picks };
}

function credentials(mode: string, value: unknown, fail: Fail): Set<string> {
  const required = REQUIRED_CREDENTIALS[mode];
  if (!required) return new Set();
  if (!isRecord(value)) fail('credentials', `is missing: ${mode} templates declare ${required.join(', ')}`);
  const fields = value as Record<string, unknown>;
  for (const r of required) if (!Object.hasOwn(fields, r)) fail('credentials', `must declare "${r}"`);
  for (const [key, field] of Object.entries(fields)) {
    const at = `credentials.${key}`;
    if (!FIELD_NAME.test(key)) fail(at, 'must be a plain name');
    if (!isRecord(field)) fail(at, 'must be { title, description?, pattern?, example?, secret? }');
    const { title, description, pattern, example, secret, ...rest } = field as Record<string, unknown>;
    for (const k of Object.keys(rest)) fail(`${at}.${k}`, 'is not a credential field');
    if (typeof title !== 'string' || title.length === 0) fail(`${at}.title`, 'is missing');
    if (description !== undefined && typeof description !== 'string') fail(`${at}.description`, 'must be a string');
    if (pattern !== undefined) checkPattern(pattern, `${at}.pattern`, fail);
    if (example !== undefined && typeof example !== 'string') fail(`${at}.example`, 'must be a string');
    if (secret !== undefined && typeof secret !== 'boolean') fail(`${at}.secret`, 'must be true or false');
  }
  return new Set(Object.keys(fields));
}

const TOKEN_PATH = /^[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$/;
/** Nested JSON bodies stop here: deeper is a mistake, not a provider. */
const MAX_PARAM_DEPTH = 4;

/**
 * The TWO_STEP fields: the token request (method, headers, body) and where its answer holds the
 * token. Returns the texts whose placeholders the caller checks against inputs and credentials.
 */
function twoStepFields(data: Record<string, unknown>, credentialFields: Set<string>, fail: Fail): string[] {
  if (credentialFields.size === 0) fail('credentials', 'must declare at least one field the end user types');
  const url = data.token_url as string;
  if (url.includes('${credentials.')) fail('token_url', 'must not contain credentials (they go in token_params or token_headers, never in a URL)');
  const method = data.token_request_method;
  if (method !== undefined && method !== 'POST' && method !== 'GET' && method !== 'PUT') fail('token_request_method', 'must be POST, GET or PUT');
  const headers = stringMap(data.token_headers, 'token_headers', fail, HEADER_NAME) ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (RESERVED_PROXY_HEADERS.test(name) || /[\r\n\0]/.test(value)) fail(`token_headers.${name}`, 'is not a header a template may set');
  }
  const texts = Object.values(headers).map((v) => v.replace(/\$\{base64\((.*?)\)\}/g, '$1'));
  const params = data.token_params;
  const leaves = (value: unknown, at: string, depth: number): void => {
    if (typeof value === 'string') {
      texts.push(value.replace(/\$\{base64\((.*?)\)\}/g, '$1'));
      return;
    }
    if (!isRecord(value) || depth > MAX_PARAM_DEPTH) fail(at, 'must map names to strings (or, in a JSON body, to objects of strings)');
    if (depth > 0 && data.body_format === 'form') fail(at, 'must be a string: a form body does not nest');
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) leaves(v, `${at}.${k}`, depth + 1);
  };
  if (params !== undefined) leaves(params, 'token_params', 0);
  if (params === undefined && Object.keys(headers).length === 0) fail('token_params', 'or token_headers must carry the credentials');
  const response = data.token_response;
  if (!isRecord(response)) fail('token_response', 'must be { token, token_expiration?, token_expiration_strategy?, expires_in? }');
  const { token, token_expiration, token_expiration_strategy, expires_in, ...rest } = response as Record<string, unknown>;
  for (const k of Object.keys(rest)) fail(`token_response.${k}`, 'is not a token_response field');
  for (const [k, v] of Object.entries({ token, token_expiration, expires_in })) {
    if ((v !== undefined || k === 'token') && (typeof v !== 'string' || !TOKEN_PATH.test(v))) fail(`token_response.${k}`, 'must be a dot-path (access_token, data.token)');
  }
  if (token_expiration_strategy !== undefined && token_expiration_strategy !== 'expireAt' && token_expiration_strategy !== 'expireIn') fail('token_response.token_expiration_strategy', 'must be expireAt or expireIn');
  if (token_expiration !== undefined && expires_in !== undefined) fail('token_response', 'names the expiry twice (token_expiration and expires_in)');
  const ms = data.token_expires_in_ms;
  if (ms !== undefined && (!Number.isInteger(ms) || (ms as number) < 1000)) fail('token_expires_in_ms', 'must be a whole number of milliseconds, at least 1000');
  return texts;
}

function checkPattern(pattern: unknown, at: string, fail: Fail): void {
  if (typeof pattern !== 'string') fail(at, 'must be a string');
  try {
    new RegExp(pattern as string, 'u');
  } catch {
    fail(at, 'is not a valid regular expression');
  }
}
