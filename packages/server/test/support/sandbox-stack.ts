import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, type Sandbox, type SandboxOptions } from '@keyway/sandbox';
import { BUILT_IN_TEMPLATES_DIR } from '../../src/templates/catalog.ts';
import { freePort, startKeyway, type TestKeyway } from './keyway.ts';

export const SANDBOX_CLIENT = { clientId: 'keyway-test-client', clientSecret: 'sandbox secret +%: with symbols' };

/**
 * Keyway and the sandbox provider on free ports, wired to each other: the sandbox knows Keyway's
 * exact callback, and Keyway's `keyway-sandbox` template is pointed at the sandbox's port.
 */
export async function startSandboxStack(options: { sandbox?: SandboxOptions; keyway?: Parameters<typeof startKeyway>[0] } = {}): Promise<{ kw: TestKeyway; sandbox: Sandbox; close(): Promise<void> }> {
  const template = JSON.parse(await readFile(join(BUILT_IN_TEMPLATES_DIR, 'keyway-sandbox.json'), 'utf8')) as Record<string, unknown>;
  // Keyway's port is picked before the sandbox learns its callback URL; another process may bind it
  // before Keyway does (test files run in parallel): then both start again on a new port.
  for (let attempt = 1; ; attempt++) {
    const keywayPort = options.keyway?.config?.port ?? (await freePort());
    const sandbox = await startSandbox({
      port: 0,
      clients: [{ ...SANDBOX_CLIENT, redirectUris: [`http://127.0.0.1:${keywayPort}/oauth/callback`] }],
      ...options.sandbox,
    });
    let kw: TestKeyway;
    try {
      kw = await startKeyway({
        ...options.keyway,
        templates: { ...options.keyway?.templates, 'keyway-sandbox': { ...template, authorization_url: sandbox.authorizationUrl, token_url: sandbox.tokenUrl, issuer: sandbox.url, proxy: { base_url: sandbox.url } } },
        config: { port: keywayPort, ...options.keyway?.config },
      });
    } catch (e) {
      await sandbox.close();
      if (options.keyway?.config?.port !== undefined || attempt >= 5 || (e as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') throw e;
      continue;
    }
    return {
      kw,
      sandbox,
      async close() {
        await kw.close();
        await sandbox.close();
      },
    };
  }
}
