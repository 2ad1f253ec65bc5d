import { randomUUID } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { parseImportedCredentials } from '../connections/import.ts';
import { withFixedInputs } from '../integrations/host-policy.ts';
import { validateConnectionConfig } from '../templates/interpolate.ts';
import type { ProviderTemplate } from '../templates/schema.ts';
import type { ConnectionService } from '../connections/service.ts';
import { parseMetadata } from '../connections/metadata.ts';
import { KeywayError } from '../errors.ts';
import { bodyOf, booleanParam, configKeyParam, intParam, optionalString, queryOf } from '../http/request.ts';
import { parseConfigKey, parseConnectionId } from '../ids.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import type { IntegrationInput, IntegrationService } from '../integrations/service.ts';
import { connectClientCredentials } from '../flows/client-credentials.ts';
import type { ConnectSessionInput, ConnectSessionService, ReconnectSessionInput } from '../sessions/service.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import type { ConnectionStatus } from '../store/status.ts';
import type { TemplateCatalog } from '../templates/catalog.ts';
import { isRecord } from '../primitives.ts';
import { endUserFromTags, parseTags } from '../connections/tags.ts';
import { bracketParams } from '../flows/state.ts';
import type { ClientCertificate, EndUser, Integration } from '../store/types.ts';
import { MAX_PEM_LENGTH } from '../http/client-certificate.ts';
import { apiConnection, apiConnectionSummary, apiIntegration, apiProvider } from './wire.ts';

