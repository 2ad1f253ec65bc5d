import { existsSync } from 'node:fs';
import express, { Router, type Request } from 'express';
import type { Config } from '../config.ts';
import { KeywayError } from '../errors.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { ConnectSessionService } from '../sessions/service.ts';
import type { ProviderTemplate } from '../templates/schema.ts';

import { CONNECT_UI_DIST } from '../assets.ts';

export { CONNECT_UI_DIST };

/**
 * The Connect UI: a page the SDK opens in a frame (`openConnectUI`), served from this server, and
 * the one JSON route it reads with its connect session token. The page may be framed only by the
 * allowed origins, loads nothing from elsewhere, and never sees a token or a secret.
 */
export function connectUiRoutes(deps: { config: Config; integrations: IntegrationService; sessions: ConnectSessionService }): Router {
  const r = Router();

  r.delete('/connect/session', async (req, res) => {
    await deps.sessions.end(sessionToken(req));
    res.status(204).end();
  });

  r.get('/connect/session', async (req, res) => {
    const session = await deps.sessions.resolve(sessionToken(req));
    const integrations = [];
    for (const integration of await deps.integrations.list()) {
      if (session.allowed_integrations && !session.allowed_integrations.includes(integration.unique_key)) continue;
      const template = await deps.integrations.templateOf(integration.unique_key);
      if (!template) continue;
      // Inputs fixed by the backend's session or by the operator on the integration are not asked for.
      const fixed = { ...session.integrations_config_defaults[integration.unique_key]?.connection_config, ...integration.connection_config };
      integrations.push({
        unique_key: integration.unique_key,
        provider: integration.provider,
        display_name: integration.display_name,
        auth_mode: template.auth_mode,
        categories: template.categories,
        docs: template.docs,
        // What the end user must type: credentials (API key, Basic) and the inputs nobody fixed.
        ...('credentials' in template && { credentials: publicFields(template) }),
        // Inputs from the provider's callback, hidden ones and the integration's own are never typed by the end user.
        connection_config: Object.fromEntries(
          Object.entries(template.connection_config ?? {}).filter(([k, input]) => !Object.hasOwn(fixed, k) && input.callback_param === undefined && !input.hidden && !input.from_integration),
        ),
      });
    }
    res.json({ data: { end_user: session.end_user, expires_at: new Date(session.expires_at).toISOString(), integrations } });
  });

  const frameAncestors = deps.config.allowedOrigins.length > 0 ? deps.config.allowedOrigins.join(' ') : "'none'";
  r.use(
    '/connect/ui',
    (_req, res, next) => {
      if (!existsSync(CONNECT_UI_DIST)) throw new KeywayError('not_found', 'The Connect UI is not built: run `pnpm --filter @keyway/connect-ui build`');
      res.set({
        'Content-Security-Policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors ${frameAncestors}`,
        'Referrer-Policy': 'no-referrer',
      });
      next();
    },
    express.static(CONNECT_UI_DIST, { index: 'index.html', fallthrough: false }),
  );
  return r;
}

/** The connect session token, sent as Nango's frontend sends it: `Authorization: Bearer <token>`. */
function sessionToken(req: Request): string {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!token) throw new KeywayError('invalid_connect_session', 'Authorization: Bearer <connect session token> is required');
  return token;
}

function publicFields(template: Extract<ProviderTemplate, { credentials: unknown }>) {
  return Object.fromEntries(
    Object.entries(template.credentials).map(([k, f]) => [k, { ...f, secret: f.secret ?? (k === 'apiKey' || k === 'password') }]),
  );
}
