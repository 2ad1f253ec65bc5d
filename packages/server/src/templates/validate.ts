import { CATEGORIES, type ConnectionConfigInput, type ProviderTemplate } from './schema.ts';
import { isAllowedProviderUrl } from './urls.ts';

const PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const URL_FIELDS = ['authorization_url', 'token_url', 'refresh_url'] as const;
const ALLOWED_FIELDS = new Set([
  'display_name', 'categories', 'docs', 'auth_mode', 'authorization_url', 'token_url', 'refresh_url', 'issuer',
  'scope_separator', 'default_scopes', 'authorization_params', 'token_params', 'pkce', 'token_request_auth_method',
  'connection_config', 'token_response_metadata', 'redirect_uri_metadata', 'token_expiration_buffer', 'default_expires_in',
]);

/** Turns parsed JSON into a ProviderTemplate, or throws one message naming the field at fault. */
export function validateTemplate(name: string, data: unknown): ProviderTemplate {
  const fail = (field: string, problem: string): never => {
    throw new Error(`field \`${field}\` ${problem}`);
  };
  if (!NAME.test(name)) throw new Error(`the template name "${name}" must match ${NAME}`);
  if (!isRecord(data)) throw new Error('a template must be a JSON object');
  for (const key of Object.keys(data)) if (!ALLOWED_FIELDS.has(key)) fail(key, 'is not a template field');

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
  for (const c of categories) {
    if (!(CATEGORIES as readonly string[]).includes(c)) fail('categories', `has "${c}", not one of: ${CATEGORIES.join(', ')}`);
  }
  const docs = str('docs')!;
  if (!/^https:\/\//.test(docs)) fail('docs', 'must be an https URL');
  if (data.auth_mode !== 'OAUTH2') fail('auth_mode', data.auth_mode === undefined ? 'is missing' : 'must be "OAUTH2"');
  if (data.pkce !== undefined && typeof data.pkce !== 'boolean') fail('pkce', 'must be true or false');
  const method = data.token_request_auth_method;
  if (method !== undefined && method !== 'basic' && method !== 'body') fail('token_request_auth_method', 'must be "basic" or "body"');
  str('scope_separator', false);
  str('issuer', false);
  strList('default_scopes');
  strList('token_response_metadata');
  strList('redirect_uri_metadata');
  const authorizationParams = strMap('authorization_params');
  for (const field of ['token_expiration_buffer', 'default_expires_in']) {
    const v = data[field];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) <= 0)) fail(field, 'must be a positive whole number of seconds');
  }
  strMap('token_params');

  const inputs = connectionConfigInputs(data.connection_config, fail);
  for (const field of URL_FIELDS) {
    const url = str(field, field === 'refresh_url' ? false : true);
    if (url === undefined) continue;
    // Check the URL with every placeholder filled by its example, so a template cannot smuggle a
    // scheme or host through an input.
    if (!isAllowedProviderUrl(url.replace(PLACEHOLDER, (_, k: string) => inputs[k]?.example ?? 'example'))) {
      fail(field, 'must be an https URL (http only for loopback hosts)');
    }
  }
  const placeholders = [...URL_FIELDS.map((f) => data[f]), ...Object.values(authorizationParams ?? {})]
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => [...v.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  for (const key of placeholders) {
    if (!Object.hasOwn(inputs, key)) fail('connection_config', `must declare "${key}" (used as \${connectionConfig.${key}})`);
  }
  return Object.freeze({ ...(data as unknown as Omit<ProviderTemplate, 'name'>), name });
}

function connectionConfigInputs(value: unknown, fail: (f: string, p: string) => never): Record<string, ConnectionConfigInput> {
  if (value === undefined) return {};
  if (!isRecord(value)) fail('connection_config', 'must be an object of inputs');
  const inputs: Record<string, ConnectionConfigInput> = Object.create(null);
  for (const [key, input] of Object.entries(value as Record<string, unknown>)) {
    const at = `connection_config.${key}`;
    if (!/^[A-Za-z0-9_]+$/.test(key)) fail(at, 'must be a plain name');
    if (!isRecord(input)) fail(at, 'must be an object');
    const { title, pattern, description, example } = input as Record<string, unknown>;
    if (typeof title !== 'string') fail(`${at}.title`, 'is missing');
    if (typeof pattern !== 'string') fail(`${at}.pattern`, 'is missing');
    try {
      new RegExp(pattern as string, 'u');
    } catch {
      fail(`${at}.pattern`, 'is not a valid regular expression');
    }
    if (description !== undefined && typeof description !== 'string') fail(`${at}.description`, 'must be a string');
    if (example !== undefined && typeof example !== 'string') fail(`${at}.example`, 'must be a string');
    inputs[key] = input as unknown as ConnectionConfigInput;
  }
  return inputs;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
