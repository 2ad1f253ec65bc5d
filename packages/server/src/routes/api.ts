import { Router, type Request, type Response } from 'express';
import type { ConnectionService } from '../connections/service.ts';
import { parseMetadata } from '../connections/metadata.ts';
import { KeywayError } from '../errors.ts';
import { bodyOf, booleanParam, intParam, optionalString, queryOf } from '../http/request.ts';
import { parseConfigKey, parseConnectionId } from '../ids.ts';
import type { IntegrationInput, IntegrationService } from '../integrations/service.ts';
import type { TemplateCatalog } from '../templates/catalog.ts';
import { isRecord } from '../templates/validate.ts';
import { apiConnection, apiConnectionSummary, apiIntegration, apiProvider } from './wire.ts';

/** The backend API (Nango's paths and shapes). Mounted behind requireSecretKey. */
export function apiRoutes(deps: { templates: TemplateCatalog; integrations: IntegrationService; connections: ConnectionService }): Router {
  const { templates, integrations, connections } = deps;
  const r = Router();

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
    res.json({ data: apiIntegration(integration, include.includes('credentials')) });
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
    // End users arrive with connect sessions; until then no connection has one.
    const list = q.get('endUserId')
      ? []
      : await connections.list({
          ...(integrationId !== undefined && { provider_config_key: integrationId }),
          ...(q.get('connectionId') && { connection_id: q.get('connectionId')! }),
          ...(q.get('search') && { search: q.get('search')! }),
          limit,
          offset: intParam(q, 'page', 0, 0, 1_000_000) * limit,
        });
    res.json({ connections: list.map(apiConnectionSummary) });
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
  r.delete('/connections/:connectionId', async (req, res) => {
    await connections.delete(configKeyParam(queryOf(req)), parseConnectionId(req.params.connectionId));
    res.json({ success: true });
  });
  return r;
}

function configKeyParam(q: URLSearchParams): string {
  const key = q.get('provider_config_key');
  if (!key) throw new KeywayError('invalid_query_params', '`provider_config_key` is required');
  return parseConfigKey(key);
}

function integrationInput(body: Record<string, unknown>): IntegrationInput {
  const input: { -readonly [K in keyof IntegrationInput]: IntegrationInput[K] } = {};
  const uniqueKey = optionalString(body, 'unique_key', 100);
  const provider = optionalString(body, 'provider', 100);
  const displayName = optionalString(body, 'display_name', 255);
  if (uniqueKey !== undefined) input.unique_key = uniqueKey;
  if (provider !== undefined) input.provider = provider;
  if (displayName !== undefined) input.display_name = displayName;
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
