import { describe, expect, it } from 'vitest';
import { RecordCache, type Cached } from '../src/store/postgres/record-cache.ts';

/**
 * The PostgreSQL store's cache of decrypted records, alone: when a result may enter it (the
 * stale-fill rule), its bound, and its on/off switch. The store's behaviour across instances is the
 * contract suite's (store-contract.test.ts); this checks the rules it rests on, one at a time.
 */

const rec = (v: string): Cached<string> => ({ rec: v, sealed: `sealed:${v}` });

/** A read the test finishes when it chooses, counting how often it was started. */
function reads() {
  const pending: ((value: Cached<string> | undefined) => void)[] = [];
  return {
    started: () => pending.length,
    read: () => new Promise<Cached<string> | undefined>((resolve) => pending.push(resolve)),
    finish: (i: number, value: Cached<string> | undefined) => pending[i]!(value),
  };
}

const enabled = (max = 10) => {
  const cache = new RecordCache<string>(max);
  cache.reset(true);
  return cache;
};

describe('RecordCache', () => {
  it('caches nothing until enabled, and drops everything when turned on or off', async () => {
    const cache = new RecordCache<string>(10);
    await cache.load('a', async () => rec('1'));
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.size).toBe(0);

    cache.reset(true);
    await cache.load('a', async () => rec('1'));
    expect(cache.peek('a')).toEqual(rec('1'));
    cache.reset(true);
    expect(cache.size).toBe(0);
    await cache.load('a', async () => rec('2'));
    cache.reset(false);
    expect(cache.size).toBe(0);
    expect(cache.peek('a')).toBeUndefined();
  });

  it('serves a hit from memory, and shares one read among concurrent misses', async () => {
    const cache = enabled();
    const r = reads();
    const first = cache.load('a', r.read);
    const second = cache.load('a', r.read);
    expect(r.started()).toBe(1);
    r.finish(0, rec('1'));
    expect(await first).toEqual(rec('1'));
    expect(await second).toEqual(rec('1'));
    expect(await cache.load('a', r.read)).toEqual(rec('1'));
    expect(r.started()).toBe(1);
  });

  it('does not cache a read that an invalidation overtook (the notification wins over the older row)', async () => {
    const cache = enabled();
    const r = reads();
    const loading = cache.load('a', r.read);
    cache.invalidate('a'); // another instance changed "a" while the read was in flight
    r.finish(0, rec('old'));
    expect(await loading).toEqual(rec('old')); // the caller still gets its answer
    expect(cache.peek('a')).toBeUndefined();
    // The next reader reads again rather than joining the stale flight.
    const next = cache.load('a', r.read);
    expect(r.started()).toBe(2);
    r.finish(1, rec('new'));
    expect(await next).toEqual(rec('new'));
    expect(cache.peek('a')).toEqual(rec('new'));
  });

  it('a write of its own: reads in flight are not cached, the written record is', async () => {
    const cache = enabled();
    const r = reads();
    const loading = cache.load('a', r.read);
    const fill = cache.begin('a');
    cache.commit('a', fill, rec('written'));
    r.finish(0, rec('before the write'));
    await loading;
    expect(cache.peek('a')).toEqual(rec('written'));
  });

  it('a write during which another instance changed the key is not cached; a delete leaves nothing', async () => {
    const cache = enabled();
    const fill = cache.begin('a');
    cache.invalidate('a');
    cache.commit('a', fill, rec('written'));
    expect(cache.peek('a')).toBeUndefined();

    await cache.load('b', async () => rec('1'));
    cache.commit('b', cache.begin('b'), undefined);
    expect(cache.peek('b')).toBeUndefined();
  });

  it('a list fills the cache only if nothing was invalidated since it began, and skips keys being written', () => {
    const cache = enabled();
    const before = cache.generation;
    cache.invalidate('z');
    cache.fillMany(before, [['a', rec('1')]]);
    expect(cache.peek('a')).toBeUndefined();

    const fill = cache.begin('b');
    cache.fillMany(cache.generation, [['a', rec('1')], ['b', rec('listed')]]);
    expect(cache.peek('a')).toEqual(rec('1'));
    expect(cache.peek('b')).toBeUndefined();
    cache.commit('b', fill, undefined);
  });

  it('invalidateWhere drops the matching keys and marks their reads in flight stale', async () => {
    const cache = enabled();
    await cache.load('x:1', async () => rec('1'));
    await cache.load('y:1', async () => rec('2'));
    const r = reads();
    const loading = cache.load('x:2', r.read);
    cache.invalidateWhere((k) => k.startsWith('x:'));
    r.finish(0, rec('3'));
    await loading;
    expect(cache.peek('x:1')).toBeUndefined();
    expect(cache.peek('x:2')).toBeUndefined();
    expect(cache.peek('y:1')).toEqual(rec('2'));
  });

  it('keeps at most `max` records, dropping the least recently used', async () => {
    const cache = enabled(2);
    await cache.load('a', async () => rec('a'));
    await cache.load('b', async () => rec('b'));
    await cache.load('a', async () => rec('unused')); // a hit: "a" is now the most recent
    await cache.load('c', async () => rec('c'));
    expect(cache.size).toBe(2);
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')).toEqual(rec('a'));
    expect(cache.peek('c')).toEqual(rec('c'));
  });
});
