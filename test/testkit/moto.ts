// moto's server mode (`moto_server`, Python): an AWS-compatible endpoint many teams point SDKs at
// (LocalStack builds on it), and a second reading of the AWS protocols beside AWS's own, started on a
// free port for the tests that need one. Tests skip when it is not installed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { freePort } from './free-port.js';

export interface Moto {
  readonly url: string;
  stop(): Promise<void>;
}

/** Whether `moto_server` can be run here. */
export function hasMoto(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill();
    });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    const ok = await request(`${url}/moto-api/`)
      .then(async (r) => {
        await r.body.dump();
        return true;
      })
      .catch(() => false);
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('moto_server did not start');
}
