/**
 * `pnpm demo`: starts the sandbox provider, Keyway and the demo app, and prints the one URL to open.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_USER_ID } from './app.ts';
import { REPO_ROOT, SANDBOX_CONFIG_KEY, startDemoStack } from './stack.ts';

// A .env at the repository root (SLACK_CLIENT_ID, ...); variables already set win.
const envFile = join(REPO_ROOT, '.env');
if (existsSync(envFile)) process.loadEnvFile(envFile);

try {
  const stack = await startDemoStack();
  const secretKeyPlace = process.env.KEYWAY_SECRET_KEY ? 'the KEYWAY_SECRET_KEY environment variable' : join(stack.dataDir, 'secrets.json');
  process.stdout.write(
    [
      '',
      `Keyway demo: ${stack.demoUrl}`,
      '',
      `  1. Open ${stack.demoUrl}`,
      `  2. Click "Connect" on "Keyway Sandbox" (${SANDBOX_CONFIG_KEY}) and approve in the popup.`,
      `  3. See the connection of "${DEMO_USER_ID}": token expiry, metadata and a masked token, read by the demo's backend with @keyway/node.`,
      '',
      `  Keyway ${stack.keywayUrl} (callback ${stack.keywayUrl}/oauth/callback), sandbox provider ${stack.sandboxUrl}.`,
      `  The secret key (backend only) is kept in ${secretKeyPlace}; the data in ${stack.dataDir}.`,
      '  Slack / GitHub / Google: see examples/demo/README.md. Ctrl+C stops everything.',
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void stack.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (e) {
  process.stderr.write(`keyway demo: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
}
