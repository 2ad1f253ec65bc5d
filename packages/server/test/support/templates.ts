/**
 * Provider Templates the tests share, as the JSON a `KEYWAY_TEMPLATES_DIR` file would hold: an OAuth2
 * template (on a test provider's URLs, or on example.com where the flow never reaches the provider), and
 * one whose hosts come from a subdomain input.
 */
export const oauthTemplate = (display_name: string, fields: Record<string, unknown> = {}) => ({
  display_name,
  categories: ['other'],
  docs: 'https://example.com/docs',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://example.com/authorize',
  token_url: 'https://example.com/token',
  token_request_auth_method: 'body',
  ...fields,
});

/** An OAuth2 template on a provider served at `url` (the fake provider's /authorize and /token). */
export const providerTemplate = (url: string, fields: Record<string, unknown> = {}) =>
  oauthTemplate('Fake', { authorization_url: `${url}/authorize`, token_url: `${url}/token`, ...fields });

/** `https://<subdomain>.example.com`: the subdomain is an input the end user gives. */
export const tenantTemplate = (subdomain: Record<string, unknown> = { title: 'Subdomain', pattern: '[a-z0-9-]{1,63}', example: 'acme' }) =>
  oauthTemplate('Tenant', {
    authorization_url: 'https://${connectionConfig.subdomain}.example.com/authorize',
    token_url: 'https://${connectionConfig.subdomain}.example.com/token',
    connection_config: { subdomain },
  });

/** Acme, the OAuth2 template the validation tests start from; an `undefined` in `fields` removes that field. */
export const acmeTemplate = (fields: Record<string, unknown> = {}) =>
  Object.fromEntries(
    Object.entries(
      oauthTemplate('Acme', {
        docs: 'https://acme.example.com/docs',
        authorization_url: 'https://acme.example.com/authorize',
        token_url: 'https://acme.example.com/token',
        ...fields,
      }),
    ).filter(([, v]) => v !== undefined),
  );

/** Sets `value` at a dot-path of `target`, making the objects on the way (a provider answer shaped as a template reads it). */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = target;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}
