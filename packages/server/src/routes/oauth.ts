import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { ActivitySink } from '../activity/log.ts';
import type { Config } from '../config.ts';
import type { ConnectionService } from '../connections/service.ts';
import { KeywayError } from '../errors.ts';
import { connectWithCredentials } from '../flows/api-auth.ts';
import { connectTwoStep } from '../flows/two-step.ts';
import { finishFlow, type FlowReturn } from '../flows/callback.ts';
import { startFlow } from '../flows/connect.ts';
import { FLOW_ID, sdkResult, type FlowOutcomes } from '../flows/outcomes.ts';
import { flowIdOfWsClient, WS_CLIENT_ID } from '../flows/websockets.ts';
import { parseConnectionId } from '../ids.ts';
import { safeEqual } from '../primitives.ts';
import { readCookie } from '../http/cookies.ts';
import { corsForAllowedOrigins } from '../http/cors.ts';
import { toKeywayError } from '../http/errors.ts';
import { intParam, queryOf } from '../http/request.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import type { FlowRateLimits } from '../http/rate-limit.ts';
import type { IntegrationService } from '../integrations/service.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ConnectSessionService } from '../sessions/service.ts';
import type { ConnectSession, FlowResult, Store } from '../store/types.ts';
import type { AuthEventSink } from '../webhooks/events.ts';
import { sendPage } from './pages.ts';

