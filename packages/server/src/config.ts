import { existsSync } from 'node:fs';
import { ConfigError, parseConfig, secretsPathOf, unsetSecrets, type Config, type SecretName } from './config/environment.ts';
import { SecretsFile } from './config/secrets-file.ts';

export { ConfigError, parseConfig, parseOrigins, type Config } from './config/environment.ts';

export interface LoadedConfig {
  readonly config: Config;
  /** Lines for the operator: what was generated and where it is kept. */
  readonly notices: readonly string[];
}

/**
 * The server's configuration: the environment (config/environment.ts, a pure parser), with the keys
 * it leaves unset taken from `secrets.json` beside the database, or generated into it on first
 * start (config/secrets-file.ts). The file is written only when a key was made and the whole
 * configuration is valid; anything wrong is one ConfigError naming the variable.
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<LoadedConfig> {
  const file = await SecretsFile.read(secretsPathOf(env, cwd));
  const made = file.generate(unsetSecrets(env));
  const config = parseConfig(env, cwd, file.secrets);
  for (const dir of config.templatesDirs.slice(1)) {
    if (!existsSync(dir)) throw new ConfigError(`KEYWAY_TEMPLATES_DIR: ${dir} does not exist`);
  }
  if (made.length > 0) await file.save();
  return { config, notices: made.map((name) => notice(name, config, file.path)) };
}

/** Printed once, on the start that made the key, so the operator can copy it; never logged again. */
function notice(name: SecretName, config: Config, path: string): string {
  switch (name) {
    case 'encryption_key':
      return `Generated an encryption key into ${path} (mode 0600). Back it up: without it the stored connections cannot be read.`;
    case 'secret_key':
      return `Generated KEYWAY_SECRET_KEY=${config.secretKey} (backend API); kept in ${path}.`;
    case 'public_key':
      return `Generated KEYWAY_PUBLIC_KEY=${config.publicKey} (browser SDK); kept in ${path}.`;
    case 'webhook_secret':
      return `Generated KEYWAY_WEBHOOK_SECRET=${config.webhookSecret} (verifies webhooks); kept in ${path}.`;
  }
}
