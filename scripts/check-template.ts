// Checks template files against the schema and the catalogue's lint (docs, verified, auth method, proxy): `npx tsx scripts/check-template.ts templates/a.json [...]`.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { lintTemplate } from '../packages/server/src/templates/lint.ts';
import { validateTemplate } from '../packages/server/src/templates/validate.ts';

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const problems = lintTemplate(validateTemplate(basename(file, '.json'), JSON.parse(await readFile(file, 'utf8'))));
    if (problems.length > 0) throw new Error(problems.join('; '));
    console.log(`OK ${file}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${file}: ${(e as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
