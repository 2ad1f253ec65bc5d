/**
 * Which connection config inputs decide a template's hosts. Self-managed products (GitLab,
 * Keycloak, Jira Data Center) take the whole host from the end user; an end user could then
 * point the token request, and the integration's client secret with it, at a host of theirs.
 */
import type { ProviderTemplate } from './schema.ts';

const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;
const PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}/g;
/** A host no template pins: an input whose pattern accepts it can name any host at all. */
const PROBE_HOST = 'keyway-probe.example';

/** The URLs of a template Keyway sends a browser to or requests itself. */
export function templateUrls(t: ProviderTemplate): string[] {
  switch (t.auth_mode) {
    case 'OAUTH2':
      return [t.authorization_url, t.token_url, ...(t.refresh_url ? [t.refresh_url] : [])];
    case 'OAUTH2_CC':
    case 'TWO_STEP':
      return [t.token_url];
    default:
      return t.verification ? [t.verification.url] : [];
  }
}

const authorityOf = (url: string) => AUTHORITY.exec(url)?.[1] ?? '';

/** The inputs that appear in a host of the template (`host`, `subdomain`): the ones an integration may fix. */
export function hostInputs(t: ProviderTemplate): string[] {
  const names = new Set<string>();
  for (const url of templateUrls(t)) for (const m of authorityOf(url).matchAll(PLACEHOLDER)) names.add(m[1]!);
  return [...names].filter((n) => Object.hasOwn(t.connection_config ?? {}, n));
}

/**
 * The input through which the end user names this URL's whole host, if any: the host ends with
 * a placeholder whose pattern accepts an arbitrary domain. `https://${connectionConfig.host}/...`
 * is such a URL; `https://${connectionConfig.subdomain}.okta.com` (the domain is the template's)
 * and `https://${connectionConfig.accountsServer}` limited by its pattern to Zoho's hosts are not.
 */
export function freeHostInput(t: ProviderTemplate, url: string): string | undefined {
  const host = authorityOf(url).replace(/:\d+$/, '');
  const last = /\$\{connectionConfig\.([A-Za-z0-9_]+)\}$/.exec(host)?.[1];
  const input = last === undefined ? undefined : t.connection_config?.[last];
  if (!input) return undefined;
  return new RegExp(`^(?:${input.pattern})$`, 'u').test(PROBE_HOST) ? last : undefined;
}

/** An `allowed_hosts` pattern: a host name or `*.` and a domain, with an optional `:port`. */
export const HOST_PATTERN = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::[0-9]{1,5})?$/;

/**
 * Whether a URL's host (`URL.host`: lower case, port only when not the default) matches one of
 * the patterns. `*.acme.com` matches any name under acme.com, not acme.com itself; a pattern
 * without a port matches the default port only.
 */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : host === p));
}
