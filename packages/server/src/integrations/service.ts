import { KeywayError } from '../errors.ts';
import { checkClientCertificate } from '../http/client-certificate.ts';
import { parseConfigKey } from '../ids.ts';
import type { ClientCertificate, Integration, Store } from '../store/types.ts';
import type { TemplateCatalog } from '../templates/catalog.ts';
import { HOST_PATTERN } from '../templates/hosts.ts';
import { inputProblem } from '../templates/validate.ts';
import { requiresClientCertificate, type AuthMode, type ProviderTemplate } from '../templates/schema.ts';

export interface IntegrationInput {
  readonly unique_key?: string;
  readonly provider?: string;
  readonly display_name?: string;
  readonly credentials?: { readonly client_id: string; readonly client_secret: string; readonly scopes: readonly string[] };
  readonly connection_config?: Readonly<Record<string, string>>;
  readonly allowed_hosts?: readonly string[];
  /** Mutual TLS: the app's certificate and key; `null` removes them (an update). */
  readonly client_certificate?: ClientCertificate | null;
}

export interface IntegrationServiceOptions {
  /** The clock certificate expiry is checked against (injected in tests). */
  readonly now?: () => Date;
  /** Told when an integration's client certificate changes or goes (its TLS agent is closed). */
  readonly onClientCertificateChange?: (uniqueKey: string) => void;
}

/** At most this many `allowed_hosts` patterns per integration. */
const MAX_ALLOWED_HOSTS = 100;

/** Integrations: a Config Key bound to a Provider Template and the app's client credentials. */
export class IntegrationService {
  constructor(
    private readonly store: Store,
    private readonly templates: TemplateCatalog,
    private readonly options: IntegrationServiceOptions = {},
  ) {}

  list(): Promise<Integration[]> {
    return this.store.listIntegrations();
  }

  async get(uniqueKey: string): Promise<Integration> {
    const integration = await this.store.getIntegration(uniqueKey);
    if (!integration) throw new KeywayError('unknown_provider_config', `There is no integration "${uniqueKey}"`);
    return integration;
  }

  /** The template of an integration; undefined when either is gone. */
  async templateOf(uniqueKey: string): Promise<ProviderTemplate | undefined> {
    const integration = await this.store.getIntegration(uniqueKey);
    return integration && this.templates.get(integration.provider);
  }

  /** The integration and its template; the template must still exist. */
  async withTemplate<M extends AuthMode>(uniqueKey: string, ...modes: M[]): Promise<{ integration: Integration; template: Extract<ProviderTemplate, { auth_mode: M }> }> {
    const integration = await this.get(uniqueKey);
    const template = this.templates.get(integration.provider);
    if (!template) throw new KeywayError('unknown_provider_template', `The integration "${uniqueKey}" uses the template "${integration.provider}", which is no longer installed`);
    if (!(modes as string[]).includes(template.auth_mode)) {
      throw new KeywayError('wrong_auth_mode', `The integration "${uniqueKey}" is ${template.auth_mode}; this needs ${modes.join(' or ')}`);
    }
    return { integration, template: template as Extract<ProviderTemplate, { auth_mode: M }> };
  }

  async create(input: IntegrationInput): Promise<Integration> {
    const uniqueKey = parseConfigKey(input.unique_key);
    const template = this.#template(input.provider);
    // OAuth 2.0 needs the app's client; API-key and Basic templates have none; client credentials may come per connection.
    if (!input.credentials && template.auth_mode === 'OAUTH2') {
      throw new KeywayError('invalid_body', `credentials (client_id, client_secret) are required for the OAUTH2 template "${template.name}"`);
    }
    if (await this.store.getIntegration(uniqueKey)) {
      throw new KeywayError('duplicate_provider_config', `An integration "${uniqueKey}" already exists`);
    }
    const now = new Date().toISOString();
    const integration: Integration = {
      unique_key: uniqueKey,
      provider: template.name,
      display_name: input.display_name ?? template.display_name,
      client_id: input.credentials?.client_id ?? '',
      client_secret: input.credentials?.client_secret ?? '',
      scopes: input.credentials?.scopes ?? [],
      ...hostSettings(template, input),
      ...this.#certificate(template, input),
      created_at: now,
      updated_at: now,
    };
    await this.store.putIntegration(integration);
    return integration;
  }

