// Packs every publishable package with pnpm (which writes real versions over `workspace:` ranges) into release/<name>.tgz, then checks every tarball: no TypeScript sources other than
// .d.ts, no tests, no `workspace:` range, a CHANGELOG.md entry for the version. Exits 1 on any finding. Packs what is built: `pnpm release:check` builds
// first; the install test (e2e/install.test.ts) runs after the test command's build and installs these tarballs,
// and the Dockerfile copies release/keyway-server.tgz, so what ships is what the tests ran.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PACKAGES = ['node', 'frontend', 'sandbox', 'server', 'cli'];
const root = fileURLToPath(new URL('..', import.meta.url));
export const RELEASE_DIR = `${root}release`;

/** pnpm as it runs this script (`pnpm release:check`, `pnpm test`), else the pinned one through npx. */
function pnpm(args, cwd) {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(execpath)) {
    // pnpm 12 is a native executable; older ones a script for node.
    const [cmd, ...pre] = /\.[cm]?js$/.test(execpath) ? [process.execPath, execpath] : [execpath];
    return execFileSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8' });
  }
  return execFileSync('npx', ['-y', 'pnpm@12.4.2', ...args], { cwd, encoding: 'utf8' });
}

/** The problems found in one tarball (empty when it may be published). */
export function checkTarball(file) {
  const problems = [];
  const entries = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter((e) => e && !e.endsWith('/'));
  for (const entry of entries) {
    if (/\.(c|m)?tsx?$/.test(entry) && !/\.d\.(c|m)?ts$/.test(entry)) problems.push(`TypeScript source ${entry}`);
    if (/(^|\/)(test|tests|__tests__)\//.test(entry) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(entry)) problems.push(`test file ${entry}`);
  }
  const manifest = execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' });
  const pkg = JSON.parse(manifest);
  const changelog = entries.includes('package/CHANGELOG.md') ? execFileSync('tar', ['-xzOf', file, 'package/CHANGELOG.md'], { encoding: 'utf8' }) : '';
  if (!new RegExp(`^## \\[?${pkg.version.replaceAll('.', '\\.')}\\b`, 'm').test(changelog)) problems.push(`CHANGELOG.md has no entry for ${pkg.version}`);
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${name} is ${range}`);
    }
  }
  return problems;
}

/** Packs all (one recursive pnpm call); returns the tarball paths by package name (e.g. `@keyway/node`). */
export function packAll() {
  rmSync(RELEASE_DIR, { recursive: true, force: true });
  mkdirSync(RELEASE_DIR, { recursive: true });
  pnpm(['-r', ...PACKAGES.flatMap((dir) => ['--filter', `@keyway/${dir}`]), 'pack', '--pack-destination', RELEASE_DIR], root);
  const tarballs = {};
  for (const dir of PACKAGES) {
    const { version } = JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8'));
    // A name without the version: the Dockerfile and the install test name the file.
    const file = `${RELEASE_DIR}/keyway-${dir}.tgz`;
    renameSync(`${RELEASE_DIR}/keyway-${dir}-${version}.tgz`, file);
    tarballs[`@keyway/${dir}`] = file;
  }
  return tarballs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tarballs = packAll();
  let failed = false;
  for (const [name, file] of Object.entries(tarballs)) {
    const problems = checkTarball(file);
    for (const problem of problems) console.error(`${name}: ${problem}`);
    failed ||= problems.length > 0;
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${name} -> ${file.slice(root.length)}`);
  }
  process.exit(failed ? 1 : 0);
}
