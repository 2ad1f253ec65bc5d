import { fileURLToPath } from 'node:url';

/**
 * Where the files the server reads and serves live. Run from its TypeScript sources (the monorepo, through tsx)
 * they are the workspace's own: the repository's `templates/` and the Preact apps' `dist/`, so an edit shows at
 * once. Run as the built package (`dist/*.js`), they are the copies `scripts/copy-assets.mjs` puts inside the
 * package (`templates/`, `assets/`), so an installed server needs nothing outside `node_modules/@keyway/server`.
 */
const fromSource = import.meta.url.endsWith('.ts');
/** The package root: this module is `src/assets.ts` or `dist/assets.js`. */
const root = new URL('../', import.meta.url);
const at = (path: string) => fileURLToPath(new URL(path, root));

/** The built-in Provider Templates. */
export const BUILT_IN_TEMPLATES_DIR = at(fromSource ? '../../templates/' : 'templates/');
/** The built Connect UI (packages/connect-ui, `vite build`). */
export const CONNECT_UI_DIST = at(fromSource ? '../connect-ui/dist/' : 'assets/connect-ui/');
/** The built dashboard (packages/dashboard, `vite build`). */
export const DASHBOARD_DIST = at(fromSource ? '../dashboard/dist/' : 'assets/dashboard/');
