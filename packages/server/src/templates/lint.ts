import type { ProviderTemplate } from './schema.ts';

/**
 * What a built-in template must have beyond what the loader accepts (a user's own template may
 * omit these): the provider's docs, where and when its facts were checked, the client
 * authentication method stated (Nango's default is the body, ours would be Basic: neither is
 * assumed), and the API base URL the proxy calls.
 */
export function lintTemplate(t: ProviderTemplate): string[] {
  const problems: string[] = [];
  if (!t.docs) problems.push('`docs` is missing');
  if (!t.verified) problems.push('`verified: { source, date }` is missing');
  if ((t.auth_mode === 'OAUTH2' || t.auth_mode === 'OAUTH2_CC') && t.token_request_auth_method === undefined) {
    problems.push('`token_request_auth_method` must be stated (basic or body)');
  }
  if (t.auth_mode === 'TWO_STEP' && !t.token_response.expires_in && !t.token_response.token_expiration && t.token_expires_in_ms === undefined) {
    problems.push('`token_expires_in_ms` must be stated when the token response gives no expiry (a token that never expires is never obtained again)');
  }
  if (!t.proxy?.base_url) problems.push('`proxy.base_url` is missing');
  return problems;
}
