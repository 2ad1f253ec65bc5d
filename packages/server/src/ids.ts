import { KeywayError } from './errors.ts';

/**
 * User-chosen ids. Stored in Maps, so no id can reach a prototype; names that mean something to
 * JavaScript objects are refused anyway, so no id behaves differently in some other consumer.
 */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const CONNECTION_ID = /^[A-Za-z0-9._~@:+=|-]{1,255}$/;
const CONFIG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export function parseConnectionId(value: unknown): string {
  if (value === undefined || value === '') throw new KeywayError('missing_connection_id', 'A connection id is required');
  if (typeof value !== 'string' || !CONNECTION_ID.test(value) || RESERVED.has(value)) {
    throw new KeywayError(
      'invalid_connection_id',
      'A connection id is 1 to 255 characters of letters, digits and . _ ~ @ : + = | -, and not __proto__, constructor or prototype',
    );
  }
  return value;
}

export function parseConfigKey(value: unknown): string {
  if (typeof value !== 'string' || !CONFIG_KEY.test(value) || RESERVED.has(value)) {
    throw new KeywayError(
      'invalid_provider_config_key',
      'A provider config key is 1 to 100 characters of letters, digits and _ . -, starting with a letter or digit',
    );
  }
  return value;
}
