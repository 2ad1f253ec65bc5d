export { Nango, Nango as default } from './nango.ts';
export { AuthError } from './errors.ts';
export type * from './types.ts';
