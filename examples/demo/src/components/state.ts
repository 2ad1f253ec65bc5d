import type { TokenView } from '../types.ts';

/** What one integration card shows. */
export type CardState =
  | { readonly status: 'idle' }
  | { readonly status: 'connecting' }
  | {
      readonly status: 'connected';
      /** What the backend read; null until the first read answers. */
      readonly token: TokenView | null;
      /** A read is under way. */
      readonly loading: boolean;
      /** The last read failed (`code: message`). */
      readonly tokenError: string | null;
    }
  | { readonly status: 'error'; readonly errorType: string; readonly message: string };

export const IDLE: CardState = { status: 'idle' };
export const CONNECTING: CardState = { status: 'connecting' };

/** The words of the status line. Only the connected state contains the word "connected" (a test hook). */
export const STATUS_TEXT: Record<CardState['status'], string> = {
  idle: 'no connection yet',
  connecting: 'connecting…',
  connected: 'connected',
  error: 'failed',
};
