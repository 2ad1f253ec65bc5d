import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_METADATA_BYTES, MAX_METADATA_DEPTH } from '../src/connections/metadata.ts';
import { SECRET_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/** Malformed requests get a typed 400 (never a 500), write no error log line and change nothing. */
let kw: TestKeyway;
const logs: string[] = [];
beforeAll(async () => {
  kw = await startKeyway({ logs });
  await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'github', provider: 'github', credentials: { client_id: 'id', client_secret: 'secret' } }) });
  await kw.keyway.connections.upsert({
    providerConfigKey: 'github',
    connectionId: 'alice',
    provider: 'github',
    credentials: { type: 'OAUTH2', access_token: 'at', raw: {} },
    connectionConfig: {},
    endUser: null,
  });
});
afterAll(() => kw?.close());

const db = () => readFile(kw.config.dbPath, 'utf8');
const errorLines = () => logs.filter((l) => / error /.test(l));
const send = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
  const res = await fetch(kw.url + path, { ...init, headers: { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json', ...init.headers } });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
};
const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
const metadataBody = (metadata: string) => `{"provider_config_key":"github","connection_id":"alice","metadata":${metadata}}`;

describe('typed 400s for bad input', () => {
  it.each([
    ['the SDK outcome poll', '/oauth/flows/%E0%A4%A'],
    ['a backend route', '/connections/%E0%A4%A?provider_config_key=github'],
    ['an integration', '/integrations/%ZZ'],
  ])('answers a malformed percent-escape in the path of %s with invalid_path', async (_name, path) => {
    const before = await db();
    const res = await send(path);
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_path']);
    expect(errorLines()).toEqual([]);
    expect(await db()).toBe(before);
  });

  it('answers a body with a broken Content-Encoding: gzip with invalid_body', async () => {
    const before = await db();
    const truncated = gzipSync(metadataBody('{"x":1}')).subarray(0, 12);
    for (const path of ['/connections/metadata', '/connect/sessions', '/api-auth/api-key/github?connection_id=u']) {
      const res = await send(path, { method: 'POST', body: truncated, headers: { 'content-encoding': 'gzip' } });
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'invalid_body']);
    }
    const garbage = await send('/connections/metadata', { method: 'POST', body: 'not gzip at all', headers: { 'content-encoding': 'gzip' } });
    expect([garbage.status, garbage.body.error.code]).toEqual([400, 'invalid_body']);
    expect(errorLines()).toEqual([]);
    expect(await db()).toBe(before);
  });

  it('refuses metadata nested about 4,500 levels deep (and past the limit), and a 200,000-level array body', async () => {
    const before = await db();
    for (const depth of [4500, MAX_METADATA_DEPTH + 1]) {
      for (const method of ['POST', 'PATCH']) {
        const res = await send('/connections/metadata', { method, body: metadataBody(nested(depth)) });
        expect([depth, method, res.status, res.body.error.code]).toEqual([depth, method, 400, 'invalid_body']);
        expect(res.body.error.message).toMatch(/deeper than 32 levels/);
      }
    }
    const arrays = await send('/connections/metadata', { method: 'POST', body: metadataBody('['.repeat(100_000) + ']'.repeat(100_000)) });
    expect([arrays.status, arrays.body.error.code]).toEqual([400, 'invalid_body']);
    expect(errorLines()).toEqual([]);
    expect(await db()).toBe(before);
  });

  it('accepts metadata exactly at the depth limit', async () => {
    const res = await send('/connections/metadata', { method: 'POST', body: metadataBody(nested(MAX_METADATA_DEPTH)) });
    expect(res.status).toBe(200);
    await send('/connections/metadata', { method: 'POST', body: metadataBody('{}') });
  });

  it('refuses metadata over the size limit, also when a PATCH merge would grow past it', async () => {
    const half = 'x'.repeat(MAX_METADATA_BYTES / 2);
    const tooBig = await send('/connections/metadata', { method: 'POST', body: metadataBody(JSON.stringify({ a: half, b: half })) });
    expect([tooBig.status, tooBig.body.error.code]).toEqual([400, 'invalid_body']);
    expect(tooBig.body.error.message).toMatch(/larger than 64 KiB/);

    expect((await send('/connections/metadata', { method: 'POST', body: metadataBody(JSON.stringify({ a: half })) })).status).toBe(200);
    const before = await db();
    const merged = await send('/connections/metadata', { method: 'PATCH', body: metadataBody(JSON.stringify({ b: half })) });
    expect([merged.status, merged.body.error.code]).toEqual([400, 'invalid_body']);
    expect(await db()).toBe(before);
    expect(errorLines()).toEqual([]);
  });
});
