// The upstream of the pgbench benchmarks: an embedded PostgreSQL in `<dir>/pg` on a free loopback
// port, initialised with pgbench's tables at scale 10 (`pgbench -i -s 10`).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/demo/embedded-postgres.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';

export async function startPgbenchUpstream(
  dir: string,
  password: string,
  settings: Readonly<Record<string, string>> = { max_connections: '200', shared_buffers: '256MB' },
): Promise<RunningPostgres> {
  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: await freeLoopbackPort(),
    password,
    settings,
  });
  const init = spawnSync('pgbench', ['-i', '-s', '10', '-q', upstream.url('postgres')], { encoding: 'utf8' });
  if (init.status !== 0) {
    await upstream.stop();
    throw new Error(`pgbench -i failed: ${init.stderr}`);
  }
  return upstream;
}
