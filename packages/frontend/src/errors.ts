import type { AuthErrorType } from './types.ts';

/** The only error `auth()` rejects with (same shape and constructor order as `@nangohq/frontend`). */
export class AuthError extends Error {
  type: AuthErrorType;
  constructor(message: string, type: AuthErrorType) {
    super(message);
    this.type = type;
  }
}