/** The backend API (Nango's paths and shapes), behind the secret key. Mounted first: it is the hot path (getToken). */
export function apiRoutes(deps: {
  templates: TemplateCatalog;
  integrations: IntegrationService;
  connections: ConnectionService;
  sessions: ConnectSessionService;
  events: AuthEventSink;
  providerTimeoutMs: number;
  outbound: OutboundFetch;
  /** Body parsing and the secret-key check, run for the API's paths only. */
  guard: RequestHandler[];
}): Router {
  const { templates, integrations, connections, sessions } = deps;
  const r = Router();
  r.use(['/providers', '/integrations', '/connections', '/connect/sessions', '/auth/oauth2-cc'], ...deps.guard);

  r.post('/auth/oauth2-cc/:providerConfigKey', async (req, res) => {
    const body = bodyOf(req);
    const clientId = optionalString(body, 'client_id', 1024);
    const clientSecret = optionalString(body, 'client_secret', 4096);
    if ((clientId === undefined) !== (clientSecret === undefined)) throw new KeywayError('invalid_body', 'Give both client_id and client_secret, or neither (the integration\'s are used)');
    const config = body.connection_config ?? {};
    if (!isRecord(config) || !Object.values(config).every((v) => typeof v === 'string')) throw new KeywayError('invalid_body', '`connection_config` must map names to strings');
    const scopes = optionalString(body, 'scopes', 4096);
    const result = await connectClientCredentials(
      {
        providerConfigKey: parseConfigKey(req.params.providerConfigKey),
        connectionId: parseConnectionId(body.connection_id),
        ...(clientId !== undefined && { client: { client_id: clientId, client_secret: clientSecret! } }),
        ...(scopes !== undefined && { scopes: scopes.split(',').map((s) => s.trim()).filter(Boolean) }),
        connectionConfig: Object.fromEntries(Object.entries(config as Record<string, string>)),
        endUser: null,
      },
      deps,
    );
    res.json(result);
  });

  r.post('/connect/sessions', async (req, res) => {
    const session = await sessions.create(connectSessionInput(bodyOf(req)));
    res.status(201).json({ data: session });
  });
  // Nango's reconnect sessions: the only way a browser flow replaces an existing connection's credentials.
  r.post('/connect/sessions/reconnect', async (req, res) => {
    const session = await sessions.createReconnect(reconnectSessionInput(bodyOf(req)));
    res.status(201).json({ data: session });
  });

  r.get('/providers', (req, res) => {
    const search = (queryOf(req).get('search') ?? '').toLowerCase();
    const list = templates.list().filter((t) => !search || t.name.includes(search) || t.display_name.toLowerCase().includes(search));
    res.json({ data: list.map(apiProvider) });
  });
  r.get('/providers/:provider', (req, res) => {
    const template = templates.get(req.params.provider);
    if (!template) throw new KeywayError('unknown_provider_template', `There is no Provider Template "${req.params.provider}"`);
    res.json({ data: apiProvider(template) });
  });

  r.get('/integrations', async (_req, res) => {
    res.json({ data: (await integrations.list()).map((i) => apiIntegration(i)) });
  });
  r.post('/integrations', async (req, res) => {
    const integration = await integrations.create(integrationInput(bodyOf(req)));
    res.json({ data: apiIntegration(integration) });
  });
  r.get('/integrations/:uniqueKey', async (req, res) => {
    const include = queryOf(req).getAll('include').flatMap((v) => v.split(','));
    const integration = await integrations.get(parseConfigKey(req.params.uniqueKey));
    res.json({ data: apiIntegration(integration, { credentials: include.includes('credentials'), webhook: include.includes('webhook') }) });
  });
  r.patch('/integrations/:uniqueKey', async (req, res) => {
    const integration = await integrations.update(parseConfigKey(req.params.uniqueKey), integrationInput(bodyOf(req)));
    res.json({ data: apiIntegration(integration) });
  });
  r.delete('/integrations/:uniqueKey', async (req, res) => {
    await integrations.delete(parseConfigKey(req.params.uniqueKey));
    res.json({ success: true });
  });

  r.get('/connections', async (req, res) => {
    const q = queryOf(req);
    const limit = intParam(q, 'limit', 100, 1, 1000);
    const integrationId = q.get('integrationId') || undefined;
    const status = q.get('status') || undefined;
    if (status !== undefined && !STATUSES.includes(status as ConnectionStatus)) throw new KeywayError('invalid_query_params', `\`status\` must be one of ${STATUSES.join(', ')}`);
    const tagFilter = tagsQuery(q);
    const { connections: page, total } = await connections.list({
      ...(integrationId !== undefined && { provider_config_key: integrationId }),
      ...(q.get('connectionId') && { connection_id: q.get('connectionId')! }),
      ...(q.get('search') && { search: q.get('search')! }),
      ...(q.get('endUserId') && { end_user_id: q.get('endUserId')! }),
      ...(tagFilter !== undefined && { tags: tagFilter }),
      ...(status !== undefined && { status: status as ConnectionStatus }),
      limit,
      offset: intParam(q, 'page', 0, 0, 1_000_000) * limit,
    });
    // `total` and each summary's `status` / `expires_at` are Keyway's additions to Nango's shape.
    res.json({ connections: page.map(apiConnectionSummary), total });
  });

  // Nango's POST /connections: credentials obtained elsewhere (another broker, an older system) stored as a connection.
  r.post('/connections', async (req, res) => {
    const body = bodyOf(req);
    const providerConfigKey = parseConfigKey(body.provider_config_key);
    const integration = await integrations.get(providerConfigKey);
    const template = await integrations.templateOf(providerConfigKey);
    if (!template) throw new KeywayError('unknown_provider_template', `The integration "${providerConfigKey}" has no installed template`);
    const config = importedConnectionConfig(body.connection_config, template, integration);
    const { connection } = await connections.upsert({
      providerConfigKey,
      connectionId: body.connection_id === undefined ? randomUUID() : parseConnectionId(body.connection_id),
      provider: template.name,
      credentials: parseImportedCredentials(body.credentials, template),
      connectionConfig: config,
      endUser: body.end_user === undefined ? null : endUserInput(body.end_user),
      ...(body.metadata !== undefined && { metadata: parseMetadata(body.metadata) }),
      ...(body.tags !== undefined && { tags: parseTags(body.tags) }),
    });
    res.status(201).json(apiConnection(connection, false));
  });

  const metadataRoute = (merge: boolean) => async (req: Request, res: Response) => {
    const body = bodyOf(req);
    const providerConfigKey = parseConfigKey(body.provider_config_key);
    const ids = Array.isArray(body.connection_id) ? body.connection_id : [body.connection_id];
    if (ids.length === 0 || ids.length > 100) throw new KeywayError('invalid_body', '`connection_id` must be one id or a list of 1 to 100 ids');
    const connectionIds = ids.map(parseConnectionId);
    const metadata = parseMetadata(body.metadata);
    await connections.writeMetadata(providerConfigKey, connectionIds, metadata, merge);
    res.json({ connection_id: body.connection_id, provider_config_key: providerConfigKey, metadata });
  };
  r.post('/connections/metadata', metadataRoute(false));
  r.patch('/connections/metadata', metadataRoute(true));

  r.get('/connections/:connectionId', async (req, res) => {
    const q = queryOf(req);
    const connection = await connections.getFresh(configKeyParam(q), parseConnectionId(req.params.connectionId), booleanParam(q, 'force_refresh'));
    res.json(apiConnection(connection, booleanParam(q, 'refresh_token')));
  });
  // Nango's PATCH /connections/:connectionId: the end user and the tags, nothing else.
  r.patch('/connections/:connectionId', async (req, res) => {
    const body = bodyOf(req);
    for (const key of Object.keys(body)) {
      if (key !== 'end_user' && key !== 'tags') throw new KeywayError('invalid_body', `\`${key}\` cannot be changed here (only end_user and tags)`);
    }
    await connections.patch(configKeyParam(queryOf(req)), parseConnectionId(req.params.connectionId), {
      ...(body.end_user !== undefined && { end_user: endUserInput(body.end_user) }),
      ...(body.tags !== undefined && { tags: parseTags(body.tags) }),
    });
    res.json({ success: true });
  });
  r.delete('/connections/:connectionId', async (req, res) => {
    await connections.delete(configKeyParam(queryOf(req)), parseConnectionId(req.params.connectionId));
    res.json({ success: true });
  });
  return r;
}