/** Our cookie's own name: cookies on one host are shared across ports (127.0.0.1 in dev). */
const BINDING_COOKIE = 'keyway_flow_binding';
const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** No request is held open longer than this (load balancers drop idle sockets, Nango #5849). */
const MAX_WAIT_SECONDS = 25;

export interface OAuthDeps {
  readonly config: Config;
  readonly store: Store;
  readonly integrations: IntegrationService;
  readonly connections: ConnectionService;
  readonly outcomes: FlowOutcomes;
  readonly sessions: ConnectSessionService;
  readonly events: AuthEventSink;
  readonly log: Logger;
  readonly outbound: OutboundFetch;
  readonly limits: FlowRateLimits;
  readonly activity: ActivitySink;
  readonly metrics: Metrics;
}

/**
 * The browser-facing routes: the OAuth flow (`/oauth/connect/:providerConfigKey`, `/oauth/callback`),
 * and, with CORS for allowed origins only, the SDK's outcome long-poll (`/oauth/flows/:flowId`) and
 * API-key / Basic connections (`/api-auth/...`).
 */
export function oauthRoutes(deps: OAuthDeps): Router {
  const { config, log, outcomes, metrics } = deps;
  /**
   * A metric label names only an existing integration: the key in a request's path may be anything.
   * Looked up only for authorised requests (a refused flood must not cost a store read each).
   */
  const knownKey = (key: string, authorised: boolean): Promise<string> => (authorised ? deps.integrations.get(key).then(() => key, () => '') : Promise.resolve(''));
  const failed = (key: string | undefined, code: string) => metrics.flowsFailed.inc({ config_key: key ?? '', error_code: code });
  // The Connect UI runs on this server's own origin and starts flows like any allowed app page.
  const allowedOrigins = [...config.allowedOrigins, new URL(config.serverUrl).origin];
  const r = Router();

  /**
   * Ends a flow for the browser: records the outcome for the SDK (only for an authorised request:
   * nothing is written for a caller without a valid key), then shows (and posts) it.
   */
  const conclude = async (res: Response, req: Request, to: Partial<FlowReturn> & { ws?: boolean }, result: FlowResult, error: KeywayError | undefined, record: boolean) => {
    if (record && to.flowId) await outcomes.record(to.flowId, result);
    // The official SDK's socket also hears of a refusal before authorisation (Nango does the same), from this process only.
    else if (to.ws && to.flowId) outcomes.notify(to.flowId, result);
    if (error?.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    const origin = to.origin && allowedOrigins.includes(to.origin) ? to.origin : undefined;
    const post = origin && to.flowId ? { origin, flowId: to.flowId, result: sdkResult(result) } : undefined;
    if (error) {
      if (req.accepts(['html', 'json']) === 'json') res.status(error.status).json(error.toJSON());
      else sendPage(res, error.status, { title: 'Connection failed', message: error.message, ok: false, code: error.code, ...(post && { post }) });
    } else {
      const replaced = result.status === 'success' && result.operation === 'override';
      sendPage(res, 200, { title: replaced ? 'Reconnected' : 'Connected', message: 'You can close this window.', ok: true, ...(post && { post }) });
    }
  };
  const errorResult = (e: KeywayError, pair: { providerConfigKey?: string | undefined; connectionId?: string | undefined } = {}): FlowResult => ({
    status: 'error',
    error: { code: e.code, message: e.message },
    ...(pair.providerConfigKey !== undefined && { providerConfigKey: pair.providerConfigKey }),
    ...(pair.connectionId !== undefined && { connectionId: pair.connectionId }),
  });
  /** A connect flow's activity entry: our code and the provider's, never the query (it holds the state and code). */
  const flowActivity = (action: 'started' | 'succeeded' | 'failed', key: string | undefined, id: string | undefined, message: string, error?: KeywayError) =>
    deps.activity.record({
      type: 'connect',
      action,
      outcome: action === 'started' ? 'info' : action === 'succeeded' ? 'success' : 'failure',
      provider_config_key: key ?? null,
      connection_id: id ?? null,
      message,
      ...(error && { error: { code: error.code, message: error.message, ...(error.details?.provider_error !== undefined && { provider_error: error.details.provider_error }) } }),
    });
  /** The connection id a flow is for, as connectTarget picks it; undefined when absent or malformed. */
  const flowId = (query: URLSearchParams, session: ConnectSession | null | undefined): string | undefined => {
    const id = session ? (session.connection_id ?? session.end_user?.id) : query.get('connection_id');
    try {
      return parseConnectionId(id ?? undefined);
    } catch {
      return undefined;
    }
  };

  r.get('/oauth/connect/:providerConfigKey', async (req, res) => {
    const query = queryOf(req);
    let to: FlowReturn & { ws?: boolean } = { flowId: null, origin: null };
    let authorised = false;
    let session: ConnectSession | null = null;
    try {
      to = flowReturn(query, allowedOrigins, config.secretKey);
      deps.limits.checkAddress(req.socket.remoteAddress);
      session = await authorize(query, deps);
      deps.limits.checkKey(limitKey(session));
      authorised = true;
      const binding = readBinding(req) ?? randomBytes(32).toString('base64url');
      const url = await startFlow({ providerConfigKey: req.params.providerConfigKey, query, binding, session, ...to }, deps);
      res.cookie(BINDING_COOKIE, binding, {
        httpOnly: true,
        sameSite: 'lax', // sent on the provider's top-level redirect back to us
        secure: config.serverUrl.startsWith('https:'),
        path: '/oauth',
        maxAge: config.flowTtlMs,
      });
      log.info('flow started', { config_key: req.params.providerConfigKey, sdk: to.flowId !== null });
      flowActivity('started', req.params.providerConfigKey, flowId(query, session), 'Connect flow started');
      metrics.flowsStarted.inc({ config_key: req.params.providerConfigKey });
      res.redirect(302, url);
    } catch (e) {
      if (!(e instanceof KeywayError)) throw e;
      log.info('flow refused', { config_key: req.params.providerConfigKey, error_code: e.code });
      const pair = { providerConfigKey: String(req.params.providerConfigKey), connectionId: query.get('connection_id') ?? undefined };
      // Only for a caller with a valid key: nobody else can fill the log.
      if (authorised) flowActivity('failed', req.params.providerConfigKey, flowId(query, session), `Connect flow refused: ${e.message}`, e);
      failed(await knownKey(req.params.providerConfigKey, authorised), e.code);
      await conclude(res, req, to, errorResult(e, pair), e, authorised);
    }
  });

  r.get('/oauth/callback', async (req, res) => {
    const outcome = await finishFlow({ query: queryOf(req), binding: readBinding(req) }, deps);
    if (outcome.ok) {
      log.info('connection stored', { config_key: outcome.providerConfigKey, connection_id: outcome.connectionId, result: outcome.result });
      flowActivity('succeeded', outcome.providerConfigKey, outcome.connectionId, outcome.result === 'created' ? 'Connection created' : 'Connection updated (reconnected)');
      metrics.flowsSucceeded.inc({ config_key: outcome.providerConfigKey });
      await conclude(
        res,
        req,
        outcome,
        { status: 'success', providerConfigKey: outcome.providerConfigKey, connectionId: outcome.connectionId, operation: outcome.result === 'created' ? 'creation' : 'override' },
        undefined,
        true,
      );
    } else {
      log.info('flow failed', { config_key: outcome.providerConfigKey, connection_id: outcome.connectionId, error_code: outcome.error.code });
      flowActivity('failed', outcome.providerConfigKey, outcome.connectionId, `Connect flow failed: ${outcome.error.message}`, outcome.error);
      failed(outcome.providerConfigKey, outcome.error.code); // the key of a valid state, or none
      // A flow id is only known from a valid state: the callback is authorised by it.
      await conclude(res, req, outcome, errorResult(outcome.error, outcome), outcome.error, true);
    }
  });

  const cors = corsForAllowedOrigins(allowedOrigins);

  // API-key and Basic connections from the browser SDK: `auth(key, id, { credentials })`.
  // TWO_STEP: at Nango's path (`/auth/two-step/...`) and beside the others (`/api-auth/two-step/...`).
  const modes = [
    ['/api-auth/api-key/:providerConfigKey', 'API_KEY'],
    ['/api-auth/basic/:providerConfigKey', 'BASIC'],
    ['/api-auth/two-step/:providerConfigKey', 'TWO_STEP'],
    ['/auth/two-step/:providerConfigKey', 'TWO_STEP'],
  ] as const;
  const label = { API_KEY: 'API-key', BASIC: 'Basic', TWO_STEP: 'Two-step' } as const;
  for (const [path, mode] of modes) {
    r.options(path, cors);
    r.post(path, cors, express.json({ limit: '16kb' }), async (req, res) => {
      const query = queryOf(req);
      deps.limits.checkAddress(req.socket.remoteAddress);
      const key = String(req.params.providerConfigKey);
      let result: Awaited<ReturnType<typeof connectWithCredentials>>;
      let authorised = false;
      let session: Awaited<ReturnType<typeof authorize>> | undefined;
      try {
        session = await authorize(query, deps);
        deps.limits.checkKey(limitKey(session));
        authorised = true;
        metrics.flowsStarted.inc({ config_key: await knownKey(key, true) });
        const flowDeps = { ...deps, providerTimeoutMs: config.providerTimeoutMs };
        result =
          mode === 'TWO_STEP'
            ? await connectTwoStep({ providerConfigKey: key, query, body: req.body, session }, flowDeps)
            : await connectWithCredentials({ mode, providerConfigKey: key, query, body: req.body, session }, flowDeps);
      } catch (e) {
        if (authorised && e instanceof KeywayError) flowActivity('failed', key, flowId(query, session), `${label[mode]} connection failed: ${e.message}`, e);
        failed(await knownKey(key, authorised), toKeywayError(e).code);
        throw e;
      }
      metrics.flowsSucceeded.inc({ config_key: result.providerConfigKey });
      log.info('connection stored', { config_key: result.providerConfigKey, connection_id: result.connectionId, auth_mode: mode });
      flowActivity('succeeded', result.providerConfigKey, result.connectionId, `${label[mode]} connection stored`);
      res.json(result);
    });
  }

  r.options('/oauth/flows/:flowId', cors);
  r.get('/oauth/flows/:flowId', cors, async (req, res) => {
    const flowId = String(req.params.flowId);
    if (!FLOW_ID.test(flowId)) throw new KeywayError('invalid_flow_id', 'A flow id is 43 base64url characters');
    const waitSeconds = intParam(queryOf(req), 'wait', MAX_WAIT_SECONDS, 0, MAX_WAIT_SECONDS);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    metrics.openLongPolls.inc();
    const result = await outcomes.wait(flowId, waitSeconds * 1000, gone.signal).finally(() => metrics.openLongPolls.dec());
    if (!gone.signal.aborted) res.json(result ? sdkResult(result) : { status: 'pending' });
  });
  return r;
}

/**
 * Where the outcome goes: our SDK's `flow_id` and `origin` (an origin must be exactly one of
 * KEYWAY_ALLOWED_ORIGINS), or the official SDK's `ws_client_id`, bound here to the flow id its socket waits on.
 */
function flowReturn(query: URLSearchParams, allowedOrigins: readonly string[], secretKey: string): FlowReturn & { ws?: boolean } {
  const flowId = query.get('flow_id');
  const origin = query.get('origin');
  const wsClientId = query.get('ws_client_id');
  if (wsClientId !== null) {
    if (flowId !== null) throw new KeywayError('invalid_flow_id', 'Send flow_id or ws_client_id, not both');
    if (!WS_CLIENT_ID.test(wsClientId)) throw new KeywayError('invalid_flow_id', 'A ws_client_id is the id the WebSocket acknowledgement gave');
    return { flowId: flowIdOfWsClient(secretKey, wsClientId), origin: null, ws: true };
  }
  if (flowId !== null && !FLOW_ID.test(flowId)) throw new KeywayError('invalid_flow_id', 'A flow id is 43 base64url characters');
  if (origin !== null && !allowedOrigins.includes(origin)) {
    throw new KeywayError('origin_not_allowed', `The page's origin ${origin} is not in KEYWAY_ALLOWED_ORIGINS`);
  }
  return { flowId, origin };
}

/** A flow starts with a connect session token or, only when the operator allowed it (KEYWAY_ALLOW_PUBLIC_KEY), the public key. */
async function authorize(query: URLSearchParams, deps: OAuthDeps): Promise<ConnectSession | null> {
  const token = query.get('connect_session_token');
  if (token) return deps.sessions.resolve(token);
  if (deps.config.requireConnectSession) {
    throw new KeywayError('connect_session_required', 'This server requires a connect session: create one from your backend (POST /connect/sessions), or POST /connect/sessions/reconnect to replace a connection\'s credentials');
  }
  const given = query.get('public_key');
  if (!given) throw new KeywayError('missing_public_key', 'The public_key (or connect_session_token) query parameter is required');
  if (!safeEqual(given, deps.config.publicKey)) throw new KeywayError('invalid_public_key', 'The public key is not valid');
  return null;
}

/** The rate-limit key of an authorised request: its connect session, or the one public key. */
const limitKey = (session: ConnectSession | null): string => (session ? `session:${session.token_hash}` : 'public_key');

function readBinding(req: Request): string | undefined {
  const value = readCookie(req.headers.cookie, BINDING_COOKIE);
  return value !== undefined && BINDING_VALUE.test(value) ? value : undefined;
}
