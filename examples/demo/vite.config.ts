import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Used by server/stack.ts (Vite in middleware mode behind the demo's express app).
export default defineConfig({
  plugins: [preact()],
  server: { host: '127.0.0.1' },
});
