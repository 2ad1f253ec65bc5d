import { KeywayError } from '../errors.ts';
import { isRecord } from '../primitives.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads a dot-path (`team.id`; `0.id` for a list's first element) through own properties only. */
export function readPath(source: unknown, path: string): unknown {
  let value: unknown = source;
  for (const part of path.split('.')) {
    if (Array.isArray(value) && /^\d+$/.test(part)) {
      value = value[Number(part)];
      continue;
    }
    if (!isRecord(value) || !Object.hasOwn(value, part)) return undefined;
    value = value[part];
  }
  return value;
}

/** The template's dot-paths found in the token response, keyed by their last segment's path. */
export function pickPaths(source: unknown, paths: readonly string[] = []): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const path of paths) {
    const value = readPath(source, path);
    if (value !== undefined && value !== null) picked[path] = value;
  }
  return picked;
}

/** How deeply metadata may nest (objects and arrays), counting the top-level object as 1. */
export const MAX_METADATA_DEPTH = 32;
/** The most metadata a connection may hold, as UTF-8 JSON bytes (also after a PATCH merge). */
export const MAX_METADATA_BYTES = 64 * 1024;

/**
 * User metadata must be a JSON object, at most MAX_METADATA_DEPTH deep and MAX_METADATA_BYTES
 * large, whose keys, at any depth, cannot be mistaken for prototype access by code that later
 * merges it into plain objects. Walked with an explicit stack: a deep document must get a 400,
 * never exhaust the call stack.
 */
export function parseMetadata(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new KeywayError('invalid_body', '`metadata` must be a JSON object');
  const pending: { v: unknown; at: string; depth: number }[] = [{ v: value, at: 'metadata', depth: 1 }];
  while (pending.length > 0) {
    const { v, at, depth } = pending.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_METADATA_DEPTH) throw new KeywayError('invalid_body', `metadata nests deeper than ${MAX_METADATA_DEPTH} levels (at ${at.slice(0, 200)})`);
    if (Array.isArray(v)) v.forEach((x, i) => pending.push({ v: x, at: `${at}[${i}]`, depth: depth + 1 }));
    else {
      for (const [k, x] of Object.entries(v)) {
        if (FORBIDDEN_KEYS.has(k)) throw new KeywayError('invalid_body', `metadata key "${k}" at ${at.slice(0, 200)} is not allowed`);
        pending.push({ v: x, at: `${at}.${k}`, depth: depth + 1 });
      }
    }
  }
  checkMetadataSize(value);
  return value;
}

/** Refuses metadata larger than MAX_METADATA_BYTES once serialised. */
export function checkMetadataSize(metadata: Readonly<Record<string, unknown>>): void {
  if (Buffer.byteLength(JSON.stringify(metadata), 'utf8') > MAX_METADATA_BYTES) {
    throw new KeywayError('invalid_body', `metadata is larger than ${MAX_METADATA_BYTES / 1024} KiB`);
  }
}

/** Shallow merge of own keys, as Nango's PATCH /connections/metadata does. */
export function mergeMetadata(current: Readonly<Record<string, unknown>>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) merged[k] = v;
  return merged;
}