/**
 * An imported connection's config: the template's inputs checked as a flow checks them (patterns, the
 * integration's fixed values: they decide where the client secret goes), anything else (values a
 * provider's token response left, as Nango keeps them) kept as given.
 */
function importedConnectionConfig(given: unknown, template: ProviderTemplate, integration: Integration): Record<string, unknown> {
  const config = given ?? {};
  if (!isRecord(config)) throw new KeywayError('invalid_body', '`connection_config` must be an object');
  const inputs: Record<string, string> = {};
  const rest: Record<string, unknown> = Object.create(null); // a `__proto__` key stays a key
  for (const [key, value] of Object.entries(config)) {
    if (!Object.hasOwn(template.connection_config ?? {}, key)) rest[key] = value;
    else if (typeof value === 'string') inputs[key] = value;
    else throw new KeywayError('invalid_connection_config', `Connection config "${key}" must be a string`);
  }
  return { ...rest, ...validateConnectionConfig(template, withFixedInputs(integration, inputs)) };
}

/** `integrations_config_defaults`: per config key, the connection config the backend fixes. */
function configDefaults(body: Record<string, unknown>): Record<string, { connection_config?: Record<string, string> }> {
  const defaults: Record<string, { connection_config?: Record<string, string> }> = Object.create(null);
  const given = body.integrations_config_defaults;
  if (given === undefined) return defaults;
  if (!isRecord(given)) throw new KeywayError('invalid_body', '`integrations_config_defaults` must map config keys to { connection_config }');
  for (const [key, value] of Object.entries(given)) {
    const config = isRecord(value) ? value.connection_config : undefined;
    if (!isRecord(value) || (config !== undefined && (!isRecord(config) || !Object.values(config).every((v) => typeof v === 'string')))) {
      throw new KeywayError('invalid_body', `\`integrations_config_defaults.${key}\` must be { connection_config: { name: string } }`);
    }
    defaults[parseConfigKey(key)] = config === undefined ? {} : { connection_config: Object.fromEntries(Object.entries(config as Record<string, string>)) };
  }
  return defaults;
}

const STATUSES: readonly ConnectionStatus[] = ['ok', 'expiring', 'refresh_failed', 'exhausted'];


function integrationInput(body: Record<string, unknown>): IntegrationInput {
  const input: { -readonly [K in keyof IntegrationInput]: IntegrationInput[K] } = {};
  const uniqueKey = optionalString(body, 'unique_key', 100);
  const provider = optionalString(body, 'provider', 100);
  const displayName = optionalString(body, 'display_name', 255);
  if (uniqueKey !== undefined) input.unique_key = uniqueKey;
  if (provider !== undefined) input.provider = provider;
  if (displayName !== undefined) input.display_name = displayName;
  if (body.connection_config !== undefined) {
    const c = body.connection_config;
    if (!isRecord(c) || !Object.values(c).every((v) => typeof v === 'string')) throw new KeywayError('invalid_body', '`connection_config` must map input names to strings');
    input.connection_config = Object.fromEntries(Object.entries(c as Record<string, string>));
  }
  if (body.allowed_hosts !== undefined) {
    const h = body.allowed_hosts;
    if (!Array.isArray(h) || !h.every((v) => typeof v === 'string')) throw new KeywayError('invalid_body', '`allowed_hosts` must be a list of host patterns');
    input.allowed_hosts = h as string[];
  }
  if (body.client_certificate !== undefined) input.client_certificate = clientCertificateInput(body.client_certificate);
  if (body.credentials !== undefined) {
    const c = body.credentials;
    if (!isRecord(c)) throw new KeywayError('invalid_body', '`credentials` must be an object');
    if (c.type !== undefined && c.type !== 'OAUTH2') throw new KeywayError('invalid_body', '`credentials.type` must be OAUTH2');
    const clientId = optionalString(c, 'client_id', 1024);
    const clientSecret = optionalString(c, 'client_secret', 4096);
    if (clientId === undefined || clientSecret === undefined) throw new KeywayError('invalid_body', '`credentials` needs client_id and client_secret');
    const scopes = c.scopes === undefined || c.scopes === null || c.scopes === '' ? '' : optionalString(c, 'scopes', 4096)!;
    input.credentials = { client_id: clientId, client_secret: clientSecret, scopes: scopes.split(',').map((s) => s.trim()).filter(Boolean) };
  }
  return input;
}

