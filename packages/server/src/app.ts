import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from './config.ts';
import { BackgroundRefresh } from './connections/background-refresh.ts';
import { ConnectionService } from './connections/service.ts';
import { Keyring } from './crypto/keyring.ts';
import { KeywayError } from './errors.ts';
import { FlowOutcomes } from './flows/outcomes.ts';
import { requireSecretKey } from './http/auth.ts';
import { IntegrationService } from './integrations/service.ts';
import { createLogger, type Logger } from './log.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { DashboardSessions } from './dashboard/session.ts';
import { apiRoutes } from './routes/api.ts';
import { connectUiRoutes } from './routes/connect-ui.ts';
import { oauthRoutes } from './routes/oauth.ts';
import { templateLogoRoutes } from './routes/template-logos.ts';
import { ConnectSessionService } from './sessions/service.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';
import { TemplateCatalog } from './templates/catalog.ts';
import { NO_EVENTS, type AuthEventSink } from './webhooks/events.ts';
import { WebhookSender } from './webhooks/sender.ts';
import { isStoreUnavailable } from './store/unavailable.ts';

export interface Keyway {
  readonly app: express.Express;
  readonly backgroundRefresh: BackgroundRefresh;
  readonly store: Store;
  readonly templates: TemplateCatalog;
  readonly connections: ConnectionService;
  readonly integrations: IntegrationService;
  /** Listens on config.port (0 = any free port) and resolves with the bound URL. */
  listen(): Promise<{ url: string; server: Server }>;
  close(): Promise<void>;
}

const JSON_LIMIT = '256kb';

/** Wires the server: store, templates, services, routes. Throws a clear error if anything is wrong. */
export async function createKeyway(config: Config, log: Logger = createLogger()): Promise<Keyway> {
  const { catalog: templates, overridden } = await TemplateCatalog.load(config.templatesDirs);
  for (const name of overridden) log.info('template replaced by KEYWAY_TEMPLATES_DIR', { template: name });
  if (config.allowedOrigins.length === 0) log.warn('KEYWAY_ALLOWED_ORIGINS is empty: the browser SDK cannot run flows from any page');
  const store = await openStore(config, new Keyring(config.encryptionKeys));
  const integrations = new IntegrationService(store, templates);
  const webhooks = config.webhookUrl ? new WebhookSender({ url: config.webhookUrl, secretKey: config.secretKey, log }) : undefined;
  const events: AuthEventSink = webhooks ?? NO_EVENTS;
  const connections = new ConnectionService(store, integrations, {
    providerTimeoutMs: config.providerTimeoutMs,
    log,
    onRefreshFailure: (c, error) =>
      events.emit({
        operation: 'refresh',
        success: false,
        providerConfigKey: c.provider_config_key,
        connectionId: c.connection_id,
        provider: c.provider,
        endUser: c.end_user,
        error: { type: error.details?.provider_error ?? error.code, description: error.message },
      }),
  });
  const sessions = new ConnectSessionService(store, integrations);
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

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const dashboardSessions = new DashboardSessions(config.secretKey);
  app.use(
    apiRoutes({
      templates,
      integrations,
      connections,
      sessions,
      events,
      providerTimeoutMs: config.providerTimeoutMs,
      guard: [express.json({ limit: JSON_LIMIT, strict: true }), requireSecretKey(config.secretKey, config.publicKey, dashboardSessions)],
    }),
  );
  app.use(templateLogoRoutes({ templates }));
  app.use(dashboardRoutes({ config, sessions: dashboardSessions }));
  app.use(connectUiRoutes({ config, integrations, sessions }));
  app.use(oauthRoutes({ config, store, integrations, connections, outcomes: new FlowOutcomes(store), sessions, events, log }));
  app.use((req, _res, next) => next(new KeywayError('not_found', `No route ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toKeywayError(err);
    if (error.code === 'server_error') log.error('unexpected error', { method: req.method, path: req.path, error: String((err as Error)?.stack ?? err) });
    else if (error.status >= 500) log.error(error.message, { method: req.method, path: req.path, code: error.code, cause: String((err as Error)?.message ?? err) });
    if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    res.status(error.status).json(error.toJSON());
  });

  let server: Server | undefined;
  return {
    app,
    backgroundRefresh,
    store,
    templates,
    connections,
    integrations,
    listen: () =>
      new Promise((resolve, reject) => {
        const s = app.listen(config.port, config.host, (err?: Error) => {
          if (err) return reject(err);
          server = s;
          backgroundRefresh.start();
          const address = s.address();
          const port = typeof address === 'object' && address ? address.port : config.port;
          resolve({ url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`, server: s });
        });
        s.on('error', reject);
      }),
    close: async () => {
      await backgroundRefresh.stop();
      // Deliveries in flight get a short grace period; a dead receiver must not hold the shutdown.
      if (webhooks) await Promise.race([webhooks.drain(), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await store.close();
    },
  };
}

/** What clients are told to wait before trying again while the database cannot be reached. */
const STORE_RETRY_AFTER_S = 2;

/** Body-parser errors and anything unexpected become typed errors; nothing else leaks. */
function toKeywayError(err: unknown): KeywayError {
  if (err instanceof KeywayError) return err;
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.too.large') return new KeywayError('payload_too_large', `The body is larger than ${JSON_LIMIT}`);
  if (type === 'entity.parse.failed') return new KeywayError('invalid_body', 'The body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new KeywayError('unsupported_media_type', 'The body encoding is not supported');
  if (type === 'request.aborted' || type === 'request.size.invalid') return new KeywayError('invalid_body', 'The body was not received whole');
  if ((err as { status?: unknown })?.status === 404) return new KeywayError('not_found', 'Not found'); // static files
  if (isStoreUnavailable(err)) return new KeywayError('store_unavailable', 'The database cannot be reached right now. Try again shortly.', undefined, STORE_RETRY_AFTER_S);
  const errno = (err as NodeJS.ErrnoException)?.code;
  // Nothing was changed: the write was refused whole (the store undoes it in memory); reads still work.
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return new KeywayError('storage_full', 'The server cannot store this change: its disk is full. Nothing was changed; reads still work.');
  return new KeywayError('server_error', 'Internal server error');
}
