import type { Store } from './types.ts';

/** The Store methods that write; each is timed by operation name. */
const WRITES = new Set<string>([
  'putIntegration', 'deleteIntegration', 'writeConnection', 'deleteConnection', 'putFlow', 'takeFlow',
  'putOutcome', 'putSession', 'putDashboardSession', 'deleteDashboardSession',
]);

/**
 * The store, with the latency of every write reported to `observe` (seconds). A proxy rather than
 * a wrapper class: adapters and the Store interface can grow without this file knowing; reads pass
 * straight through (bound once, then cached).
 */
export function timeStoreWrites(store: Store, observe: (operation: string, seconds: number) => void): Store {
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let method = methods.get(prop);
      if (method === undefined) {
        const fn = (value as (...args: unknown[]) => unknown).bind(target);
        method = typeof prop === 'string' && WRITES.has(prop)
          ? async (...args: unknown[]) => {
              const started = performance.now();
              try {
                return await fn(...args);
              } finally {
                observe(prop, (performance.now() - started) / 1000);
              }
            }
          : fn;
        methods.set(prop, method);
      }
      return method;
    },
  });
}