/** Keyway's `client_certificate` of an integration (mutual TLS): `{ certificate, private_key }` in PEM, or `null` to remove it. */
function clientCertificateInput(given: unknown): ClientCertificate | null {
  if (given === null) return null;
  if (!isRecord(given)) throw new KeywayError('invalid_client_certificate', '`client_certificate` must be { certificate, private_key } (PEM), or null to remove it');
  const certificate = optionalString(given, 'certificate', MAX_PEM_LENGTH);
  const privateKey = optionalString(given, 'private_key', MAX_PEM_LENGTH);
  if (certificate === undefined || privateKey === undefined) throw new KeywayError('invalid_client_certificate', '`client_certificate` needs both `certificate` and `private_key` (PEM)');
  return { certificate, private_key: privateKey };
}

/** Nango's POST /connect/sessions/reconnect body: `connection_id` and `integration_id`, and optionally a new end user and config defaults. */
function reconnectSessionInput(body: Record<string, unknown>): ReconnectSessionInput {
  if (typeof body.connection_id !== 'string' || typeof body.integration_id !== 'string') {
    throw new KeywayError('invalid_body', '`connection_id` and `integration_id` (the connection to reconnect) are required');
  }
  const connectionId = parseConnectionId(body.connection_id);
  const integrationId = parseConfigKey(body.integration_id);
  const { end_user, integrations_config_defaults } = body.end_user === undefined ? { end_user: undefined, integrations_config_defaults: configDefaults(body) } : endUserSessionInput(body);
  const tags = body.tags === undefined ? undefined : parseTags(body.tags);
  for (const key of Object.keys(integrations_config_defaults)) {
    if (key !== integrationId) throw new KeywayError('invalid_body', `\`integrations_config_defaults\` may only name the integration being reconnected ("${integrationId}")`);
  }
  return { connection_id: connectionId, integration_id: integrationId, ...(end_user && { end_user }), ...(tags !== undefined && { tags }), integrations_config_defaults };
}

/** `tags[key]=value` in a query: lower-cased keys, as the official client sends them; undefined without any. */
function tagsQuery(q: URLSearchParams): Record<string, string> | undefined {
  const given = bracketParams(q, 'tags');
  if (Object.keys(given).length === 0) return undefined;
  try {
    return parseTags(given);
  } catch (e) {
    throw new KeywayError('invalid_query_params', (e as Error).message.replace('`tags`', '`tags[...]`'));
  }
}

/**
 * Nango's POST /connect/sessions body. The end user's id becomes the connection id of the flows it
 * starts; with `tags` and no `end_user`, reserved tags (`end_user_id`, ...) name the end user, and
 * without them each session connects under a fresh id.
 */
function connectSessionInput(body: Record<string, unknown>): ConnectSessionInput {
  const tags = body.tags === undefined ? undefined : parseTags(body.tags);
  const input = endUserSessionInput(body, tags === undefined);
  return { ...input, end_user: input.end_user ?? (tags ? endUserFromTags(tags) : null), ...(tags !== undefined && { tags }) };
}

function endUserSessionInput(body: Record<string, unknown>, endUserRequired = true): ConnectSessionInput {
  const allowed = body.allowed_integrations;
  if (allowed !== undefined && (!Array.isArray(allowed) || allowed.length > 1000)) throw new KeywayError('invalid_body', '`allowed_integrations` must be a list of config keys');
  return {
    end_user: body.end_user === undefined && !endUserRequired ? null : endUserInput(body.end_user, body.organization),
    allowed_integrations: allowed === undefined ? null : (allowed as unknown[]).map(parseConfigKey),
    integrations_config_defaults: configDefaults(body),
  };
}

/** Nango's `end_user` (and the older top-level `organization`). */
function endUserInput(user: unknown, org?: unknown): EndUser {
  if (!isRecord(user)) throw new KeywayError('invalid_body', '`end_user` ({ id, email?, display_name? }) is required (or `tags`)');
  let id: string;
  try {
    id = parseConnectionId(user.id);
  } catch (e) {
    throw new KeywayError('invalid_body', `\`end_user.id\` is used as the connection id: ${(e as Error).message}`);
  }
  const email = optionalString(user, 'email', 320);
  const displayName = optionalString(user, 'display_name', 255);
  const organization = org;
  if (organization !== undefined && !isRecord(organization)) throw new KeywayError('invalid_body', '`organization` must be { id, display_name? }');
  const orgId = organization ? optionalString(organization, 'id', 255) : undefined;
  const orgName = organization ? optionalString(organization, 'display_name', 255) : undefined;
  if (organization && orgId === undefined) throw new KeywayError('invalid_body', '`organization.id` is required');
  return {
    id,
    ...(email !== undefined && { email }),
    ...(displayName !== undefined && { display_name: displayName }),
    ...(orgId !== undefined && { organization: { id: orgId, ...(orgName !== undefined && { display_name: orgName }) } }),
  };
}
