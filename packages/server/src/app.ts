import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ActivityLog } from './activity/log.ts';
import { openActivityLog } from './activity/open.ts';
import type { Config } from './config.ts';
import { BackgroundRefresh } from './connections/background-refresh.ts';
import { ConnectionService } from './connections/service.ts';
import { Keyring } from './crypto/keyring.ts';
import { KeywayError } from './errors.ts';
import { FlowOutcomes } from './flows/outcomes.ts';
import { FlowSockets } from './flows/websockets.ts';
import { requireSecretKey } from './http/auth.ts';
import { createOutboundFetch, type HostResolver } from './http/outbound.ts';
import { FlowRateLimits } from './http/rate-limit.ts';
import { IntegrationService } from './integrations/service.ts';
import { createLogger, currentRequestId, withRequestId, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { DashboardSessions } from './dashboard/session.ts';
import { apiRoutes } from './routes/api.ts';
import { connectUiRoutes } from './routes/connect-ui.ts';
import { listenMetrics, metricsRoutes } from './routes/metrics.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { logRoutes } from './routes/logs.ts';
import { proxyRoutes } from './routes/proxy.ts';
import { ProxyService, type ProxyTiming } from './proxy/forward.ts';
import { templateLogoRoutes } from './routes/template-logos.ts';
import { ConnectSessionService } from './sessions/service.ts';
import { openStore } from './store/open.ts';
import { timeStoreWrites } from './store/timed.ts';
import type { Store } from './store/types.ts';
import { TemplateCatalog } from './templates/catalog.ts';
import { NO_EVENTS, type AuthEventSink } from './webhooks/events.ts';
import { WebhookSender } from './webhooks/sender.ts';
import { JSON_LIMIT, reportError } from './http/errors.ts';
import { tokenRoute } from './http/token-route.ts';

export interface Keyway {
  /** The Express app: every route (mount it in an app of your own, e.g. under /keyway). */
  readonly app: express.Express;
  /** What `listen` serves: getToken's route answered before Express, then the app. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly backgroundRefresh: BackgroundRefresh;
  readonly store: Store;
  readonly templates: TemplateCatalog;
  readonly connections: ConnectionService;
  readonly integrations: IntegrationService;
  /**
   * Serves the official `@nangohq/frontend`'s WebSocket (at KEYWAY_WEBSOCKETS_PATH) on a server of yours:
   * what `listen` does on its own; call it once when you embed `app` or `handler`.
   */
  attachWebSockets(server: Server): void;
  /** The activity log behind `GET /logs` (tests flush it rather than wait for its timer). */
  readonly activity: ActivityLog;
  /** This server's Prometheus instruments (`GET /metrics`); e.g. `metrics.openWebSockets.inc()`. */
  readonly metrics: Metrics;
  /** Listens on config.port (0 = any free port) and resolves with the bound URL. */
  listen(): Promise<{ url: string; server: Server }>;
  close(): Promise<void>;
}

/** What tests (and embedders) may put in place of the real thing. */
export interface KeywayOverrides {
  /** The DNS resolver of the outbound guard (a stub answering 127.0.0.1 for a public-looking name). */
  readonly resolveHost?: HostResolver;
  /** A PEM CA the outbound client trusts instead of the public roots (a local HTTPS provider signed by a test CA). */
  readonly outboundTrustedCa?: string;
  /** The clock integrations check client-certificate expiry against. */
  readonly integrationsNow?: () => Date;
  /** The clock of the flow rate limits (tests advance it instead of sleeping). */
  readonly now?: () => number;
  /** The proxy's time-outs and retry budget, and its waits between attempts (tests record them instead of waiting). */
  readonly proxyTiming?: Partial<ProxyTiming>;
  readonly proxySleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** How often the flow WebSockets are pinged (30 s). */
  readonly websocketPingMs?: number;
  /** The activity log's clock (retention) and its queue's bound. */
  readonly activityNow?: () => number;
  readonly activityMaxQueue?: number;
}

/** A request id taken from the caller: short, and nothing a log reader could mistake for structure. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id (the caller's, when well-formed, or a new one), also sent back as X-Request-Id. */
function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Wires the server: store, templates, services, routes. Throws a clear error if anything is wrong. */
export async function createKeyway(config: Config, log: Logger = createLogger(), overrides: KeywayOverrides = {}): Promise<Keyway> {
  const { catalog: templates, overridden } = await TemplateCatalog.load(config.templatesDirs);
  for (const name of overridden) log.info('template replaced by KEYWAY_TEMPLATES_DIR', { template: name });
  if (!config.requireConnectSession) {
    log.warn('KEYWAY_ALLOW_PUBLIC_KEY=true: any page holding the public key can start flows for any connection id (new connections only); unsafe for multi-user apps, use connect sessions');
  }
  if (config.allowedOrigins.length === 0) log.warn('KEYWAY_ALLOWED_ORIGINS is empty: the browser SDK cannot run flows from any page');
  const metrics = new Metrics();
  const store = timeStoreWrites(await openStore(config, new Keyring(config.encryptionKeys)), (operation, seconds) => metrics.storeWriteDuration.observe({ operation }, seconds));
  // Opened after the store: in PostgreSQL, the store's migrations create the activity table.
  const activity = await openActivityLog(config, log, {
    ...(overrides.activityNow && { now: overrides.activityNow }),
    ...(overrides.activityMaxQueue !== undefined && { maxQueue: overrides.activityMaxQueue }),
  });
  // Every request made for a connection goes through this one guarded client (SSRF, DNS rebinding).
  const outbound = createOutboundFetch({
    allowPrivateNetwork: config.allowPrivateNetwork,
    ...(overrides.resolveHost && { resolve: overrides.resolveHost }),
    ...(overrides.outboundTrustedCa !== undefined && { trustedCa: overrides.outboundTrustedCa }),
  });
  const integrations = new IntegrationService(store, templates, {
    ...(overrides.integrationsNow && { now: overrides.integrationsNow }),
    // A new or removed certificate closes the TLS agent that presented the old one.
    onClientCertificateChange: (key) => void outbound.releaseClientCertificate(key).catch(() => undefined),
  });
  if (config.allowPrivateNetwork) log.info('KEYWAY_ALLOW_PRIVATE_NETWORK is on: connections may reach loopback and private addresses');
  const webhooks = config.webhookUrl ? new WebhookSender({ url: config.webhookUrl, secret: config.webhookSecret, legacySignature: config.webhookLegacySignature, log, activity, metrics }) : undefined;
  const events: AuthEventSink = webhooks ?? NO_EVENTS;
  const connections = new ConnectionService(store, integrations, {
    providerTimeoutMs: config.providerTimeoutMs,
    outbound,
    log,
    activity,
    metrics,
    onRefreshFailure: (c, error) =>
      events.emit({
        operation: 'refresh',
        success: false,
        providerConfigKey: c.provider_config_key,
        connectionId: c.connection_id,
        provider: c.provider,
        authMode: c.credentials.type,
        endUser: c.end_user,
        ...(c.tags && { tags: c.tags }),
        error: { type: error.details?.provider_error ?? error.code, description: error.message },
      }),
    // Nango's `refresh` webhook with success: true, sent only when a refresh succeeds after failures.
    onRefreshRecovered: (c) =>
      events.emit({
        operation: 'refresh',
        success: true,
        providerConfigKey: c.provider_config_key,
        connectionId: c.connection_id,
        provider: c.provider,
        authMode: c.credentials.type,
        endUser: c.end_user,
        ...(c.tags && { tags: c.tags }),
      }),
  });
  const sessions = new ConnectSessionService(store, integrations, config.serverUrl);
  const backgroundRefresh = new BackgroundRefresh(store, connections, {
    intervalMs: config.backgroundRefreshIntervalMs,
    afterMs: config.backgroundRefreshAfterMs,
    log,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false); // the callback URL comes from configuration, never from headers
  app.set('query parser', false); // each route reads URLSearchParams: no nested objects from a query
  app.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    next();
  });
  // An app mounted in an embedder's Express (not through `handler`) gives its requests ids here.
  app.use((req, res, next) => (currentRequestId() === undefined ? withRequestId(assignRequestId(req, res), next) : next()));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(metricsRoutes({ metrics, secretKey: config.secretKey, metricsToken: config.metricsToken ?? null }));
  const dashboardSessions = new DashboardSessions(config.secretKey, store);
  app.use(
    apiRoutes({
      templates,
      integrations,
      connections,
      sessions,
      events,
      providerTimeoutMs: config.providerTimeoutMs,
      outbound,
      guard: [express.json({ limit: JSON_LIMIT, strict: true }), requireSecretKey(config.secretKey, config.publicKey, dashboardSessions)],
    }),
  );
  const proxy = new ProxyService({
    connections,
    integrations,
    outbound: outbound.stream,
    ...(overrides.proxyTiming && { timing: overrides.proxyTiming }),
    ...(overrides.proxySleep && { sleep: overrides.proxySleep }),
  });
  // No body parser: the proxy streams bodies as they come.
  app.use(logRoutes({ activity, guard: requireSecretKey(config.secretKey, config.publicKey, dashboardSessions) }));
  app.use(proxyRoutes({ proxy, guard: requireSecretKey(config.secretKey, config.publicKey, dashboardSessions), log, activity, metrics }));
  app.use(templateLogoRoutes({ templates }));
  app.use(dashboardRoutes({ config, sessions: dashboardSessions }));
  app.use(connectUiRoutes({ config, integrations, sessions }));
  const limits = new FlowRateLimits({ perAddress: config.flowStartsPerMinutePerAddress, perKey: config.flowStartsPerMinutePerKey, ...(overrides.now && { now: overrides.now }) });
  const outcomes = new FlowOutcomes(store);
  app.use(oauthRoutes({ config, store, integrations, connections, outcomes, sessions, events, log, outbound, limits, activity, metrics }));
  const sockets = new FlowSockets({
    path: config.websocketsPath,
    allowedOrigins: config.allowedOrigins,
    perAddress: config.websocketsPerAddress,
    secretKey: config.secretKey,
    waitMs: config.flowTtlMs,
    pingIntervalMs: overrides.websocketPingMs ?? 30_000,
    outcomes,
    log,
    onOpenChange: (delta) => metrics.openWebSockets.inc(delta),
  });
  app.use((req, _res, next) => next(new KeywayError('not_found', `No route ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = reportError(err, log, { method: req.method, path: req.path });
    if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    res.status(error.status).json(error.toJSON());
  });

  // getToken's route first, outside Express; everything else (and every error of that route but its own) through the app.
  const token = tokenRoute({ secretKey: config.secretKey, connections, log });
  // Every request gets an id: on each log line it causes (AsyncLocalStorage carries it across
  // awaits) and in the X-Request-Id answer header. A caller's (a proxy's) well-formed id is kept.
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    withRequestId(assignRequestId(req, res), () => {
      if (!token(req, res)) app(req, res);
    });
  };

  let server: Server | undefined;
  let metricsServer: Server | undefined;
  return {
    app,
    handler,
    backgroundRefresh,
    store,
    templates,
    connections,
    integrations,
    attachWebSockets: (s) => sockets.attach(s),
    activity,
    metrics,
    listen: () =>
      new Promise((resolve, reject) => {
        const s = createServer(handler);
        sockets.attach(s); // the official SDK's WebSocket shares the port (its `upgrade` requests)
        s.listen(config.port, config.host, async () => {
          server = s;
          if (config.metricsPort) {
            try {
              metricsServer = await listenMetrics(metrics, config.metricsPort);
            } catch (e) {
              s.close();
              reject(e);
              return;
            }
          }
          backgroundRefresh.start();
          activity.start();
          const address = s.address();
          const port = typeof address === 'object' && address ? address.port : config.port;
          resolve({ url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, server: s });
        });
        s.on('error', reject);
      }),
    close: async () => {
      await backgroundRefresh.stop();
      sockets.close();
      // Deliveries in flight get a short grace period; a dead receiver must not hold the shutdown.
      if (webhooks) await Promise.race([webhooks.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await outbound.close();
      await activity.close();
      await store.close();
    },
  };
}
