// Regenerates templates/logos/simple-icons.json, the Simple Icons slug of each template whose brand is in the
// `simple-icons` package (CC0), matched by display name:
//   npx tsx scripts/template-logos.ts          (writes the file)
//   npx tsx scripts/template-logos.ts --check  (exits 1 when the file is stale; the tests do this)
// The match is by the brand's title (the display name without its parenthesis, then with trailing
// words dropped: "Zoho CRM" -> "Zoho"). NOT_THE_BRAND lists titles that match a different brand.
// Templates without a slug get a generated monogram (packages/server/src/templates/logos.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_TEMPLATES_DIR, TemplateCatalog } from '../packages/server/src/templates/catalog.ts';

const FILE = fileURLToPath(new URL('../templates/logos/simple-icons.json', import.meta.url));
const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const icons = require('simple-icons/icons.json') as { title: string; slug: string; aliases?: { aka?: string[] } }[];

/** Template names whose display name matches a Simple Icons title of another brand. */
const NOT_THE_BRAND = new Set<string>([
  'fathom', // Simple Icons' "Fathom" is not Fathom Analytics
  'lucid', // nor is its "Lucid" Lucid Software
  'outline', 'outline-api-key', 'outline-self-hosted', // nor its "Outline" the Outline wiki
  'kit', 'kit-oauth', // nor its "Kit" (kit.co) Kit, formerly ConvertKit (kit.com)
  'prisma-cloud', // nor its "Prisma" (the ORM) Palo Alto Networks' Prisma Cloud
]);

const norm = (s: string) => s.toLowerCase().replace(/&/g, 'and').replace(/[^a-z0-9]/g, '');

export async function renderLogos(): Promise<string> {
  const bySlugTitle = new Map<string, string>();
  for (const icon of icons) {
    for (const title of [icon.title, ...(icon.aliases?.aka ?? [])]) if (!bySlugTitle.has(norm(title))) bySlugTitle.set(norm(title), icon.slug);
  }
  const { catalog } = await TemplateCatalog.load([BUILT_IN_TEMPLATES_DIR]);
  const logos: Record<string, string> = {};
  for (const t of catalog.list()) {
    if (NOT_THE_BRAND.has(t.name)) continue;
    const words = t.display_name.replace(/\(.*?\)/g, '').trim().split(/\s+/);
    for (let n = words.length; n > 0; n--) {
      const slug = bySlugTitle.get(norm(words.slice(0, n).join(' ')));
      if (slug) {
        logos[t.name] = slug;
        break;
      }
    }
  }
  return `${JSON.stringify(logos, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const next = await renderLogos();
  if (process.argv.includes('--check')) {
    if (next !== (await readFile(FILE, 'utf8').catch(() => ''))) {
      console.error('templates/logos/simple-icons.json is stale: run `npx tsx scripts/template-logos.ts`');
      process.exit(1);
    }
  } else {
    await writeFile(FILE, next);
    console.log(`templates/logos/simple-icons.json written (${Object.keys(JSON.parse(next)).length} logos)`);
  }
}
