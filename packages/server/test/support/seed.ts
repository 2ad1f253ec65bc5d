import { onTestFailed } from 'vitest';

/**
 * A seeded pseudo-random source for tests that choose things at random (kill moments, orders), so a
 * failure can be replayed: the seed comes from KEYWAY_TEST_SEED or is drawn, and is printed when the
 * test fails. Call it inside the test (it registers the failure hook on the running test).
 */
export function seededRandom(): { readonly seed: number; next(): number } {
  const given = Number(process.env.KEYWAY_TEST_SEED);
  const seed = Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
  onTestFailed(() => console.error(`Replay this test with KEYWAY_TEST_SEED=${seed}`));
  let a = seed >>> 0;
  // mulberry32: small, fast, and good enough to spread kill moments.
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next };
}
