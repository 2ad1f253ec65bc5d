#!/usr/bin/env node
// `pnpm sandbox` / `keyway-sandbox`: runs the sandbox from environment variables.
//   SANDBOX_PORT              default 3004
//   SANDBOX_HOST              default 127.0.0.1 (loopback only)
//   SANDBOX_REDIRECT_URIS     comma-separated redirect URIs of the default client
//   SANDBOX_ACCESS_TOKEN_TTL  access token lifetime in seconds (default 3600)
//   SANDBOX_COOP=1            send Cross-Origin-Opener-Policy: same-origin on the flow's pages
//   SANDBOX_AUTO_APPROVE=1    approve every request at once, without the page
import { DEFAULT_CLIENT, DEFAULT_PORT, startSandbox, type SandboxOptions } from './index.ts';

function integer(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

function flag(name: string): boolean {
  const raw = process.env[name]?.trim().toLowerCase();
  return raw === '1' || raw === 'true' || raw === 'yes';
}

function options(): SandboxOptions {
  const redirectUris = (process.env.SANDBOX_REDIRECT_URIS ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean);
  const host = process.env.SANDBOX_HOST?.trim();
  const accessTokenTtlSeconds = integer('SANDBOX_ACCESS_TOKEN_TTL', 1, 10 * 365 * 24 * 3600);
  return {
    port: integer('SANDBOX_PORT', 0, 65535) ?? DEFAULT_PORT,
    ...(host ? { host } : {}),
    clients: [{ ...DEFAULT_CLIENT, redirectUris: redirectUris.length > 0 ? redirectUris : [...DEFAULT_CLIENT.redirectUris] }],
    ...(accessTokenTtlSeconds === undefined ? {} : { accessTokenTtlSeconds }),
    crossOriginOpenerPolicy: flag('SANDBOX_COOP'),
    autoApprove: flag('SANDBOX_AUTO_APPROVE'),
  };
}

async function main(): Promise<void> {
  const sandbox = await startSandbox(options());
  // The URL only: the client secret and tokens are never printed.
  console.log(`Keyway sandbox listening at ${sandbox.url} (client_id ${DEFAULT_CLIENT.clientId})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`keyway-sandbox: error while stopping on ${signal}: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`keyway-sandbox: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
