import type { ConnectionConfig } from './types.ts';

const enc = encodeURIComponent;

/** `${host}/oauth/connect/:providerConfigKey?...`: every key and value is percent-encoded, the brackets stay literal. */
export const connectUrl = (
  host: string,
  providerConfigKey: string,
  connectionId: string | undefined,
  credential: [name: 'public_key' | 'connect_session_token', value: string],
  flowId: string,
  origin: string,
  config: ConnectionConfig,
): string => {
  const q: string[] = [];
  const add = (name: string, value: string) => q.push(name + '=' + enc(value));
  if (connectionId) add('connection_id', connectionId);
  add(...credential);
  add('flow_id', flowId);
  add('origin', origin);
  const { params = {}, authorization_params = {}, user_scope } = config;
  for (const k in params) add(`params[${enc(k)}]`, params[k]!);
  for (const k in authorization_params) add(`authorization_params[${enc(k)}]`, String(authorization_params[k]));
  if (user_scope?.length) q.push('user_scope=' + user_scope.map(enc).join(','));
  return `${host}/oauth/connect/${enc(providerConfigKey)}?${q.join('&')}`;
};
