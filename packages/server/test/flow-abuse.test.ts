import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/http/rate-limit.ts';
import { ALLOW_PUBLIC_KEY, PUBLIC_KEY, startKeyway, type TestKeyway } from './support/keyway.ts';

/**
 * Unauthenticated requests must not write to the store, and flow starts are rate-limited per
 * client address and per key (issue 12, item 4). Time is an injected clock: nothing sleeps.
 */
const TEMPLATE = {
  display_name: 'Fake',
  categories: ['other'],
  docs: 'https://example.com/docs',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://provider.example.com/authorize',
  token_url: 'https://provider.example.com/token',
};
const flowId = () => randomBytes(32).toString('base64url');
const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

async function start(options: Parameters<typeof startKeyway>[0]) {
  // These flows start with the public key: the explicit opt-in.
  const kw = await startKeyway({ templates: { fake: TEMPLATE }, ...options, config: { ...ALLOW_PUBLIC_KEY, ...options?.config } });
  expect((await kw.api('/integrations', { method: 'POST', body: JSON.stringify({ unique_key: 'fake', provider: 'fake', credentials: { client_id: 'cid', client_secret: 'sec' } }) })).status).toBe(200);
  return kw;
}

describe('a refused flow start writes nothing', () => {
  let kw: TestKeyway;
  beforeAll(async () => {
    kw = await start({ config: { allowedOrigins: ['https://app.example.com'] } });
  });
  afterAll(() => kw?.close());

  it.each([
    ['a wrong public key', '&public_key=wrong'],
    ['no key', ''],
    ['an unknown connect session', '&connect_session_token=nope'],
  ])('with a well-formed flow_id and %s: no outcome, no byte of the store changed', async (_name, auth) => {
    const before = await readFile(kw.config.dbPath);
    const id = flowId();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${kw.url}/oauth/connect/fake?connection_id=u&flow_id=${id}&origin=https://app.example.com${auth}`, { redirect: 'manual', headers: { accept: 'application/json' } });
      expect(res.status).toBe(401);
    }
    expect((await readFile(kw.config.dbPath)).equals(before)).toBe(true);
    expect(await (await fetch(`${kw.url}/oauth/flows/${id}?wait=0`)).json()).toEqual({ status: 'pending' });
  });

  it('an authorised flow that fails still reports its outcome to the SDK', async () => {
    const id = flowId();
    const res = await fetch(`${kw.url}/oauth/connect/fake?connection_id=__proto__&flow_id=${id}&origin=https://app.example.com&public_key=${PUBLIC_KEY}`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(await (await fetch(`${kw.url}/oauth/flows/${id}?wait=0`)).json()).toMatchObject({ status: 'error', error: { code: 'invalid_connection_id' } });
  });
});

describe('flow starts are rate-limited', () => {
  let now = 1_000_000;
  const clock = () => now;
  const connect = (kw: TestKeyway, extra = '') => fetch(`${kw.url}/oauth/connect/fake?connection_id=u&public_key=${PUBLIC_KEY}${extra}`, { redirect: 'manual', headers: { accept: 'application/json' } });

  it('per client address: 429 with Retry-After, a typed error, and nothing written; allowed again once the time has passed', async () => {
    const kw = await start({ config: { flowStartsPerMinutePerAddress: 3, flowStartsPerMinutePerKey: 0 }, overrides: { now: clock } });
    try {
      for (let i = 0; i < 3; i++) expect((await connect(kw)).status).toBe(302);
      const before = await readFile(kw.config.dbPath);
      const refused = await connect(kw, `&flow_id=${flowId()}`);
      expect(refused.headers.get('retry-after')).toBe('20'); // 3 a minute: one every 20 s
      expect(await errorOf(refused)).toEqual([429, 'rate_limited']);
      const key = await fetch(`${kw.url}/api-auth/api-key/fake?public_key=${PUBLIC_KEY}&connection_id=u`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect([key.status, key.headers.get('retry-after')]).toEqual([429, '20']);
      expect((await readFile(kw.config.dbPath)).equals(before)).toBe(true);
      now += 19_000;
      expect((await connect(kw)).headers.get('retry-after')).toBe('1');
      now += 1_000;
      expect((await connect(kw)).status).toBe(302);
    } finally {
      await kw.close();
    }
  });

  it('per key: the public key and each connect session have buckets of their own', async () => {
    const kw = await start({ config: { flowStartsPerMinutePerAddress: 0, flowStartsPerMinutePerKey: 2 }, overrides: { now: clock } });
    try {
      expect((await connect(kw)).status).toBe(302);
      expect((await connect(kw)).status).toBe(302);
      const refused = await connect(kw);
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '30']);
      const session = await kw.api('/connect/sessions', { method: 'POST', body: JSON.stringify({ end_user: { id: 'user-1' } }) });
      const token = session.body.data.token as string;
      const viaSession = await fetch(`${kw.url}/oauth/connect/fake?connect_session_token=${token}`, { redirect: 'manual' });
      expect(viaSession.status).toBe(302);
    } finally {
      await kw.close();
    }
  });

  it('limits nothing when set to 0', () => {
    const off = new RateLimiter(0, clock);
    for (let i = 0; i < 1000; i++) expect(off.take('k')).toBe(0);
  });

  it('refills at the configured rate, up to one minute of requests', () => {
    let t = 0;
    const limiter = new RateLimiter(60, () => t);
    for (let i = 0; i < 60; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0); // another key is not affected
    t += 10 * 60_000; // a long pause refills no more than the burst
    for (let i = 0; i < 60; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });
});
