/**
 * Fresh tokens kept in memory (opt-in: `cache` in NangoOptions), so a backend that calls getToken on
 * every request does not pay a round trip each time. An entry lives until its token nears expiry
 * (the server's refresh margin, 5 minutes, or half the token's remaining life if shorter) or for
 * `maxAgeMs`, whichever comes first; tokens without an expiry are not cached (nothing says when they
 * stop working). Nothing here learns of a change made elsewhere: that staleness is the price.
 */
const MARGIN_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

export class TokenCache<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();

  constructor(private readonly maxAgeMs = Infinity) {}

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, expiresAt: string | undefined, now = Date.now()): void {
    const expires = expiresAt === undefined ? NaN : Date.parse(expiresAt);
    if (!Number.isFinite(expires)) return;
    const until = Math.min(expires - Math.min(MARGIN_MS, (expires - now) / 2), now + this.maxAgeMs);
    if (until <= now) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!); // oldest first
    this.#entries.set(key, { value, until });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
