/** Small helpers every part of the server uses; each does one thing, with no dependency on the rest. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a string, base64url: how tokens and states are kept (never the value itself). */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** Compares two secrets in constant time (hashing first so lengths cannot leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** A plain JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
