/** What the app needs from the browser SDK (@keyway/frontend's Nango); tests pass a fake. */
export interface AuthClient {
  auth(providerConfigKey: string, connectionId: string, options?: { signal?: AbortSignal }): Promise<{ providerConfigKey: string; connectionId: string }>;
}

export interface AuthFailure {
  /** The SDK's AuthError type (`window_closed`, `blocked_by_browser`, ...), or `unknown_error`. */
  readonly type: string;
  readonly message: string;
}

/** An AuthError (anything with a string `type`) keeps its type; anything else is `unknown_error`. */
export function describeAuthError(err: unknown): AuthFailure {
  const e = err as { type?: unknown; message?: unknown } | null | undefined;
  const type = typeof e?.type === 'string' && e.type !== '' ? e.type : 'unknown_error';
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return { type, message };
}
