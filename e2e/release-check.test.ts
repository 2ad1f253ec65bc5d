// scripts/pack.mjs's tarball check (behind `pnpm release:check` and the install test): a tarball that ships a
// TypeScript source, a test, a `workspace:` range or no changelog entry is refused; a clean one passes.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without declarations
import { checkTarball } from '../scripts/pack.mjs';

const check = checkTarball as (file: string) => string[];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-release-check-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A tarball laid out as npm/pnpm pack writes one (everything under package/). */
async function tarball(name: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, 'package', path)), { recursive: true });
    await writeFile(join(root, 'package', path), text);
  }
  const file = join(dir, `${name}.tgz`);
  execFileSync('tar', ['-czf', file, '-C', root, 'package']);
  return file;
}

const manifest = (deps: Record<string, string> = {}) => JSON.stringify({ name: '@keyway/x', version: '1.2.3', dependencies: deps });
const CHANGELOG = '# Changelog\n\n## 1.2.3\n\n- something\n';

describe('release check', () => {
  it('passes a tarball of built JavaScript, declarations and a changelog entry', async () => {
    const file = await tarball('clean', { 'package.json': manifest({ '@keyway/node': '1.2.3' }), 'CHANGELOG.md': CHANGELOG, 'dist/index.js': '', 'dist/index.d.ts': '', 'dist/cjs/index.d.cts': '' });
    expect(check(file)).toEqual([]);
  });

  it('refuses TypeScript sources, tests, workspace ranges and a missing changelog entry', async () => {
    const file = await tarball('dirty', {
      'package.json': manifest({ '@keyway/node': 'workspace:*' }),
      'CHANGELOG.md': '# Changelog\n\n## 1.2.2\n',
      'src/index.ts': '',
      'src/view.tsx': '',
      'dist/index.js': '',
      'test/client.test.ts': '',
      'dist/util.spec.js': '',
    });
    expect(check(file).sort()).toEqual(
      [
        'CHANGELOG.md has no entry for 1.2.3',
        'TypeScript source package/src/index.ts',
        'TypeScript source package/src/view.tsx',
        'TypeScript source package/test/client.test.ts',
        'dependencies.@keyway/node is workspace:*',
        'test file package/dist/util.spec.js',
        'test file package/test/client.test.ts',
      ].sort(),
    );
  });
});
