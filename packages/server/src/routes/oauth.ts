import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Config } from '../config.ts';
import type { ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import { finishFlow } from '../flows/callback.ts';
import { startFlow } from '../flows/connect.ts';
import { safeEqual } from '../flows/state.ts';
import { queryOf } from '../http/request.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/types.ts';
import { sendErrorPage, sendPage } from './pages.ts';

/** Our cookie's own name: cookies on one host are shared across ports (127.0.0.1 in dev). */
const BINDING_COOKIE = 'keyway_flow_binding';
const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface OAuthDeps {
  readonly config: Config;
  readonly store: Store;
  readonly integrations: IntegrationService;
  readonly connections: ConnectionService;
  readonly log: Logger;
}

/** The browser-facing flow: `/oauth/connect/:providerConfigKey` and `/oauth/callback`. No CORS here. */
export function oauthRoutes(deps: OAuthDeps): Router {
  const r = Router();

  r.get('/oauth/connect/:providerConfigKey', async (req, res) => {
    try {
      const query = queryOf(req);
      checkPublicKey(query.get('public_key'), deps.config.publicKey);
      const binding = readBinding(req) ?? randomBytes(32).toString('base64url');
      const url = await startFlow({ providerConfigKey: req.params.providerConfigKey, query, binding }, deps);
      res.cookie(BINDING_COOKIE, binding, {
        httpOnly: true,
        sameSite: 'lax', // sent on the provider's top-level redirect back to us
        secure: deps.config.serverUrl.startsWith('https:'),
        path: '/oauth',
        maxAge: deps.config.flowTtlMs,
      });
      deps.log.info('flow started', { config_key: req.params.providerConfigKey });
      res.redirect(302, url.href);
    } catch (e) {
      if (!(e instanceof KeywayError)) throw e;
      deps.log.info('flow refused', { config_key: req.params.providerConfigKey, error_code: e.code });
      respondError(req, res, e);
    }
  });

  r.get('/oauth/callback', async (req, res) => {
    const outcome = await finishFlow({ query: queryOf(req), binding: readBinding(req) }, deps);
    if (outcome.ok) {
      deps.log.info('connection stored', { config_key: outcome.providerConfigKey, connection_id: outcome.connectionId, result: outcome.result });
      sendPage(res, 200, { title: 'Connected', message: 'You can close this window.', ok: true });
    } else {
      deps.log.info('flow failed', { config_key: outcome.providerConfigKey, connection_id: outcome.connectionId, error_code: outcome.error.code });
      respondError(req, res, outcome.error);
    }
  });
  return r;
}

function checkPublicKey(given: string | null, publicKey: string): void {
  if (!given) throw new KeywayError('missing_public_key', 'The public_key query parameter is required');
  if (!safeEqual(given, publicKey)) throw new KeywayError('invalid_public_key', 'The public key is not valid');
}

function readBinding(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === BINDING_COOKIE && value && BINDING_VALUE.test(value)) return value;
  }
  return undefined;
}

/** Browsers get the page; API clients (`Accept: application/json`) get the typed error body. */
function respondError(req: Request, res: Response, e: KeywayError): void {
  if (req.accepts(['html', 'json']) === 'json') res.status(e.status).json(e.toJSON());
  else sendErrorPage(res, e);
}
