import { existsSync } from 'node:fs';
import express, { Router, type Request } from 'express';
import type { Config } from '../config.ts';
import { keyId } from '../crypto/keyring.ts';
import { KeywayError } from '../errors.ts';
import { bodyOf } from '../http/request.ts';
import { authWebhookBody } from '../webhooks/sender.ts';
import { newMessageId, signatureHeaders } from '../webhooks/signature.ts';
import { DASHBOARD_COOKIE, DASHBOARD_SESSION_TTL_S, requireCsrf, type DashboardSessions } from './session.ts';

import { DASHBOARD_DIST } from '../assets.ts';

export { DASHBOARD_DIST };

/**
 * The dashboard, served by the server itself: its sign-in (secret key -> session cookie), its
 * settings view, a test webhook, and the static app. Everything else it shows comes from the
 * backend API, which accepts the session cookie (see http/auth.ts).
 */
export function dashboardRoutes(deps: { config: Config; sessions: DashboardSessions }): Router {
  const { config, sessions } = deps;
  const r = Router();
  const json = express.json({ limit: '8kb' });
  const secure = config.serverUrl.startsWith('https:');

  const current = async (req: Request) => {
    const session = await sessions.fromRequest(req);
    if (!session) throw new KeywayError('unknown_account', 'Sign in to the dashboard with the secret key');
    return session;
  };

  r.post('/dashboard/api/session', json, async (req, res) => {
    const { cookie, csrf, expiresAt } = await sessions.signIn(bodyOf(req).secretKey);
    res.cookie(DASHBOARD_COOKIE, cookie, { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: DASHBOARD_SESSION_TTL_S * 1000 });
    res.json({ data: { csrf, expires_at: expiresAt } });
  });
  r.get('/dashboard/api/session', async (req, res) => {
    const { csrf, expiresAt } = await current(req);
    res.json({ data: { csrf, expires_at: expiresAt } });
  });
  r.delete('/dashboard/api/session', async (req, res) => {
    const session = await current(req);
    requireCsrf(req, session);
    await sessions.signOut(session);
    res.clearCookie(DASHBOARD_COOKIE, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
    res.json({ success: true });
  });

  r.get('/dashboard/api/settings', async (req, res) => {
    await current(req);
    res.json({
      data: {
        server_url: config.serverUrl,
        callback_url: `${config.serverUrl}/oauth/callback`,
        public_key: config.publicKey,
        allowed_origins: config.allowedOrigins,
        require_connect_session: config.requireConnectSession,
        webhook_url: config.webhookUrl,
        // The key ids only: which key encrypts, which older ones still decrypt. Never a key.
        encryption: { current_key_id: keyId(config.encryptionKeys[0]!), key_ids: config.encryptionKeys.map((k) => keyId(k)) },
      },
    });
  });

  r.post('/dashboard/api/webhook-test', async (req, res) => {
    requireCsrf(req, await current(req));
    if (!config.webhookUrl) throw new KeywayError('invalid_body', 'No webhook URL is configured (KEYWAY_WEBHOOK_URL)');
    const body = JSON.stringify(authWebhookBody({ operation: 'creation', success: true, providerConfigKey: 'keyway-test', connectionId: 'keyway-test', provider: 'keyway-test', authMode: 'OAUTH2', endUser: null }));
    try {
      const answer = await fetch(config.webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'keyway', ...signatureHeaders({ secret: config.webhookSecret, legacySignature: config.webhookLegacySignature }, body, newMessageId(), Date.now() / 1000) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.providerTimeoutMs),
      });
      await answer.body?.cancel();
      res.json({ data: { delivered: answer.ok, status: answer.status } });
    } catch (e) {
      res.json({ data: { delivered: false, status: 0, error: e instanceof DOMException && e.name === 'TimeoutError' ? 'timeout' : 'unreachable' } });
    }
  });

  r.use(
    '/dashboard',
    (_req, res, next) => {
      if (!existsSync(DASHBOARD_DIST)) throw new KeywayError('not_found', 'The dashboard is not built: run `pnpm --filter @keyway/dashboard build`');
      res.set({
        'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
      });
      next();
    },
    express.static(DASHBOARD_DIST, { index: 'index.html' }),
    // Client-side routes (/dashboard/connections/...) get the app's page.
    (req, res, next) => (req.method === 'GET' && req.accepts('html') ? res.sendFile('index.html', { root: DASHBOARD_DIST }) : next()),
  );
  return r;
}
