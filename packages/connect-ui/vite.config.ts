import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Served by the Keyway server at /connect/ui/ under a CSP of `script-src 'self'; style-src 'self'`: the build
// must put every script and style in its own file (no inline <script> or <style>, no data: stylesheet) and load
// nothing from elsewhere. test/build.test.ts checks the output.
export default defineConfig({
  base: '/connect/ui/',
  plugins: [preact()],
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  server: { host: '127.0.0.1' },
});
