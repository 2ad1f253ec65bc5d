/**
 * The demo's backend: a small JSON API in front of the Preact app. It talks to Keyway only through
 * @keyway/node with the secret key, the way a real product's backend would; the browser never sees
 * the secret key nor a full access token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { KeywayError, Nango } from '@keyway/node';
import type { ApiErrorBody, DemoConfig, DemoConnection, DemoIntegration, TokenView } from '../src/types.ts';

/** The demo has one user; its id is the connection id of every connection it makes. */
export const DEMO_USER_ID = 'demo-user';

/** The part of @keyway/node's client the demo uses (tests pass a fake). */
export type DemoKeywayClient = Pick<Nango, 'listIntegrations' | 'listConnections' | 'getConnection' | 'createConnectSession'>;

export interface DemoAppOptions {
  /** The Keyway server's public URL, given to the browser SDK. */
  readonly keywayHost: string;
  /** Keyway's secret key: used by @keyway/node on this side only. Not needed when `keyway` is given. */
  readonly secretKey?: string;
  /** A ready client (tests); default `new Nango({ host: keywayHost, secretKey })`. */
  readonly keyway?: DemoKeywayClient;
  readonly userId?: string;
  /** Serves everything that is not /api (in the stack: Vite's middlewares). */
  readonly frontend?: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
  /** Where unexpected errors are reported. Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Only loopback names: a page on another site cannot reach this API through DNS rebinding. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

export function createDemoApp(options: DemoAppOptions): express.Express {
  const userId = options.userId ?? DEMO_USER_ID;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const keyway = options.keyway ?? new Nango({ host: options.keywayHost, secretKey: options.secretKey ?? '' });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', false);

  app.use((req, res, next) => {
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      res.status(403).json(errorBody('forbidden_host', 'The demo answers only on 127.0.0.1 / localhost'));
      return;
    }
    next();
  });

  const api = express.Router();
  api.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    next();
  });

  // The browser starts flows with a connect session made here, by the backend, for the signed-in
  // user: it can connect that user only (Keyway refuses public-key flows by default).
  api.get('/config', async (_req, res) => {
    const { data } = await keyway.createConnectSession({ end_user: { id: userId } });
    const config: DemoConfig = { keywayHost: options.keywayHost, userId, connectSessionToken: data.token, sessionExpiresAt: data.expires_at };
    res.json(config);
  });

  api.get('/integrations', async (_req, res) => {
    const { configs } = await keyway.listIntegrations();
    const integrations: DemoIntegration[] = configs
      .map((i) => ({ uniqueKey: i.unique_key, provider: i.provider, displayName: i.display_name || i.unique_key }))
      // The sandbox first: it is the one that works on a fresh machine.
      .sort((a, b) => Number(b.provider === 'keyway-sandbox') - Number(a.provider === 'keyway-sandbox') || a.displayName.localeCompare(b.displayName));
    res.json({ integrations });
  });

  api.get('/connections', async (_req, res) => {
    const { connections } = await keyway.listConnections({ connectionId: userId });
    const list: DemoConnection[] = connections
      .filter((c) => c.connection_id === userId)
      .map((c) => ({ providerConfigKey: c.provider_config_key, connectionId: c.connection_id, provider: c.provider, createdAt: c.created }));
    res.json({ connections: list });
  });

  api.get('/token/:providerConfigKey', async (req: Request<{ providerConfigKey: string }>, res) => {
    // Read like a backend would before calling the provider: the server refreshes an expiring token.
    const connection = await keyway.getConnection(req.params.providerConfigKey, userId);
    const { credentials } = connection;
    const accessToken = credentials.type === 'OAUTH2' ? credentials.access_token : undefined;
    const view: TokenView = {
      connectionId: connection.connection_id,
      expiresAt: credentials.type === 'OAUTH2' && typeof credentials.expires_at === 'string' ? credentials.expires_at : null,
      metadata: connection.metadata ?? null,
      connectionConfig: connection.connection_config ?? {},
      maskedToken: typeof accessToken === 'string' ? maskToken(accessToken) : null,
    };
    res.json(view);
  });

  api.use((req, res) => {
    res.status(404).json(errorBody('not_found', `No route ${req.method} /api${req.path}`));
  });

  const apiErrors: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const { status, body } = toErrorAnswer(err);
    if (status >= 500 && !(err instanceof KeywayError)) log(`demo: ${req.method} /api${req.path} failed: ${String((err as Error)?.stack ?? err)}`);
    res.status(status).json(body);
  };
  api.use(apiErrors);

  app.use('/api', api);
  if (options.frontend) app.use(options.frontend as RequestHandler);
  return app;
}

/**
 * `abcd…yz`: the first 4 and the last 2 characters, enough to tell two tokens apart. A token too
 * short for that to hide most of it is shown as `…` alone.
 */
export function maskToken(token: string): string {
  if (token.length < 12) return '…';
  return `${token.slice(0, 4)}…${token.slice(-2)}`;
}

/** @keyway/node's errors keep their code, message and status; anything else is a plain 500. */
export function toErrorAnswer(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof KeywayError) {
    // status 0: refused before sending (missing_*), or no usable answer from Keyway.
    const status =
      err.status >= 400 && err.status <= 599 ? err.status : err.code.startsWith('missing_') ? 400 : err.code === 'timeout' ? 504 : 502;
    return { status, body: errorBody(err.code, err.message) };
  }
  return { status: 500, body: errorBody('server_error', 'The demo backend failed; see its terminal') };
}

function errorBody(code: string, message: string): ApiErrorBody {
  return { error: { code, message } };
}
