import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const src = (f: string) => fileURLToPath(new URL(`./src/${f}`, import.meta.url));

// Two library builds in one `vite build`: an ES module (named + default exports) and a script-tag IIFE whose
// global `Nango` is the class itself. An IIFE build takes a single entry, and its global is the class only when that
// entry has nothing but a default export (src/global.ts), hence two environments. Both write to dist/, so neither
// empties it.
export default defineConfig({
  builder: {},
  build: { target: 'es2020', minify: true, emptyOutDir: false, sourcemap: true },
  environments: {
    client: {
      consumer: 'client',
      build: {
        lib: { entry: src('index.ts'), formats: ['es'], fileName: () => 'keyway-frontend.js' },
        // Vite keeps whitespace in ES library builds; ship it fully minified, as scripts/size.mjs measures it.
        rolldownOptions: { output: { minify: true } },
      },
    },
    iife: {
      consumer: 'client',
      build: { lib: { entry: src('global.ts'), name: 'Nango', formats: ['iife'], fileName: () => 'keyway-frontend.iife.js' } },
    },
  },
});
