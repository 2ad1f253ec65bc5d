// What the tests need from Debian: Chromium for the browser tests (driven by playwright-core, never a
// downloaded browser) and PostgreSQL's server binaries for the PostgreSQL store tests (a throw-away
// cluster per test file). On a fresh machine, install them when we can (root with apt-get).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const chromium = [process.env.KEYWAY_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean).some((p) => existsSync(p));
const postgres = existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
const missing = [...(chromium ? [] : ['chromium']), ...(postgres ? [] : ['postgresql'])];
if (missing.length === 0) process.exit(0);

if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  console.log(`Installing Debian's ${missing.join(' and ')} for the tests...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  process.exit(0);
}
console.error(`The tests need ${missing.join(' and ')}: run \`sudo apt-get install -y ${missing.join(' ')}\` (or set KEYWAY_CHROMIUM to a Chromium binary).`);
process.exit(1);
