import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderTemplate } from './schema.ts';
import { validateTemplate } from './validate.ts';

export { BUILT_IN_TEMPLATES_DIR } from '../assets.ts';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** All Provider Templates known to this server, by name. Read once at start, immutable after. */
export class TemplateCatalog {
  readonly #byName: ReadonlyMap<string, ProviderTemplate>;

  constructor(templates: Iterable<ProviderTemplate>) {
    this.#byName = new Map([...templates].map((t) => [t.name, t]));
  }

  get(name: string): ProviderTemplate | undefined {
    return this.#byName.get(name);
  }

  list(): ProviderTemplate[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Loads every `*.json` of each folder; a later folder's template replaces a built-in one of the
   * same name (how a user points a provider at another host). Throws one TemplateError naming the
   * file and field at fault.
   */
  static async load(dirs: readonly string[]): Promise<{ catalog: TemplateCatalog; overridden: string[] }> {
    const byName = new Map<string, ProviderTemplate>();
    const overridden: string[] = [];
    for (const dir of dirs) {
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
      } catch (e) {
        throw new TemplateError(`templates folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      const seen = new Set<string>();
      for (const file of files) {
        const path = join(dir, file);
        const name = file.slice(0, -'.json'.length);
        let data: unknown;
        try {
          data = JSON.parse(await readFile(path, 'utf8'));
        } catch (e) {
          throw new TemplateError(`template ${path}: not valid JSON (${(e as Error).message})`);
        }
        try {
          const template = validateTemplate(name, data);
          if (byName.has(name) && !seen.has(name)) overridden.push(name);
          byName.set(name, template);
          seen.add(name);
        } catch (e) {
          throw new TemplateError(`template ${path}: ${(e as Error).message}`);
        }
      }
    }
    return { catalog: new TemplateCatalog(byName.values()), overridden };
  }
}
