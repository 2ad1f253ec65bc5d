import { KeywayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';

/** The largest JSON body the API reads. */
export const JSON_LIMIT = '256kb';
/** What clients are told to wait before trying again while the database cannot be reached. */
const STORE_RETRY_AFTER_S = 2;

/** Body-parser errors, resource failures and anything unexpected become typed errors; nothing else leaks. */
export function toKeywayError(err: unknown): KeywayError {
  if (err instanceof KeywayError) return err;
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.too.large') return new KeywayError('payload_too_large', `The body is larger than ${JSON_LIMIT}`);
  if (type === 'entity.parse.failed') return new KeywayError('invalid_body', 'The body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new KeywayError('unsupported_media_type', 'The body encoding is not supported');
  if (type === 'request.aborted' || type === 'request.size.invalid') return new KeywayError('invalid_body', 'The body was not received whole');
  // The router's decoding of a path parameter: a malformed percent-escape is the client's mistake.
  if (err instanceof URIError) return new KeywayError('invalid_path', 'The path has a malformed percent-escape');
  if (isStoreUnavailable(err)) return new KeywayError('store_unavailable', 'The database cannot be reached right now. Try again shortly.', undefined, STORE_RETRY_AFTER_S);
  const code = (err as { code?: unknown })?.code;
  // Nothing was changed: the write was refused whole (the store undoes it in memory); reads still work.
  if (code === 'ENOSPC' || code === 'EDQUOT') return new KeywayError('storage_full', 'The server cannot store this change: its disk is full. Nothing was changed; reads still work.');
  // A body whose Content-Encoding does not decode (truncated gzip, a bad deflate stream).
  if (typeof code === 'string' && code.startsWith('Z_')) return new KeywayError('invalid_body', 'The body could not be decompressed (bad Content-Encoding data)');
  const status = (err as { status?: unknown })?.status;
  if (status === 404) return new KeywayError('not_found', 'Not found'); // static files
  if (typeof status === 'number' && status >= 400 && status < 500) return new KeywayError('invalid_body', 'The request could not be read');
  return new KeywayError('server_error', 'Internal server error');
}

/** The typed error for `err`, logged once when it is the server's fault (never the client's). */
export function reportError(err: unknown, log: Logger, where: { method: string; path: string }): KeywayError {
  const error = toKeywayError(err);
  if (error.code === 'server_error') log.error('unexpected error', { ...where, error: String((err as Error)?.stack ?? err) });
  else if (error.status >= 500) log.error(error.message, { ...where, error_code: error.code, cause: String((err as Error)?.message ?? err) });
  return error;
}
