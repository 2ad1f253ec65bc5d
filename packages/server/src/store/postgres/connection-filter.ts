import { EXHAUSTED_AFTER_DAYS, EXPIRING_WITHIN_MS } from '../status.ts';
import type { ConnectionFilter } from '../types.ts';

/** ORDER of lists: status.ts compareConnections (created_at, then connection id and config key in the ICU root collation). */
export const LIST_ORDER = 'created_at, connection_id COLLATE "und-x-icu", provider_config_key COLLATE "und-x-icu"';

/**
 * A list filter as SQL: the WHERE condition over keyway_connections and the parameters it numbers
 * ($1...), then the page's LIMIT and OFFSET parameters. Mirrors status.ts (matchesSearch,
 * connectionStatus) so both stores select the same connections.
 */
export function connectionFilterSql(filter: ConnectionFilter, now: number): { condition: string; limit: string; offset: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (filter.provider_config_key !== undefined) where.push(`provider_config_key = ${p(filter.provider_config_key)}`);
  if (filter.connection_id !== undefined) where.push(`connection_id = ${p(filter.connection_id)}`);
  if (filter.end_user_id !== undefined) where.push(`end_user ->> 'id' = ${p(filter.end_user_id)}`);
  // Tags live in other_fields (no column, no migration); containment matches every given tag.
  if (filter.tags !== undefined) where.push(`other_fields -> 'tags' @> ${p(JSON.stringify(filter.tags))}::jsonb`);
  if (filter.search !== undefined) {
    // status.ts matchesSearch: a substring, any case (ICU lower-casing, as JavaScript's toLowerCase).
    const needle = p(filter.search.toLowerCase());
    const fields = ['connection_id', "end_user ->> 'id'", "end_user ->> 'email'", "end_user ->> 'display_name'"];
    where.push(`(${fields.map((f) => `strpos(lower((${f}) COLLATE "und-x-icu"), ${needle}) > 0`).join(' OR ')})`);
  }
  if (filter.status !== undefined) {
    // status.ts connectionStatus, as predicates (the "expiring" one can use its index).
    switch (filter.status) {
      case 'exhausted':
      case 'refresh_failed': {
        const days = p(EXHAUSTED_AFTER_DAYS);
        where.push(`last_refresh_failure IS NOT NULL AND jsonb_array_length(last_refresh_failure -> 'days') ${filter.status === 'exhausted' ? '>=' : '<'} ${days}`);
        break;
      }
      case 'expiring':
      case 'ok': {
        const soon = p(new Date(now + EXPIRING_WITHIN_MS).toISOString());
        where.push(filter.status === 'expiring'
          ? `last_refresh_failure IS NULL AND expires_at < ${soon}::timestamptz`
          : `last_refresh_failure IS NULL AND (expires_at IS NULL OR expires_at >= ${soon}::timestamptz)`);
        break;
      }
      default:
        where.push('false');
    }
  }
  const condition = where.length > 0 ? where.join(' AND ') : 'true';
  const limit = p(Math.max(0, filter.limit));
  const offset = p(Math.max(0, filter.offset));
  return { condition, limit, offset, params };
}
