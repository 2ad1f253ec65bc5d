// Size budget: builds Keyway's ESM entry and the official @nangohq/frontend the same way (a vite library build,
// ES format, minified, target es2020, nothing external), gzips each (level 9) and prints a table.
// Exits non-zero when ours is over BUDGET bytes gzipped.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const BUDGET = 2048;
const root = fileURLToPath(new URL('..', import.meta.url));
const NANGO_ENTRY = 'virtual:nango-entry';

/** One in-memory library build of `entry`; returns the minified code. */
async function bundle(entry, plugins = []) {
  const out = await build({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins,
    build: {
      write: false,
      target: 'es2020',
      minify: true,
      sourcemap: false,
      lib: { entry, formats: ['es'], fileName: 'entry' },
      // Vite keeps whitespace in ES library builds; minify it all, as a bundler or CDN would.
      rolldownOptions: { output: { minify: true } },
    },
  });
  const chunks = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output).filter((c) => c.type === 'chunk');
  // The entry chunk only: lazily imported chunks (the Connect UI) are not loaded up front.
  return chunks.filter((c) => c.isEntry).map((c) => c.code).join("\n");
}

// The official package, through a tiny entry that re-exports it.
const nangoEntry = {
  name: 'nango-entry',
  enforce: 'pre',
  resolveId: (id) => (id.endsWith(NANGO_ENTRY) ? '\0' + NANGO_ENTRY : null),
  load: (id) => (id === '\0' + NANGO_ENTRY ? "export * from '@nangohq/frontend';\nexport { default } from '@nangohq/frontend';\n" : null),
};

const rows = [
  ['@keyway/frontend', await bundle(fileURLToPath(new URL('../src/index.ts', import.meta.url)))],
  ['@nangohq/frontend', await bundle(NANGO_ENTRY, [nangoEntry])],
].map(([name, code]) => {
  const min = Buffer.byteLength(code);
  const gz = gzipSync(code, { level: 9 }).length;
  return { name, min, gz };
});

const ours = rows[0];
const ok = ours.gz <= BUDGET;
const table = [
  ['package', 'minified bytes', 'gzipped bytes', `within ${BUDGET}`],
  ...rows.map((r, i) => [r.name, String(r.min), String(r.gz), i === 0 ? (ok ? 'yes' : 'NO') : '-']),
];
const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
if (!ok) {
  console.error(`@keyway/frontend is ${ours.gz} bytes gzipped, over the ${BUDGET}-byte budget`);
  process.exit(1);
}
