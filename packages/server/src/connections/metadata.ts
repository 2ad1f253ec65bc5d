import { KeywayError } from '../errors.ts';
import { isRecord } from '../templates/validate.ts';

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

/**
 * User metadata must be a JSON object whose keys, at any depth, cannot be mistaken for
 * prototype access by code that later merges it into plain objects.
 */
export function parseMetadata(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new KeywayError('invalid_body', '`metadata` must be a JSON object');
  const check = (v: unknown, at: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => check(x, `${at}[${i}]`));
    else if (isRecord(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (FORBIDDEN_KEYS.has(k)) throw new KeywayError('invalid_body', `metadata key "${k}" at ${at} is not allowed`);
        check(x, `${at}.${k}`);
      }
    }
  };
  check(value, 'metadata');
  return value;
}

/** Shallow merge of own keys, as Nango's PATCH /connections/metadata does. */
export function mergeMetadata(current: Readonly<Record<string, unknown>>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) merged[k] = v;
  return merged;
}
