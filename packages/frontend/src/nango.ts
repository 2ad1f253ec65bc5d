import { connectUrl } from './connect-url.ts';
import { AuthError } from './errors.ts';
import { fetchFlowStatus } from './flow-status.ts';
import { newFlowId } from './flow-id.ts';
import { openPopup } from './popup.ts';
import type { AuthOptions, AuthResult, ConnectUI, ConnectUIOptions, FlowError, NangoOptions } from './types.ts';

const fail = (message: string, type: string) => Promise.reject(new AuthError(message, type));

export class Nango {
  private host: string;
  private origin: string;
  private publicKey: string | undefined;
  private connectSessionToken: string | undefined;
  private width: number;
  private height: number;

  /** Throws `AuthError('invalid_host_url')` for a host that is not an http(s) URL, as `@nangohq/frontend` does. */
  constructor(config: NangoOptions = {}) {
    this.host = (config.host || 'http://127.0.0.1:3003').replace(/\/+$/, '');
    try {
      const u = new URL(this.host);
      if (!/^https?:$/.test(u.protocol)) throw 0;
      this.origin = u.origin;
    } catch {
      throw new AuthError('Invalid URL provided for the Keyway host.', 'invalid_host_url');
    }
    this.publicKey = config.publicKey;
    this.connectSessionToken = config.connectSessionToken;
    this.width = config.width || 500;
    this.height = config.height || 600;
  }

  /**
   * Replaces the credentials of an existing connection: `auth()` under a reconnect session
   * (`createReconnectSession` on the backend), as `@nangohq/frontend`'s `reconnect()`. An alias, to
   * keep the SDK within its size budget; with the public key the server refuses to replace
   * (`connection_exists`) rather than this method throwing up front.
   */
  reconnect = (providerConfigKey: string, options?: AuthOptions): Promise<AuthResult> => this.auth(providerConfigKey, options);

