// A client's pty-req carries terminal modes (RFC 4254 §8). The shell-line gate reads typed keys as
// readline does on a terminal with the usual settings; a mode that makes the host's tty read the same
// bytes otherwise (IGNCR drops every CR, VLNEXT or VWERASE rebound to a letter, VEOL, ICANON or ISIG
// off) would let a line run that the gate decided as another, as `stty igncr` did from the shell
// (test/ssh-shell-tty-settings.test.ts, docs/security.md class 403). The gateway opens the host's
// terminal with modes of its own choosing (session-channel.ts HOST_TERMINAL_MODES), never the
// client's. (ssh2's server, 1.17, reads a pty-req's modes from the wrong offset and so passes none
// on: this test guards the day it does.) ssh2's client → Gatehouse → real sshd.

import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function connectClient(gw: SshTestGateway, token: string): Promise<ssh2.Client> {
  const c = new ssh2.Client();
  return new Promise<ssh2.Client>((resolve, reject) => {
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([token]));
    c.connect({
      host: '127.0.0.1',
      port: gw.port,
      username: gw.connection,
      tryKeyboard: true,
      hostVerifier: () => true,
    });
  });
}

function execOnPty(c: ssh2.Client, command: string, modes: ssh2.TerminalModes): Promise<string> {
  return new Promise((resolve, reject) =>
    c.exec(command, { pty: { term: 'xterm', cols: 200, rows: 40, modes } }, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
      ch.stderr.resume();
      ch.on('close', () => resolve(out));
    }),
  );
}

describe.skipIf(!hasSshd())('terminal modes a client asks for in its pty-req', { timeout: 120_000 }, () => {
  it("the host's terminal has the modes the gateway chose, not the client's", async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    const c = await connectClient(gw, await gw.token({ subject: 'modes-agent', agent: true }));
    try {
      const outP = execOnPty(c, 'stty -a', {
        IGNCR: 1,
        INLCR: 1,
        ICRNL: 0,
        IUCLC: 1,
        ICANON: 0,
        ISIG: 0,
        VEOL: 0x3b, // ;
        VEOL2: 0x23, // #
        VKILL: 0x61, // a
        VWERASE: 0x62, // b
        VLNEXT: 0x63, // c
        VINTR: 0x64, // d
        VERASE: 0x65, // e
        VEOF: 0x66, // f
        VREPRINT: 0x67, // g
      });
      const held = await Promise.race([gw.approver.next(), sleep(3_000).then(() => undefined)]);
      held?.approve(); // a command on a terminal is held for agents
      const out = await outP;
      expect(out).toMatch(/-igncr/);
      expect(out).toMatch(/-inlcr/);
      expect(out).toMatch(/(^|\s)icrnl/);
      expect(out).toMatch(/(^|\s)icanon/);
      expect(out).toMatch(/(^|\s)isig/);
      expect(out).toMatch(/intr = \^C;/);
      expect(out).toMatch(/kill = \^U;/);
      expect(out).toMatch(/werase = \^W;/);
      expect(out).toMatch(/lnext = \^V;/);
      expect(out).toMatch(/eof = \^D;/);
      expect(out).toMatch(/eol = <undef>;/);
      expect(out).toMatch(/eol2 = <undef>;/);
    } finally {
      c.end();
      await gw.stop();
      await sshd.stop();
    }
  });
});
