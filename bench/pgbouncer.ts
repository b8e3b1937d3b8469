// PgBouncer 1.x in session mode in front of a benchmark's PostgreSQL, as every comparison in
// docs/performance.md configures it (`npm run bench`, `bench/hold.ts` with HOLD_PGBOUNCER=1).

import { spawn, spawnSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { waitForPort } from './gateway-process.js';

export interface RunningPgbouncer {
  readonly port: number;
  stop(): void;
}

/**
 * Starts PgBouncer on a free loopback port for PostgreSQL's `postgres` database on `pgPort`, its
 * files in `dir` (which PgBouncer's user must be able to enter). As root it runs as `postgres`, which
 * then owns the password file; the password file is readable by PgBouncer's user alone.
 */
export async function startPgbouncer(
  dir: string,
  pgPort: number,
  password: string,
): Promise<RunningPgbouncer> {
  const port = await freeLoopbackPort();
  const ini = path.join(dir, 'pgbouncer.ini');
  const users = path.join(dir, 'userlist.txt');
  writeFileSync(users, `"postgres" "${password}"\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const id = (flag: string) =>
      Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(users, id('-u'), id('-g'));
  }
  writeFileSync(
    ini,
    `[databases]\npostgres = host=127.0.0.1 port=${pgPort} dbname=postgres\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = plain\nauth_file = ${users}\npool_mode = session\nmax_client_conn = 200\ndefault_pool_size = 50\n`,
  );
  const bouncer = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: 'ignore' });
  const stop = () => void bouncer.kill('SIGINT');
  try {
    await waitForPort(port, 'pgbouncer');
  } catch (e) {
    stop(); // one that never listened is not left running
    throw e;
  }
  return { port, stop };
}
