/**
 * Auth events: what the server reports when a connection is created, overridden, or fails to
 * refresh. The connect flow and the connection service emit them; a sink (the webhook sender, or
 * nothing) delivers them. Events never carry credentials.
 */
import type { EndUser } from '../store/types.ts';

/** Nango's `authMode` of a connection: its credentials' kind. */
export type AuthMode = 'OAUTH2' | 'OAUTH2_CC' | 'API_KEY' | 'BASIC' | 'TWO_STEP';

export interface AuthEvent {
  readonly operation: 'creation' | 'override' | 'refresh';
  readonly success: boolean;
  readonly providerConfigKey: string;
  readonly connectionId: string;
  /** The Provider Template's name. */
  readonly provider: string;
  /** How the connection authenticates (what the webhook's `authMode` says). */
  readonly authMode: AuthMode;
  readonly endUser: EndUser | null;
  /** The connection's tags (Nango's `tags`, also under `endUser.tags`). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Why it failed (success: false): a stable code and a human description, never a secret. */
  readonly error?: { readonly type: string; readonly description: string };
}

/** Where the server reports auth events. emit() never throws and never blocks the caller. */
export interface AuthEventSink {
  emit(event: AuthEvent): void;
}

/** The sink used when no webhook URL is configured: does nothing. */
export const NO_EVENTS: AuthEventSink = Object.freeze({ emit: () => {} });
