import type { Integration } from './types.ts';

/** One input of a connect form: a credential (API key, username, ...) or a connection config input (a subdomain). */
export interface FormField {
  /** `credentials.<name>` or `params.<name>`: unique within the form. */
  readonly id: string;
  readonly name: string;
  readonly kind: 'credential' | 'param';
  readonly title: string;
  readonly description?: string;
  readonly pattern?: string;
  readonly example?: string;
  readonly secret: boolean;
  /** An input the end user may leave empty. */
  readonly optional?: boolean;
  /** The server's limits: 4096 characters for a credential, 255 for a connection config value. */
  readonly maxLength: number;
}

/** Connection config inputs first (they say where: the subdomain), then the credentials. */
export function formFields(integration: Integration): FormField[] {
  const params = Object.entries(integration.connection_config ?? {}).map(
    ([name, f]): FormField => ({
      id: `params.${name}`,
      name,
      kind: 'param',
      title: f.title,
      description: f.description,
      // A choice is checked as an alternation of its escaped values, as the server checks the list.
      pattern: f.pattern ?? (f.enum ? f.enum.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|') : undefined),
      example: f.example ?? f.enum?.[0],
      secret: false,
      ...(f.optional && { optional: true }),
      maxLength: 255,
    }),
  );
  const credentials =
    integration.auth_mode === 'API_KEY' || integration.auth_mode === 'BASIC' || integration.auth_mode === 'TWO_STEP'
      ? Object.entries(integration.credentials ?? {}).map(
          ([name, f]): FormField => ({
            id: `credentials.${name}`,
            name,
            kind: 'credential',
            title: f.title,
            description: f.description,
            pattern: f.pattern,
            example: f.example,
            secret: f.secret,
            maxLength: 4096,
          }),
        )
      : [];
  return [...params, ...credentials];
}

/** What is sent: surrounding spaces of a pasted key are dropped, a password is kept exactly as typed. */
export const cleanValue = (field: FormField, value: string): string => (field.name === 'password' ? value : value.trim());

/** The same checks as the server (required, length, no control character, whole-value pattern); null when valid. */
export function validate(field: FormField, raw: string): string | null {
  const value = cleanValue(field, raw);
  if (value === '') return field.optional ? null : `${field.title} is required.`;
  if (value.length > field.maxLength) return `${field.title} is too long (at most ${field.maxLength} characters).`;
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${field.title} contains characters that are not allowed.`;
  if (field.pattern !== undefined && !matches(field.pattern, value)) {
    return `${field.title} does not have the expected format${field.example && !field.secret ? ` (for example: ${field.example})` : ''}.`;
  }
  return null;
}

/** Anchored like the server does (`^(?:pattern)$`, unicode); a pattern this browser cannot compile is left to the server. */
function matches(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u').test(value);
  } catch {
    return true;
  }
}

/** "Attio (API key)" names the integration; "Attio" is what the user knows. */
export const shortName = (i: Integration): string => i.display_name.replace(/\s*\([^)]*\)$/, '') || i.display_name;

const ACRONYMS: Record<string, string> = { crm: 'CRM', erp: 'ERP', hr: 'HR' };

/** `dev-tools` → `Dev tools`, `crm` → `CRM`. */
export const categoryLabel = (c: string): string => ACRONYMS[c] ?? c.charAt(0).toUpperCase() + c.slice(1).replace(/-(?!commerce)/g, ' ');

/** The integrations an end user can connect here (OAUTH2_CC is backend-only), sorted by name. */
export const userIntegrations = (all: readonly Integration[]): Integration[] =>
  all
    .filter((i) => i.auth_mode === 'OAUTH2' || i.auth_mode === 'API_KEY' || i.auth_mode === 'BASIC' || i.auth_mode === 'TWO_STEP')
    .sort((a, b) => a.display_name.localeCompare(b.display_name));

const fold = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

/** Every word of the query must appear in the name, the key, the provider or a category. */
export function matchesQuery(i: Integration, query: string): boolean {
  const hay = fold([i.display_name, i.unique_key, i.provider, ...i.categories, ...i.categories.map(categoryLabel)].join(' '));
  return fold(query).split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}
