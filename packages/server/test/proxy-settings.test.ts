import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../src/proxy/retry.ts';
import { validateTemplate } from '../src/templates/validate.ts';

/** The template's `proxy` field, and the waits the proxy derives from a provider's answer. */
const key = { display_name: 'K', categories: ['other'], docs: 'https://example.com', auth_mode: 'API_KEY', credentials: { apiKey: { title: 'Key' } } };

describe('proxy in a template', () => {
  it('accepts base_url, headers, query and retry with placeholders the template declares', () => {
    const t = validateTemplate('k', {
      ...key,
      connection_config: { region: { title: 'Region', pattern: 'eu|us' } },
      proxy: { base_url: 'https://api.${connectionConfig.region}.example.com/v2', headers: { 'x-api-key': '${apiKey}' }, query: { key: '${credentials.apiKey}' }, retry: { at: ['x-ratelimit-reset'], after: ['retry-after'] } },
    });
    expect(t.proxy?.base_url).toBe('https://api.${connectionConfig.region}.example.com/v2');
  });

  it.each([
    ['no base_url', { headers: {} }, 'proxy.base_url` is missing'],
    ['an http base_url', { base_url: 'http://api.example.com' }, 'proxy.base_url` must be an https URL'],
    ['a query in base_url', { base_url: 'https://api.example.com?k=1' }, 'proxy.base_url` must not have a query'],
    ['an unknown field', { base_url: 'https://api.example.com', paginate: {} }, 'proxy.paginate` is not a proxy field'],
    ['a hop-by-hop header', { base_url: 'https://api.example.com', headers: { Connection: 'close' } }, 'proxy.headers.Connection` is not a header'],
    ['a line break in a value', { base_url: 'https://api.example.com', headers: { 'x-a': 'a\r\nb: c' } }, 'proxy.headers` must map names to strings'],
    ['an undeclared input', { base_url: 'https://${connectionConfig.host}/api' }, 'uses ${connectionConfig.host}, which no input, post-connection request or token response provides'],
    ['an undeclared credential', { base_url: 'https://api.example.com', query: { k: '${credentials.secret}' } }, 'must declare "secret"'],
    ['a retry rule that is not a list', { base_url: 'https://api.example.com', retry: { at: 'x-reset' } }, 'proxy.retry.at` must be a list'],
  ])('refuses %s', (_name, proxy, message) => {
    expect(() => validateTemplate('k', { ...key, proxy })).toThrow(message);
  });
});

describe('retry delays', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it('reads Retry-After as seconds or an HTTP date, and the template\'s headers first', () => {
    expect(retryDelayMs({ 'retry-after': '2' }, undefined, 0, now, () => 0)).toBe(2000);
    expect(retryDelayMs({ 'retry-after': 'Mon, 30 Nov 2026 12:00:05 GMT' }, undefined, 0, now, () => 0)).toBe(5000);
    expect(retryDelayMs({ 'x-wait': '7', 'retry-after': '2' }, { after: ['x-wait'] }, 0, now, () => 0)).toBe(7000);
  });
  it('reads a reset time in epoch seconds, or a small number as seconds to wait', () => {
    expect(retryDelayMs({ 'x-ratelimit-reset': String(now / 1000 + 12) }, { at: ['x-ratelimit-reset'] }, 0, now, () => 0)).toBe(12_000);
    expect(retryDelayMs({ 'x-ratelimit-reset': '4' }, { at: ['x-ratelimit-reset'] }, 0, now, () => 0)).toBe(4000);
    expect(retryDelayMs({ 'x-ratelimit-reset': String(now / 1000 - 5) }, { at: ['x-ratelimit-reset'] }, 0, now, () => 0)).toBe(0);
  });
  it('backs off exponentially with jitter, capped', () => {
    const d = (attempt: number, r: number) => retryDelayMs({}, undefined, attempt, now, () => r);
    expect([d(0, 0), d(0, 1), d(1, 0), d(1, 1), d(3, 1)]).toEqual([125, 250, 250, 500, 2000]);
    expect(d(20, 1)).toBe(10_000);
  });
});
