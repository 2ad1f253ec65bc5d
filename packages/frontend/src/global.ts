// Entry of the script-tag (IIFE) build: the global `Nango` is the class itself, with `Nango.AuthError` for instanceof checks.
import { AuthError } from './errors.ts';
import { Nango } from './nango.ts';

export default Object.assign(Nango, { AuthError });
