// Builds the package in the working directory with the workspace's own tsc (TypeScript 7; no bundler needed for
// Node code): src/ -> dist/ as ES modules with .d.ts, relative `.ts` imports rewritten to `.js`.
//   --cjs   also a CommonJS copy with its own .d.ts, for `require()` (ESM in dist/esm, CommonJS in dist/cjs)
//   --vite  the JavaScript comes from the package's `vite build` (browser bundles); tsc only writes the
//           declarations, to dist/types
// tsconfig.build.json in the package says what is compiled.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
const cjs = process.argv.includes('--cjs');
const vite = process.argv.includes('--vite');
const run = (...args) => execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...args], { stdio: 'inherit' });

// From empty: a stale file (an old hashed chunk, a deleted module) must never reach a tarball.
rmSync('dist', { recursive: true, force: true });
if (vite) {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], { stdio: 'inherit' });
  run('--emitDeclarationOnly', '--outDir', 'dist/types');
} else if (!cjs) {
  run();
} else {
  run('--outDir', 'dist/esm');
  // verbatimModuleSyntax forbids `import` syntax in a CommonJS output: the CommonJS build turns it off.
  run('--outDir', 'dist/cjs', '--module', 'commonjs', '--moduleResolution', 'bundler', '--verbatimModuleSyntax', 'false');
  // The package is "type": "module"; this marks dist/cjs/*.js (and their .d.ts) as CommonJS for Node and TypeScript.
  writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
}

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript but not in the declarations; a consumer's TypeScript must
// find `./x.js` (its .d.ts) under every moduleResolution.
for (const entry of readdirSync('dist', { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) writeFileSync(file, fixed);
}
