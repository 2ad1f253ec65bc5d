import { isIP } from 'node:net';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * A provider endpoint must be https; plain http only on loopback (the sandbox, tests).
 * IP literals other than loopback are refused: a provider has a name, and an IP literal in a
 * provider URL is how SSRF to internal services starts.
 */
export function isAllowedProviderUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (isLoopbackHost(url.hostname)) return url.protocol === 'https:' || url.protocol === 'http:';
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return false;
  return url.protocol === 'https:';
}
