import type { AuthMode, ConnectionStatus, EndUser } from './types.ts';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : dateFormat.format(t);
}

/** "in 42 minutes", "3 hours ago". */
export function relative(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const diff = t - now;
  const abs = Math.abs(diff);
  const [n, unit] =
    abs < 60_000 ? [Math.round(abs / 1000), 'second'] : abs < 3_600_000 ? [Math.round(abs / 60_000), 'minute'] : abs < 86_400_000 ? [Math.round(abs / 3_600_000), 'hour'] : [Math.round(abs / 86_400_000), 'day'];
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return diff >= 0 ? `in ${text}` : `${text} ago`;
}

const STATUS_LABELS: Record<ConnectionStatus, string> = {
  ok: 'OK',
  expiring: 'Expiring',
  refresh_failed: 'Refresh failed',
  exhausted: 'Needs reconnect',
};
export const statusLabel = (s: ConnectionStatus): string => STATUS_LABELS[s];

const AUTH_MODE_LABELS: Record<AuthMode, string> = {
  OAUTH2: 'OAuth 2.0',
  OAUTH2_CC: 'OAuth 2.0 client credentials',
  API_KEY: 'API key',
  BASIC: 'Basic (username and password)',
  TWO_STEP: 'Two-step (credentials exchanged for a token)',
};
export const authModeLabel = (m: AuthMode): string => AUTH_MODE_LABELS[m];

/** Whether integrations of this auth mode have the app's client (id, secret, scopes). */
export const hasClient = (m: AuthMode): boolean => m === 'OAUTH2' || m === 'OAUTH2_CC';

const UPPER = new Set(['crm', 'hr', 'erp']);
export function categoryLabel(c: string): string {
  if (UPPER.has(c)) return c.toUpperCase();
  if (c === 'e-commerce') return 'E-commerce';
  const words = c.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function endUserLabel(u: EndUser | null): string {
  if (!u) return '—';
  const name = u.display_name || u.email;
  return name && name !== u.id ? `${name} (${u.id})` : u.id;
}

export const plural = (n: number, one: string, many = one + 's'): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** Lower case without accents, for matching what one types. */
export const fold = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
