import { createHash, timingSafeEqual } from 'node:crypto';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** Compares two secrets in constant time (hashing first so lengths cannot leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Query parameters in Nango's bracket form: `params[subdomain]=acme` -> { subdomain: 'acme' }. */
export function bracketParams(query: URLSearchParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of query) {
    const m = k.startsWith(`${prefix}[`) && k.endsWith(']') ? k.slice(prefix.length + 1, -1) : undefined;
    if (m !== undefined && m.length > 0) out[m] = v;
  }
  return out;
}
