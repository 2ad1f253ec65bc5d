// pnpm bench: every benchmark, one after another, each printing its table and writing bench-results/<name>.json.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { activityBench } from './activity.bench.ts';
import { httpBench } from './http.bench.ts';
import { instancesBench } from './instances.bench.ts';
import { postgresBench } from './postgres.bench.ts';
import { refreshBench } from './refresh.bench.ts';
import { storeBench } from './store.bench.ts';
import { machine, ROOT } from './support.ts';
import { tokenBench } from './token.bench.ts';

const m = machine();
console.log(`Keyway benchmarks · ${m.cpu} · ${m.cores} cores · ${m.memory_gib} GiB · Node ${m.node}\n`);
const only = process.argv.slice(2);
const run = (name: string) => only.length === 0 || only.includes(name);
if (run('token')) await tokenBench();
if (run('http')) await httpBench();
if (run('store')) await storeBench();
if (run('postgres')) await postgresBench();
if (run('instances')) await instancesBench();
if (run('refresh')) await refreshBench();
if (run('activity')) await activityBench();
if (run('size')) execFileSync(process.execPath, [join(ROOT, 'packages/frontend/scripts/size.mjs')], { cwd: join(ROOT, 'packages/frontend'), stdio: 'inherit' });
