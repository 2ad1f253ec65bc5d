import { KeywayError } from './errors.ts';

/** Client-side checks, run before any request is sent (as @nangohq/node does). */

export function requireProviderConfigKey(value: unknown, name = 'Provider config key'): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new KeywayError('missing_provider_config_key', `${name} is required`);
  }
}

export function requireConnectionId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new KeywayError('missing_connection_id', 'Connection id is required');
  }
}

/** One connection id, or a non-empty list of them. */
export function requireConnectionIds(value: unknown): asserts value is string | string[] {
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every((id) => typeof id === 'string' && id !== '')) {
      throw new KeywayError('missing_connection_id', 'Connection id is required (a non-empty list of non-empty ids)');
    }
    return;
  }
  requireConnectionId(value);
}

export function requireMetadata(value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeywayError('missing_metadata', 'Metadata is required (a plain object)');
  }
}

export function requireProvider(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new KeywayError('missing_provider', 'Provider is required');
  }
}
