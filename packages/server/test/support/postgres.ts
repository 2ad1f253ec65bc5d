import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './keyway.ts';

/**
 * A throw-away PostgreSQL cluster for one test file: initdb in a temp dir, one server on
 * 127.0.0.1 and a free port (sockets in the temp dir), a `keyway` database, trust auth for the
 * `keyway` role. `stop()` shuts it down and removes the dir. Starts in about a second or two.
 *
 * As root, the cluster runs as the `postgres` OS user (initdb and postgres refuse root).
 */
export interface TestPostgres {
  /** `postgres://keyway@127.0.0.1:<port>/keyway` */
  readonly url: string;
  readonly port: number;
  /** A new, empty database on the cluster; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Shuts the server down (fast: open sessions are cut), keeping its data; `resume()` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

const INSTALL_HINT = 'install the PostgreSQL server (Debian/Ubuntu: apt-get install -y postgresql)';

/** The directory holding initdb/pg_ctl: the newest /usr/lib/postgresql/<n>/bin, else pg_config's. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  } catch {
    /* not installed */
  }
  throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found under ${root}/<version>/bin nor via pg_config: ${INSTALL_HINT}`);
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[], timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
      execFile(file, argv, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(new Error(`${cmd} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      );
    });

  const dir = await mkdtemp(join(tmpdir(), 'keyway-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    let uid: number, gid: number;
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    } catch {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`No "postgres" OS user to run the test cluster as: ${INSTALL_HINT}`);
    }
    await chown(dir, uid, gid);
  }

  let started = false;
  const stopSync = () => {
    if (!started) return;
    try {
      const args = ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '10'];
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { stdio: 'ignore', timeout: 15_000 });
      else execFileSync(join(bin, 'pg_ctl'), args, { stdio: 'ignore', timeout: 15_000 });
    } catch {
      /* best effort */
    }
  };
  // A test process that dies without stop() must not leave a postgres behind.
  process.once('exit', stopSync);

  try {
    await run('initdb', ['-D', data, '-U', 'keyway', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    // A free port can be taken by another test file's cluster between the check and the start: retry.
    let port = 0;
    let opts = '';
    for (let attempt = 0; attempt < 5 && !started; attempt++) {
      port = await freePort();
      opts = `-k '${dir}' -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
      try {
        await run('pg_ctl', ['start', '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '30', '-o', opts]);
        started = true;
      } catch (e) {
        const log = await readFile(join(dir, 'postgres.log'), 'utf8').catch(() => '');
        if (!/could not bind|Address already in use/i.test(log) || attempt === 4) throw new Error(`${(e as Error).message}\n${log}`);
      }
    }
    const base = `postgres://keyway@127.0.0.1:${port}`;
    const createDatabase = async (name: string) => {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    };
    const url = await createDatabase('keyway');
    return {
      url,
      port,
      createDatabase,
      async pause() {
        await run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
      },
      async resume() {
        await run('pg_ctl', ['start', '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '30', '-o', opts]);
      },
      async stop() {
        process.off('exit', stopSync);
        await run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']).catch(() => stopSync());
        started = false;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    stopSync();
    process.off('exit', stopSync);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
