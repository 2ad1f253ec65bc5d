import type { Request } from 'express';
import { KeywayError } from '../errors.ts';
import { parseConfigKey } from '../ids.ts';
import { isRecord } from '../primitives.ts';

/** The raw query string as URLSearchParams (the app turns Express's query parser off). */
export function queryOf(req: Request): URLSearchParams {
  const i = req.originalUrl.indexOf('?');
  return new URLSearchParams(i === -1 ? '' : req.originalUrl.slice(i + 1));
}

/** The JSON object body, or a typed 400. */
export function bodyOf(req: Request): Record<string, unknown> {
  if (!isRecord(req.body)) throw new KeywayError('invalid_body', 'The body must be a JSON object (Content-Type: application/json)');
  return req.body;
}

export function optionalString(body: Record<string, unknown>, field: string, max = 1024): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new KeywayError('invalid_body', `\`${field}\` must be a string of 1 to ${max} characters`);
  }
  return v;
}

export function booleanParam(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw new KeywayError('invalid_query_params', `\`${name}\` must be true or false`);
}

export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new KeywayError('invalid_query_params', `\`${name}\` must be a whole number from ${min} to ${max}`);
  return n;
}

/** `provider_config_key`, required and well-formed. */
export function configKeyParam(q: URLSearchParams): string {
  const key = q.get('provider_config_key');
  if (!key) throw new KeywayError('invalid_query_params', '`provider_config_key` is required');
  return parseConfigKey(key);
}
