// Reads that write a file as a side effect: `nohup CMD` typed at a prompt appends to ./nohup.out, and
// curl's `--trace-ascii`, `--stderr`, `--libcurl`, `--etag-save`, `--hsts`, `--alt-svc` and wget's `-a`
// write the file they name — `curl --trace-ascii ~/.bashrc http://localhost/` put lines of the
// agent's choosing into a start-up file, as a read (docs/security.md class 222). Real OpenSSH client →
// Gatehouse → real sshd, real curl on the host.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())(
  'reads that write a file as a side effect (class 222)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;
    let local: http.Server;
    let port: number;

    beforeAll(async () => {
      local = http.createServer((_req, res) => res.writeHead(200, { ETag: '"touch /tmp/x"' }).end('ok\n'));
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', () => r()));
      port = (local.address() as AddressInfo).port;
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'side-agent', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
      local?.close();
    });

    it.skipIf(!hasCommand('curl')).each(['--trace-ascii', '--stderr', '--libcurl', '--etag-save'])(
      'curl %s ~/.bashrc to a loopback server is refused; the start-up file is not written',
      async (option) => {
        // The test user's home is shared by every sshd test on the machine: ~/.bashrc is put back.
        const bashrc = path.join(sshd.home, '.bashrc');
        const before = existsSync(bashrc) ? readFileSync(bashrc, 'utf8') : undefined;
        const command = `curl -s ${option} ~/.bashrc http://127.0.0.1:${port}/`;
        try {
          const r = await gw.ssh(agent, ['--', command], { timeoutMs: 60_000 });
          const after = existsSync(bashrc) ? readFileSync(bashrc, 'utf8') : undefined;
          expect(after, 'curl wrote ~/.bashrc').toBe(before);
          expect(r.code).toBe(126);
          expect(r.stderr).toMatch(/refused by rule ssh-agents-no-privilege/);
        } finally {
          if (before === undefined) rmSync(bashrc, { force: true });
          else writeFileSync(bashrc, before);
        }
      },
    );

    it('nohup typed in a shell is held as a write; refused, ./nohup.out is not written', async () => {
      const out = path.join(sshd.home, 'nohup.out');
      rmSync(out, { force: true });
      const sh = interactive(gw, agent);
      const shell = await gw.approver.next();
      shell.approve();
      await sh.waitFor(/\$ $/m);
      sh.type('nohup echo side-effect\r');
      const line = await Promise.race([
        gw.approver.next(),
        sh.waitFor(/appending output to/).then(
          () => undefined,
          () => new Promise<never>(() => undefined), // not shown within its wait: the hold decides
        ),
      ]);
      if (line === undefined) throw new Error('nohup ran as a read and wrote nohup.out');
      line.deny();
      await sh.exited;
      expect(existsSync(out)).toBe(false);
      const st = await findSshStatement(gw, (s) => s.text === 'nohup echo side-effect', {
        withResult: false,
      });
      expect(st.categories).toContain('write');
    });
  },
);
