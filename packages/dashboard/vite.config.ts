import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Served by the Keyway server at /dashboard/ under a CSP of `script-src 'self'; style-src 'self'`: every script and
// style goes in its own file (no inline <script> or <style>, no data: stylesheet) and nothing loads from elsewhere.
// test/build.test.ts checks the output.
export default defineConfig({
  base: '/dashboard/',
  plugins: [preact()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  // `vite` (dev): the app at http://127.0.0.1:5173/dashboard/, its API calls passed to a Keyway server on :3003.
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(['/dashboard/api', '/providers', '/integrations', '/connections', '/oauth', '/connect'].map((p) => [p, 'http://127.0.0.1:3003'])),
  },
});
