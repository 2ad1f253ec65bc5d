import { compareRefreshOrder, obtainedAt, refreshCursor, refreshStale } from './status.ts';
import type { Connection, RefreshDueBatch, RefreshDueQuery } from './types.ts';

/**
 * Background refresh's in-memory index for the JSON store: the connections that hold a refresh
 * token, each with when its credentials were obtained. A pass looks only at these, and only at those
 * obtained before its cutoff; the store keeps the index in step with every change.
 */
export class RefreshIndex {
  /** By config key, then connection id (user-chosen ids are never object keys). */
  readonly #byKey = new Map<string, Map<string, { readonly since: number; readonly rec: Connection }>>();

  /** Records the connection as it is now (or forgets it when it holds no refresh token). */
  set(c: Connection): void {
    const group = this.#byKey.get(c.provider_config_key);
    if (c.credentials.type !== 'OAUTH2' || !c.credentials.refresh_token) {
      group?.delete(c.connection_id);
      return;
    }
    if (group) group.set(c.connection_id, { since: Date.parse(obtainedAt(c)), rec: c });
    else this.#byKey.set(c.provider_config_key, new Map([[c.connection_id, { since: Date.parse(obtainedAt(c)), rec: c }]]));
  }

  delete(providerConfigKey: string, connectionId?: string): void {
    if (connectionId === undefined) this.#byKey.delete(providerConfigKey);
    else this.#byKey.get(providerConfigKey)?.delete(connectionId);
  }

  due({ obtainedBefore, now, after, limit }: RefreshDueQuery): RefreshDueBatch {
    const due: { rec: Connection; at: ReturnType<typeof refreshCursor> }[] = [];
    for (const group of this.#byKey.values()) {
      for (const { since, rec } of group.values()) {
        if (!(since < obtainedBefore) || !refreshStale(rec, obtainedBefore, now)) continue;
        const at = refreshCursor(rec);
        if (!after || compareRefreshOrder(at, after) > 0) due.push({ rec, at });
      }
    }
    const batch = due.sort((x, y) => compareRefreshOrder(x.at, y.at)).slice(0, Math.max(0, limit));
    return { connections: batch.map((d) => d.rec), next: batch.length > 0 && due.length > batch.length ? batch.at(-1)!.at : null };
  }
}
