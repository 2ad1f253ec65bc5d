// @keyway/sandbox: a local OAuth 2.0 / OpenID Connect authorization server for development,
// demos and tests, built on oidc-provider.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInteractionHandler, INTERACTION_PREFIX } from './interactions.ts';
import { resolveOptions, type SandboxClient, type SandboxOptions } from './options.ts';
import { createProvider, createSigningKey, ROUTES, SUPPORTED_SCOPES } from './provider.ts';
import { MemoryStore } from './store.ts';

export { DEMO_USER } from './account.ts';
export {
  DEFAULT_CLIENT,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REDIRECT_URIS,
  isLoopbackHost,
  type SandboxClient,
  type SandboxOptions,
  type TokenEndpointAuthMethod,
} from './options.ts';
export { ROUTES, SUPPORTED_SCOPES } from './provider.ts';

export interface Sandbox {
  /** The issuer, e.g. `http://127.0.0.1:3004` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The registered clients, with every default filled in. */
  readonly clients: readonly Required<SandboxClient>[];
  /** `${url}/auth` */
  readonly authorizationUrl: string;
  /** `${url}/token` */
  readonly tokenUrl: string;
  /** `${url}/me` */
  readonly userinfoUrl: string;
  /** `${url}/token/introspection` */
  readonly introspectionUrl: string;
  /** `${url}/token/revocation` */
  readonly revocationUrl: string;
  /** `${url}/.well-known/openid-configuration` */
  readonly discoveryUrl: string;
  /** Successful token requests so far, by grant type (how tests count refreshes at the provider). */
  readonly tokenGrants: Readonly<Record<'authorization_code' | 'refresh_token', number>>;
  /**
   * Sets the lifetime of access tokens issued from now on (tokens already issued keep theirs): a test can
   * connect with a short-lived token, let it expire, and have every refresh return a long-lived one.
   */
  setAccessTokenTtl(seconds: number): void;
  /** Stops listening, drops open connections and forgets every session, grant and token. */
  close(): Promise<void>;
}

/** Paths whose responses are pages (or redirects between pages) of the authorization flow. */
function isFlowPath(pathname: string): boolean {
  return pathname === ROUTES.authorization
    || pathname.startsWith(`${ROUTES.authorization}/`)
    || pathname.startsWith(INTERACTION_PREFIX);
}

function pathnameOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://sandbox.invalid').pathname;
  } catch {
    return '/';
  }
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const resolved = resolveOptions(options);
  // Made off the event loop, before listening.
  const signingKey = await createSigningKey();

  // The provider needs its issuer, which holds the port; with port 0 the port is known only once
  // the server listens. Requests in between get a 503.
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handle === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    handle(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const urlHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const url = `http://${urlHost}:${port}`;

  const store = new MemoryStore();
  let provider;
  try {
    provider = createProvider(url, port, resolved, store, signingKey);
  } catch (error) {
    store.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const tokenGrants = { authorization_code: 0, refresh_token: 0 };
  provider.on('grant.success', (ctx: { oidc: { params?: { grant_type?: unknown } } }) => {
    const grant = ctx.oidc.params?.grant_type;
    if (grant === 'authorization_code' || grant === 'refresh_token') tokenGrants[grant]++;
  });
  const providerCallback = provider.callback();
  const interactions = createInteractionHandler(provider, {
    autoApprove: resolved.autoApprove,
    supportedScopes: new Set(SUPPORTED_SCOPES),
  });

  handle = (req, res) => {
    const pathname = pathnameOf(req);
    if (resolved.crossOriginOpenerPolicy && isFlowPath(pathname)) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    }
    if (pathname.startsWith(INTERACTION_PREFIX)) {
      void interactions(req, res, pathname);
    } else {
      void providerCallback(req, res);
    }
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(() => store.close());
    return closing;
  };

  return Object.freeze({
    url,
    port,
    host: resolved.host,
    clients: Object.freeze(resolved.clients.map((client) => Object.freeze({ ...client, redirectUris: [...client.redirectUris] }))),
    authorizationUrl: `${url}${ROUTES.authorization}`,
    tokenUrl: `${url}${ROUTES.token}`,
    userinfoUrl: `${url}${ROUTES.userinfo}`,
    introspectionUrl: `${url}${ROUTES.introspection}`,
    revocationUrl: `${url}${ROUTES.revocation}`,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    tokenGrants,
    setAccessTokenTtl: (seconds: number) => {
      if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError(`setAccessTokenTtl: a positive whole number of seconds, got ${seconds}`);
      resolved.accessTokenTtlSeconds = seconds;
    },
    close,
  });
}