  async update(uniqueKey: string, input: IntegrationInput): Promise<Integration> {
    const current = await this.get(uniqueKey);
    const template = this.templates.get(current.provider);
    if (input.provider !== undefined && input.provider !== current.provider) {
      throw new KeywayError('invalid_body', 'The provider of an integration cannot change; create another integration');
    }
    if (input.unique_key !== undefined && input.unique_key !== uniqueKey) {
      // A rename would re-key every connection's encrypted credentials; not supported yet.
      throw new KeywayError('invalid_body', 'Renaming an integration (unique_key) is not supported');
    }
    const updated: Integration = {
      ...(input.client_certificate === null ? withoutCertificate(current) : current),
      display_name: input.display_name ?? current.display_name,
      ...(input.credentials && {
        client_id: input.credentials.client_id,
        client_secret: input.credentials.client_secret,
        scopes: input.credentials.scopes,
      }),
      ...(template && hostSettings(template, input)),
      ...(template && this.#certificate(template, input)),
      updated_at: new Date().toISOString(),
    };
    await this.store.putIntegration(updated);
    if (input.client_certificate !== undefined) this.options.onClientCertificateChange?.(uniqueKey);
    return updated;
  }

  async delete(uniqueKey: string): Promise<void> {
    if (!(await this.store.deleteIntegration(uniqueKey))) {
      throw new KeywayError('unknown_provider_config', `There is no integration "${uniqueKey}"`);
    }
    this.options.onClientCertificateChange?.(uniqueKey);
  }

  /** The given client certificate, checked (parses, key matches, not expired); only templates that require mutual TLS take one. */
  #certificate(template: ProviderTemplate, input: IntegrationInput): Pick<Integration, 'client_certificate'> {
    const given = input.client_certificate;
    if (given === undefined || given === null) return {};
    if (!requiresClientCertificate(template)) {
      throw new KeywayError('invalid_client_certificate', `The template "${template.name}" does not use a TLS client certificate (only templates with client_certificate: true do)`);
    }
    checkClientCertificate(given, this.options.now?.() ?? new Date());
    return { client_certificate: { certificate: given.certificate, private_key: given.private_key } };
  }

  #template(name: string | undefined): ProviderTemplate {
    if (!name) throw new KeywayError('invalid_body', '`provider` (a Provider Template name) is required');
    const template = this.templates.get(name);
    if (!template) throw new KeywayError('invalid_body', `"${name}" is not a Provider Template; GET /providers lists them`);
    return template;
  }
}

const withoutCertificate = ({ client_certificate: _removed, ...rest }: Integration): Integration => rest;

/**
 * The integration's fixed connection config (declared inputs, each matching its pattern) and its
 * allowed host patterns, as given; absent ones are left out (an update keeps the current ones).
 */
function hostSettings(template: ProviderTemplate, input: IntegrationInput): Pick<Integration, 'connection_config' | 'allowed_hosts'> {
  const out: { connection_config?: Record<string, string>; allowed_hosts?: string[] } = {};
  if (input.connection_config !== undefined) {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(input.connection_config)) {
      const declared = template.connection_config?.[key];
      if (!declared || !Object.hasOwn(template.connection_config!, key)) throw new KeywayError('invalid_body', `"${key}" is not a connection config input of ${template.name}`);
      // The input's own check (enum, pattern, format): an enum-only input has no pattern to test.
      const problem = typeof value === 'string' ? inputProblem(declared, value) : 'must be a string';
      if (problem !== null) throw new KeywayError('invalid_body', `connection_config.${key} ${problem}`);
      config[key] = value;
    }
    out.connection_config = config;
  }
  if (input.allowed_hosts !== undefined) {
    if (input.allowed_hosts.length > MAX_ALLOWED_HOSTS) throw new KeywayError('invalid_body', `allowed_hosts holds at most ${MAX_ALLOWED_HOSTS} patterns`);
    const hosts = input.allowed_hosts.map((h) => h.trim().toLowerCase());
    const bad = hosts.find((h) => h.length > 260 || !HOST_PATTERN.test(h));
    if (bad !== undefined) throw new KeywayError('invalid_body', `allowed_hosts: "${bad}" is not a host pattern like gitlab.acme.com, *.acme.com or gitlab.acme.com:8443`);
    out.allowed_hosts = [...new Set(hosts)];
  }
  return out;
}
