// @vitest-environment node
import { afterEach, expect, it, vi } from 'vitest';

const BROWSER_GLOBALS = ['window', 'document', 'location', 'navigator', 'self', 'screen'];

afterEach(() => {
  for (const name of BROWSER_GLOBALS) delete (globalThis as Record<string, unknown>)[name];
});

it('imports in plain Node with no window, touching no browser global', async () => {
  expect(typeof window).toBe('undefined');
  const touched: string[] = [];
  for (const name of BROWSER_GLOBALS) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        throw new ReferenceError(`${name} is not defined`);
      },
    });
  }
  vi.resetModules();
  const mod = await import('../src/index.ts');
  expect(typeof mod.default).toBe('function');
  expect(mod.Nango).toBe(mod.default);
  expect(typeof mod.AuthError).toBe('function');
  // Constructing is server-safe too (e.g. in a component rendered on the server).
  new mod.default({ host: 'https://keyway.example', publicKey: 'pk' });
  expect(touched).toEqual([]);
});
