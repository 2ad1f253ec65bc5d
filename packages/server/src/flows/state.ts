
/** Query parameters in Nango's bracket form: `params[subdomain]=acme` -> { subdomain: 'acme' }. */
export function bracketParams(query: URLSearchParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of query) {
    const m = k.startsWith(`${prefix}[`) && k.endsWith(']') ? k.slice(prefix.length + 1, -1) : undefined;
    if (m !== undefined && m.length > 0) out[m] = v;
  }
  return out;
}
