// A real sshd behind a gateway whose default SSH policy masks an agent's output: the set-up every test
// of SSH output masking shares. Call it inside a `describe`: it registers the hooks that start both
// and write `files` (under `folder` in the host's work directory) before the tests, and stop both after.

import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { defaultSshPolicies } from '../../src/policy/index.js';
import type { RunResult } from './commands.js';
import { startSshd, type TestSshd } from './sshd.js';
import { startSshTestGateway, type SshTestGateway } from './ssh-gateway.js';

export interface MaskedSshHost {
  readonly sshd: TestSshd;
  readonly gw: SshTestGateway;
  /** A token for an agent whose output is masked (`masked-agent`). */
  readonly masked: string;
  /** `folder`'s absolute path on the host. */
  readonly dir: string;
  /** Runs `command` on the host as the masked agent (an exec, 60 s at most). */
  run(command: string): Promise<RunResult>;
}

export function maskedSshHost(folder: string, files: Readonly<Record<string, string>> = {}): MaskedSshHost {
  let started: { sshd: TestSshd; gw: SshTestGateway; masked: string } | undefined;
  const get = () => {
    if (started === undefined)
      throw new Error('maskedSshHost: used outside its describe, or before beforeAll');
    return started;
  };

  beforeAll(async () => {
    const sshd = await startSshd();
    let gw: SshTestGateway;
    try {
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
      });
    } catch (e) {
      await sshd.stop();
      throw e;
    }
    started = { sshd, gw, masked: await gw.token({ subject: 'masked-agent', agent: true }) };
    for (const [name, text] of Object.entries(files)) sshd.put(`${folder}/${name}`, text);
  });

  afterAll(async () => {
    await started?.gw.stop();
    await started?.sshd.stop();
  });

  return {
    get sshd() {
      return get().sshd;
    },
    get gw() {
      return get().gw;
    },
    get masked() {
      return get().masked;
    },
    get dir() {
      return path.join(get().sshd.work, folder);
    },
    run(command) {
      const s = get();
      return s.gw.ssh(s.masked, ['--', command], { timeoutMs: 60_000 });
    },
  };
}
