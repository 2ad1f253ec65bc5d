import { randomBytes } from 'node:crypto';
import type { CommandSpec, GroupSpec } from '../context.ts';

/** The same shapes the server generates on its first start (see @keyway/server's loadConfig). */
export function generateKeys(): { KEYWAY_ENCRYPTION_KEY: string; KEYWAY_SECRET_KEY: string; KEYWAY_PUBLIC_KEY: string; KEYWAY_WEBHOOK_SECRET: string } {
  return {
    KEYWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    KEYWAY_SECRET_KEY: `kw_sk_${randomBytes(24).toString('base64url')}`,
    KEYWAY_PUBLIC_KEY: `kw_pk_${randomBytes(16).toString('base64url')}`,
    KEYWAY_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
  };
}

const generate: CommandSpec = {
  path: ['keys', 'generate'],
  summary: 'print a fresh KEYWAY_ENCRYPTION_KEY, KEYWAY_SECRET_KEY, KEYWAY_PUBLIC_KEY and KEYWAY_WEBHOOK_SECRET in .env format (local)',
  details:
    'Nothing is sent or stored: append the output to the server\'s .env (mode 0600) or your secret store.\n' +
    'A new KEYWAY_ENCRYPTION_KEY for an existing database goes first: "new,old", then keyway reencrypt.',
  examples: ['keyway keys generate >> .env && chmod 600 .env'],
  async run(ctx) {
    const keys = generateKeys();
    if (ctx.json) {
      ctx.out.data(keys);
      return 0;
    }
    ctx.out.raw(
      `# Keyway keys, generated ${new Date().toISOString()}. Keep them secret; back up KEYWAY_ENCRYPTION_KEY with the database.\n` +
        Object.entries(keys)
          .map(([name, value]) => `${name}=${value}\n`)
          .join(''),
    );
    return 0;
  },
};

export const keys: GroupSpec = {
  name: 'keys',
  summary: 'keys for a new Keyway server',
  commands: [generate],
};