  /**
   * Opens the authorization popup and resolves once the flow has ended, with whichever of the callback
   * page's postMessage and the long-poll of the server answers first.
   */
  auth(providerConfigKey: string, options?: AuthOptions): Promise<AuthResult>;
  auth(providerConfigKey: string, connectionId?: string, options?: AuthOptions): Promise<AuthResult>;
  auth(providerConfigKey: string, idOrOptions?: string | AuthOptions, moreOptions?: AuthOptions): Promise<AuthResult> {
    const { host, origin, publicKey, connectSessionToken } = this;
    const o = (typeof idOrOptions == 'string' ? moreOptions : idOrOptions || moreOptions) || {};
    const signal = o.signal;
    if (!publicKey && !connectSessionToken) {
      return fail('You must specify a public key OR a connect session token (cf. documentation).', 'missing_auth_token');
    }
    if (signal?.aborted) return fail('The authorization was aborted.', 'aborted');
    const credential: [name: 'public_key' | 'connect_session_token', value: string] = connectSessionToken ? ['connect_session_token', connectSessionToken] : ['public_key', publicKey!];
    // API-key and Basic: no popup; the (rarely used) code loads on demand to keep the SDK small.
    if (o.credentials) return import('./api-auth.ts').then((m) => m.apiAuth(host, providerConfigKey, typeof idOrOptions == 'string' ? idOrOptions : undefined, credential, o));

    // Everything up to window.open is synchronous: Safari blocks a popup opened after an await.
    const flowId = newFlowId();
    const popup = openPopup(
      connectUrl(
        host,
        providerConfigKey,
        typeof idOrOptions == 'string' ? idOrOptions : undefined,
        credential,
        flowId,
        window.location.origin,
        o,
      ),
      this.width,
      this.height,
    );
    if (!popup || popup.closed) return fail('Modal blocked by browser', 'blocked_by_browser');

    return new Promise((resolve, reject) => {
      const ac = new AbortController(); // aborted = settled
      const timers: ReturnType<typeof setTimeout>[] = [];
      const later = (fn: () => void, ms: number) => timers.push(setTimeout(fn, ms));
      let failures = 0;

      const close = () => {
        try {
          popup.close();
        } catch {}
      };
      const done = (r: AuthResult | AuthError) => {
        if (ac.signal.aborted) return;
        ac.abort();
        timers.forEach(clearTimeout);
        clearInterval(closedCheck);
        window.removeEventListener('message', onMessage);
        signal?.removeEventListener('abort', onAbort);
        if (r instanceof AuthError) {
          // On a flow error the popup stays open: the user reads the error there.
          if (r.type == 'aborted' || r.type == 'timeout') close();
          reject(r);
        } else {
          close();
          resolve(r);
        }
      };
      const outcome = (ok: boolean, d: Partial<AuthResult> & { error?: Partial<FlowError> }) =>
        done(
          ok
            ? { providerConfigKey: String(d.providerConfigKey), connectionId: String(d.connectionId) }
            : new AuthError(String(d.error?.message || 'The authorization failed.'), String(d.error?.code || 'unknown_error')),
        );
      const onAbort = () => done(new AuthError('The authorization was aborted.', 'aborted'));

      // Fast path: the callback page's postMessage, from our host, from our popup, for this flow only.
      const onMessage = (e: MessageEvent) => {
        const d = e.data;
        if (e.origin === origin && e.source === popup && d?.source === 'keyway' && d.flowId === flowId) outcome(d.ok === true, d);
      };

      // Reliable path: long-poll the outcome the server stored (survives COOP and a lost opener).
      const poll = () => {
        const started = Date.now();
        fetchFlowStatus(host, flowId, 25, ac.signal).then(
          (s) => {
            failures = 0;
            if (s.status != 'pending') outcome(s.status == 'success', s);
            // At once after a held request; at most once a second if the server answers "pending" at once.
            else if (!ac.signal.aborted) later(poll, 1e3 - (Date.now() - started));
          },
          () => {
            if (ac.signal.aborted) return;
            if (++failures < 5) later(poll, 250 << failures); // 0.5 s, 1 s, 2 s, 4 s
            else
              done(
                new AuthError(
                  `cannot reach the Keyway server at ${host} for the flow's outcome; is this page's origin in KEYWAY_ALLOWED_ORIGINS?`,
                  'unknown_error',
                ),
              );
          },
        );
      };

      const windowClosed = () =>
        done(new AuthError('The authorization window was closed before the authorization flow was completed', 'window_closed'));
      const closedCheck = o.detectClosedAuthWindow
        ? setInterval(() => {
          if (!popup.closed) return;
          clearInterval(closedCheck);
          // Closed (or reported closed): ask the server once whether the flow ended meanwhile.
          fetchFlowStatus(host, flowId, 0, ac.signal).then(
            (s) => (s.status == 'pending' ? windowClosed() : outcome(s.status == 'success', s)),
            windowClosed,
          );
        }, 500)
        : undefined;

      window.addEventListener('message', onMessage);
      signal?.addEventListener('abort', onAbort);
      const timeout = o.timeoutMs ?? 6e5;
      // setTimeout cannot wait longer than 2^31-1 ms: a larger value (e.g. Infinity) means no timeout.
      if (timeout < 2 ** 31) later(() => done(new AuthError('The authorization timed out.', 'timeout')), timeout);
      poll();
    });
  }

  /**
   * Opens Keyway's Connect UI over the page (an iframe of `${host}/connect/ui/`) and returns at once; the UI's code
   * is loaded on first use. The user picks an integration and connects it (OAuth popup or API-key form).
   */
  openConnectUI(options: ConnectUIOptions = {}): ConnectUI {
    const { onEvent } = options;
    const queue: [keyof ConnectUI, string][] = [];
    let ui: ConnectUI | undefined;
    const call = (m: keyof ConnectUI) => (a?: string) => void (ui ? ui[m](a!) : queue.push([m, a!]));
    import('./connect-ui.ts').then(
      ({ connectUI }) => {
        ui = connectUI(this.host, this.origin, options.sessionToken || this.connectSessionToken, onEvent);
        for (const [m, a] of queue) ui[m](a);
      },
      (e) => onEvent?.({ type: 'error', payload: { errorType: 'unknown_error', errorMessage: 'Could not load the Connect UI: ' + e } }),
    );
    const c = { open: call('open'), close: call('close'), setSessionToken: call('setSessionToken') };
    c.open();
    return c;
  }
}
