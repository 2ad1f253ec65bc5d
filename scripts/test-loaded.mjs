// `pnpm test:loaded`: the whole test suite (the README's test command), three times in a row, while
// every core is kept busy by CPU burners of our own: what a shared CI machine or a busy laptop does to
// timing. Any failure fails the script. Burners are bounded in time and always stopped.
//   KEYWAY_LOADED_RUNS (default 3), KEYWAY_LOADED_BURNERS (default: one per core)
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const runs = Number(process.env.KEYWAY_LOADED_RUNS ?? 3);
const burners = Number(process.env.KEYWAY_LOADED_BURNERS ?? availableParallelism());
const BURN_LIMIT_MS = 60 * 60_000; // a burner stops by itself after an hour, whatever happens to this script

const burn = `const end = Date.now() + ${BURN_LIMIT_MS}; let x = 0; while (Date.now() < end) x = (x * 31 + 7) % 1000003;`;
const children = Array.from({ length: burners }, () => spawn(process.execPath, ['-e', burn], { stdio: 'ignore' }));
const stopBurners = () => children.forEach((c) => c.kill('SIGKILL'));
process.on('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// The README's test command, run by the pnpm that runs this script.
const pnpm = process.env.npm_execpath;
const [cmd, args] = pnpm && /\.(c?js|mjs)$/.test(pnpm) ? [process.execPath, [pnpm, 'test']] : ['pnpm', ['test']];

const results = [];
for (let i = 1; i <= runs; i++) {
  const started = Date.now();
  console.log(`\n=== test:loaded run ${i}/${runs} (${burners} CPU burners on ${availableParallelism()} cores) ===`);
  const code = await new Promise((resolve) => spawn(cmd, args, { stdio: 'inherit' }).on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  results.push({ run: i, code, seconds: Math.round((Date.now() - started) / 1000) });
}
stopBurners();
console.log('\n=== test:loaded summary ===');
for (const r of results) console.log(`run ${r.run}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds} s`);
const failed = results.filter((r) => r.code !== 0).length;
console.log(`${runs - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
