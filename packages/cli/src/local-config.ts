import type { Config } from '@keyway/server';
import { configInput, type Env } from './environment.ts';

export type LocalConfig =
  | { readonly ok: true; readonly config: Config; readonly wouldGenerate: readonly string[] }
  | { readonly ok: false; readonly error: string; readonly wouldGenerate: readonly string[] };

/**
 * The server's configuration as `keyway-server` would load it here, without its side effect:
 * keys that are nowhere are reported in `wouldGenerate`, not generated into secrets.json.
 */
export async function loadLocalConfig(env: Env, cwd: string): Promise<LocalConfig> {
  // Imported on demand: the API commands do not need the server's code.
  const { loadConfig, ConfigError } = await import('@keyway/server');
  const input = configInput(env, cwd);
  try {
    const { config } = await loadConfig({ ...input.env }, cwd);
    return { ok: true, config, wouldGenerate: input.wouldGenerate };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message, wouldGenerate: input.wouldGenerate };
    throw e;
  }
}
