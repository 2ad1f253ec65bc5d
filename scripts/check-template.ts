// Checks template files against the schema: `npx tsx scripts/check-template.ts templates/a.json [...]`.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { validateTemplate } from '../packages/server/src/templates/validate.ts';

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    validateTemplate(basename(file, '.json'), JSON.parse(await readFile(file, 'utf8')));
    console.log(`OK ${file}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${file}: ${(e as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
