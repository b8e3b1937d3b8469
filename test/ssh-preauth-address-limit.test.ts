// The SSH listener bounded the connections it holds only by maxConnections (1000): one source address,
// with no token, could hold every slot with connections that stop after the version exchange (each
// lasts authTimeout, 30 s, and is opened again), and every agent and person was refused. As on the
// PostgreSQL, HTTP and Kubernetes listeners, one address now holds at most
// `listeners.ssh.unauthenticatedPerAddress` connections that have not authenticated
// (docs/security.md, class 182). Real sshd upstream and the real OpenSSH client.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

/** A connection from `from` that says its version and stops; what the listener answered first. */
async function hold(port: number, from: string): Promise<{ socket: net.Socket; first: string }> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('SSH-2.0-probe\r\n');
  const first = await new Promise<string>((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\n')) return;
      socket.off('data', onData);
      resolve(got.slice(0, got.indexOf('\n')).trim());
    };
    socket.on('data', onData);
    socket.once('close', () => resolve('closed'));
  });
  return { socket, first };
}

const closeAll = async (sockets: net.Socket[]) => {
  await Promise.all(
    sockets.map(
      (s) => new Promise<void>((r) => (s.destroyed ? r() : (s.once('close', () => r()), s.destroy()))),
    ),
  );
};

describe.skipIf(!hasSshd() || process.platform !== 'linux')(
  'class 182 on the SSH listener: connections before authentication are bounded per source address',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let token: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion']),
        listener: { maxConnections: 10, unauthenticatedPerAddress: 4 },
      });
      token = await gw.token();
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    const sshFrom = (from: string, command: string) =>
      gw.ssh(token, ['-o', `BindAddress=${from}`, command], { timeoutMs: 60_000 });

    it('one address cannot hold the listener; others still log in; a closed or authenticated connection stops counting', async () => {
      const held: net.Socket[] = [];
      try {
        const answers: string[] = [];
        for (let i = 0; i < 10; i++) {
          const h = await hold(gw.port, '127.0.0.2');
          held.push(h.socket);
          answers.push(h.first.startsWith('SSH-2.0-') ? 'ident' : h.first);
        }
        // Before the fix: ten idents (every slot held).
        expect(answers).toEqual([...Array<string>(4).fill('ident'), ...Array<string>(6).fill('closed')]);

        // Another address logs in and runs its command.
        const other = await sshFrom('127.0.0.1', 'echo from-another-address');
        expect(other.stdout).toContain('from-another-address');
        expect(other.code).toBe(0);
        // The held address's own fifth connection is refused, however it is made.
        const same = await sshFrom('127.0.0.2', 'echo same-address');
        expect(same.stdout).not.toContain('same-address');
        expect(same.code).not.toBe(0);
      } finally {
        await closeAll(held);
      }

      // Closed connections stop counting: the address logs in again (once the listener has seen the
      // closes, which reach it a moment after the client's side is closed).
      let again = await sshFrom('127.0.0.2', 'echo after-close');
      for (let i = 0; i < 20 && !again.stdout.includes('after-close'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        again = await sshFrom('127.0.0.2', 'echo after-close');
      }
      expect(again.stdout).toContain('after-close');

      // An authenticated connection stops counting: with one logged in and running (it has printed
      // its first line), four more unauthenticated ones from the same address are all admitted.
      let started!: () => void;
      const runningStarted = new Promise<void>((r) => (started = r));
      const running = gw.ssh(
        token,
        ['-o', 'BindAddress=127.0.0.2', 'echo started; sleep 8; echo long-done'],
        {
          timeoutMs: 60_000,
          onSpawn: (p) => p.stdout?.on('data', (d: Buffer) => d.toString().includes('started') && started()),
        },
      );
      await runningStarted;
      const more: net.Socket[] = [];
      try {
        const answers: string[] = [];
        for (let i = 0; i < 4; i++) {
          const h = await hold(gw.port, '127.0.0.2');
          more.push(h.socket);
          answers.push(h.first.startsWith('SSH-2.0-') ? 'ident' : h.first);
        }
        expect(answers).toEqual(Array<string>(4).fill('ident'));
      } finally {
        await closeAll(more);
      }
      expect((await running).stdout).toContain('long-done');
    });
  },
);
