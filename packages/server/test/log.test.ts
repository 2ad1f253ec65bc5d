import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFormat, withRequestId, type LogFormat } from '../src/log.ts';

const capture = (format: LogFormat, level: 'debug' | 'info' = 'debug') => {
  const lines: string[] = [];
  return { lines, log: createLogger(level, (l) => lines.push(l), { format }) };
};

describe('the logger', () => {
  it('writes one JSON object a line in json format: level, time, msg and the fields', () => {
    const { lines, log } = capture('json');
    log.warn('refresh refused by the provider', { config_key: 'github', connection_id: 'u1', error_code: 'invalid_grant', failure_days: 2 });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toEqual({ level: 'warn', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: 'refresh refused by the provider', config_key: 'github', connection_id: 'u1', error_code: 'invalid_grant', failure_days: 2 });
  });

  it('writes `time level msg key="value"` in pretty format, and honours the level', () => {
    const { lines, log } = capture('pretty', 'info');
    log.debug('hidden');
    log.info('flow started', { config_key: 'github', sdk: true, skipped: undefined });
    expect(lines).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\S+ info  flow started config_key="github" sdk=true$/)]);
  });

  it('puts the request id on every line logged within a request, across awaits, and on none outside', async () => {
    const { lines, log } = capture('json');
    await withRequestId('req-0001-abcd', async () => {
      log.info('one');
      await new Promise((r) => setTimeout(r, 1));
      log.info('two');
    });
    log.info('three');
    expect(lines.map((l) => (JSON.parse(l) as { request_id?: string }).request_id)).toEqual(['req-0001-abcd', 'req-0001-abcd', undefined]);
  });

  it('redacts fields that could hold a secret, and credentials inside free text', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { lines, log } = capture(format);
      log.error('unexpected error', {
        access_token: 'AT-secret-1',
        refresh_token: 'RT-secret-2',
        client_secret: 'CS-secret-3',
        x_api_key: 'AK-secret-4',
        session_cookie: 'CK-secret-5',
        code: 'CODE-secret-6',
        error: 'GET https://p.example/cb?code=CODE-secret-7&state=ST-secret-8 failed; Authorization: Bearer BT-secret-9',
        // Ours and safe: error codes and the config key stay readable.
        error_code: 'invalid_grant',
        config_key: 'github',
      });
      const text = lines.join('\n');
      for (let i = 1; i <= 9; i++) expect(text).not.toContain(`secret-${i}`);
      expect(text).toContain('invalid_grant');
      expect(text).toContain('github');
      expect(text).toContain('[redacted]');
    }
  });

  it('chooses its format: KEYWAY_LOG_FORMAT, else pretty in development, json in production', () => {
    expect(defaultLogFormat({ KEYWAY_LOG_FORMAT: 'json', NODE_ENV: 'development' }, true)).toBe('json');
    expect(defaultLogFormat({ KEYWAY_LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false)).toBe('pretty');
    expect(defaultLogFormat({ NODE_ENV: 'production' }, true)).toBe('json');
    expect(defaultLogFormat({ NODE_ENV: 'development' }, false)).toBe('pretty');
    expect(defaultLogFormat({ NODE_ENV: 'test' }, false)).toBe('pretty');
    expect(defaultLogFormat({}, true)).toBe('pretty');
    expect(defaultLogFormat({}, false)).toBe('json');
    expect(() => defaultLogFormat({ KEYWAY_LOG_FORMAT: 'xml' }, false)).toThrow(/KEYWAY_LOG_FORMAT/);
  });
});
