/** The browser's side of the demo API (server/app.ts). Same origin: plain relative fetches. */
import type { ApiErrorBody, DemoConfig, DemoConnection, DemoIntegration, TokenView } from './types.ts';

export type { DemoConfig, DemoConnection, DemoIntegration, TokenView } from './types.ts';

/** An error answer of the demo API: `{ error: { code, message } }`, or a network failure (`network_error`). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface DemoApi {
  getConfig(): Promise<DemoConfig>;
  listIntegrations(): Promise<DemoIntegration[]>;
  listConnections(): Promise<DemoConnection[]>;
  /** What the backend read for the demo user's connection, token masked. */
  getToken(providerConfigKey: string): Promise<TokenView>;
}

export function createApi(fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init), base = ''): DemoApi {
  async function get<T>(path: string): Promise<T> {
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, { headers: { accept: 'application/json' } });
    } catch (e) {
      throw new ApiError('network_error', `The demo backend did not answer (${(e as Error).message})`, 0);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const error = (body as Partial<ApiErrorBody> | undefined)?.error;
      if (error && typeof error.code === 'string') throw new ApiError(error.code, error.message ?? `HTTP ${res.status}`, res.status);
      throw new ApiError(`http_${res.status}`, `HTTP ${res.status} from ${path}`, res.status);
    }
    if (body === undefined) throw new ApiError('invalid_response', `${path} did not answer JSON`, res.status);
    return body as T;
  }

  return {
    getConfig: () => get<DemoConfig>('/api/config'),
    listIntegrations: async () => (await get<{ integrations: DemoIntegration[] }>('/api/integrations')).integrations,
    listConnections: async () => (await get<{ connections: DemoConnection[] }>('/api/connections')).connections,
    getToken: (providerConfigKey) => get<TokenView>(`/api/token/${encodeURIComponent(providerConfigKey)}`),
  };
}
