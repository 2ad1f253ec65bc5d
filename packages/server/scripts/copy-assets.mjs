// After tsc: puts inside the package what the built server reads at run time (see src/assets.ts), so that the
// published package needs nothing from the repository: the built-in templates, the built Connect UI and
// dashboard, and the PostgreSQL migrations beside dist/store/migrate.js.
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';

const copies = [
  ['../../templates', 'templates', (name) => name.endsWith('.json') || name === 'README.md'],
  ['../connect-ui/dist', 'assets/connect-ui'],
  ['../dashboard/dist', 'assets/dashboard'],
  ['src/store/migrations', 'dist/store/migrations'],
];

rmSync('templates', { recursive: true, force: true });
rmSync('assets', { recursive: true, force: true });
for (const [from, to, keep] of copies) {
  if (!existsSync(from) || readdirSync(from).length === 0) {
    console.error(`copy-assets: ${from} is missing: build it first (the root \`pnpm build\` builds everything in order)`);
    process.exit(1);
  }
  cpSync(from, to, { recursive: true, filter: (src) => !keep || src === from || keep(src.slice(from.length + 1)) });
}
