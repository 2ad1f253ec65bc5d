import type { Connected, Session } from './types.ts';

/** A refused request: the server's `{ error: { code, message } }`, or `network_error` when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface Api {
  /** `GET /connect/session`: the end user and the integrations this session may connect. */
  session(token: string): Promise<Session>;
  /** `POST /api-auth/api-key|basic|two-step/:key`: stores the connection once the provider accepted the credentials. */
  connectWithCredentials(
    token: string,
    mode: CredentialMode,
    providerConfigKey: string,
    credentials: Record<string, string>,
    params: Record<string, string>,
  ): Promise<Connected>;
}

const enc = encodeURIComponent;

/** The auth modes whose credentials the end user types into the form. */
export type CredentialMode = 'API_KEY' | 'BASIC' | 'TWO_STEP';
const PATHS: Record<CredentialMode, string> = { API_KEY: 'api-key', BASIC: 'basic', TWO_STEP: 'two-step' };

/** The Keyway server's browser routes, on the page's own origin. */
export function createApi(fetchFn: typeof fetch): Api {
  const call = async (url: string, init: RequestInit): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetchFn(url, { ...init, credentials: 'omit', cache: 'no-store' });
    } catch {
      throw new ApiError('network_error', 'The Keyway server could not be reached. Check your connection and try again.', 0);
    }
    const body: unknown = await res.json().catch(() => null);
    if (res.ok && body !== null && typeof body === 'object') return body;
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    throw new ApiError(
      typeof error?.code === 'string' ? error.code : 'unknown_error',
      typeof error?.message === 'string' ? error.message : `The Keyway server answered ${res.status}.`,
      res.status,
    );
  };

  return {
    async session(token) {
      const body = (await call('/connect/session', { headers: { Authorization: `Bearer ${token}` } })) as { data?: Session };
      if (!body.data || !Array.isArray(body.data.integrations)) throw new ApiError('unknown_error', 'The Keyway server sent an unexpected answer.', 200);
      return body.data;
    },
    async connectWithCredentials(token, mode, providerConfigKey, credentials, params) {
      const q = [`connect_session_token=${enc(token)}`, ...Object.entries(params).map(([k, v]) => `params[${enc(k)}]=${enc(v)}`)];
      const path = PATHS[mode];
      const body = (await call(`/api-auth/${path}/${enc(providerConfigKey)}?${q.join('&')}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(credentials),
      })) as Partial<Connected>;
      return { providerConfigKey: String(body.providerConfigKey), connectionId: String(body.connectionId) };
    },
  };
}
