import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const FRONTEND = fileURLToPath(new URL('../../packages/frontend/', import.meta.url));

/**
 * Builds @keyway/frontend's script-tag bundle (the real artefact a user ships) and returns it. Into a folder of its
 * own: the package's dist/ is what the install test packs at the same time.
 */
export async function buildSdk(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'keyway-sdk-'));
  try {
    await promisify(execFile)(process.execPath, [fileURLToPath(new URL('../../packages/frontend/node_modules/vite/bin/vite.js', import.meta.url)), 'build', '--logLevel', 'error', '--outDir', out], { cwd: FRONTEND });
    return await readFile(join(out, 'keyway-frontend.iife.js'), 'utf8');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * An app page on its own origin that loads the SDK with a script tag. Clicking #connect (a real
 * user gesture) calls `auth()` with `window.cfg` (or `?auto=<cfg>` calls it at load, without a gesture); the outcome lands in `window.result`, and every
 * message the page receives is kept in `window.messages`.
 */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>
<button id="connect">Connect</button>
<button id="open-connect-ui">Open the Connect UI</button>
<script src="/sdk.js"></script>
<script>
window.messages = [];
// ?forge=<json>: this page, framed by another origin, posts that message to its parent (a forgery attempt).
var forge = new URLSearchParams(location.search).get('forge');
if (forge && window.parent !== window) window.parent.postMessage(JSON.parse(forge), '*');
window.addEventListener('message', function (e) { window.messages.push({ origin: e.origin, data: e.data }); });
function start() {
  var c = window.cfg;
  window.ac = new AbortController();
  var options = Object.assign({ signal: window.ac.signal }, c.options || {});
  window.result = undefined;
  new Nango({ host: c.host, publicKey: c.publicKey, connectSessionToken: c.connectSessionToken }).auth(c.configKey, c.connectionId, options).then(
    function (r) { window.result = { ok: true, value: r }; },
    function (e) { window.result = { ok: false, type: e.type, message: e.message, isAuthError: e instanceof Nango.AuthError }; }
  );
}
document.getElementById('connect').addEventListener('click', start);
document.getElementById('open-connect-ui').addEventListener('click', function () {
  var c = window.cfg;
  window.uiEvents = [];
  window.ui = new Nango({ host: c.host, connectSessionToken: c.connectSessionToken }).openConnectUI({ onEvent: function (e) { window.uiEvents.push(e); } });
});
// ?auto=<json cfg>: start at load, without a user gesture (what a popup blocker stops).
var auto = new URLSearchParams(location.search).get('auto');
if (auto) { window.cfg = JSON.parse(auto); start(); }
</script></body></html>`;

export async function startHarness(sdk: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    else if (req.url === '/' || req.url?.startsWith('/?')) res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
