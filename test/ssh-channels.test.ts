// sftp and port forwarding (direct-tcpip) are their own decidable actions, and a hostile client —
// garbage instead of a handshake, an oversized packet, a flood of channels — cannot take the listener
// down, hold more than its share or disturb the sessions already there. Real sshd upstream; the real
// sftp/ssh clients and ssh2's client.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('ssh subsystems, forwards and hostile clients', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let echo: net.Server;
  let echoPort: number;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: [
        ...defaultSshPolicies(['prod-bastion']),
        {
          id: 'forwarders',
          subjects: [{ groups: ['forwarders'] }],
          connections: ['prod-bastion'],
          rules: [
            {
              id: 'no-loopback-forward',
              effect: 'deny',
              match: { sshRequests: ['port-forward'], hosts: ['127.0.0.1', 'localhost'] },
            },
            { id: 'forward-elsewhere', effect: 'allow', match: { sshRequests: ['port-forward'] } },
          ],
        },
      ],
      listener: { maxChannels: 3 },
    });
    echo = net.createServer((s) => s.end('hello from the service\n'));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    echo?.close();
    await gw?.stop();
    await sshd?.stop();
  });

  const sftp = (token: string, batch: string) =>
    run(
      'sftp',
      [
        '-F',
        '/dev/null',
        '-P',
        String(gw.port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'PreferredAuthentications=keyboard-interactive,password',
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'LogLevel=ERROR',
        // Commands on stdin, not -b: batch mode turns off the token prompt (BatchMode yes).
        'prod-bastion@127.0.0.1',
      ],
      { env: gw.sshEnv(token), input: batch },
    );

  it('sftp is its own action: allowed for an admin, held (and here refused) for an agent', async () => {
    const admin = await gw.token({ subject: 'sftp-admin', groups: ['ssh-admins'], agent: false });
    const ok = await sftp(admin, `ls -1 ${sshd.dir}\n`);
    expect(ok.stderr).toBe('Connected to 127.0.0.1.\n');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/sshd_config/);
    const st = await findSshStatement(gw, (s) => s.via === 'ssh-sftp');
    expect(st.kind).toBe('sftp');
    expect(st.effect).toBe('allow');

    const agent = await gw.token({ subject: 'sftp-agent', agent: true });
    const running = sftp(agent, `ls -1 ${sshd.dir}\n`);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-sftp');
    held.deny();
    const r = await running;
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/sshd_config/);
  });

  it('port forwarding is its own action: refused for an agent, relayed for an admin', async () => {
    const agent = await gw.token({ subject: 'fwd-agent', agent: true });
    const refused = await gw.ssh(agent, ['-W', `127.0.0.1:${echoPort}`, '--']);
    expect(refused.code).toBe(255);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/forwarding failed|open failed|administratively prohibited/);
    const denied = await findSshStatement(gw, (s) => s.via === 'ssh-port-forward', { withResult: false });
    expect(denied.effect).toBe('deny');
    expect(denied.ruleId).toBe('ssh-agents-no-port-forward');

    const admin = await gw.token({ subject: 'fwd-admin', groups: ['ssh-admins'], agent: false });
    const ok = await gw.ssh(admin, ['-W', `127.0.0.1:${echoPort}`, '--']);
    expect(ok.stdout).toBe('hello from the service\n');
    const st = await findSshStatement(gw, (s) => s.via === 'ssh-port-forward' && s.effect === 'allow');
    expect(st.text).toBe(`direct-tcpip 127.0.0.1:${echoPort}`);
  });

  it('decides a forward on the host the upstream will reach: other spellings of 127.0.0.1 are it', async () => {
    const user = await gw.token({ subject: 'forwarder', groups: ['forwarders'], agent: false });
    for (const host of ['127.1', '2130706433', '0x7f.0.0.1', '0177.0.0.1', 'LOCALHOST', 'localhost.']) {
      const r = await gw.ssh(user, ['-W', `${host}:${echoPort}`, '--']);
      expect(r.stdout, host).toBe('');
      expect(r.code, host).toBe(255);
    }
    // Each was decided (and recorded) as the host it names: 127.0.0.1 or localhost, refused by the rule.
    const texts = new Set<string>();
    for (const sess of await gw.gateway.store.listSessions({ subject: 'forwarder', limit: 100 }))
      for (const st of (await gw.gateway.store.getSession(sess.id))?.statements ?? [])
        if (st.via === 'ssh-port-forward') {
          expect(st.ruleId).toBe('no-loopback-forward');
          texts.add(st.text);
        }
    expect([...texts].sort()).toEqual([
      `direct-tcpip 127.0.0.1:${echoPort}`,
      `direct-tcpip localhost:${echoPort}`,
    ]);
  });

  const connectClient = (token: string): Promise<ssh2.Client> => {
    const c = new ssh2.Client();
    return new Promise<ssh2.Client>((resolve, reject) => {
      c.on('ready', () => resolve(c));
      c.on('error', reject);
      c.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([token]));
      c.connect({
        host: '127.0.0.1',
        port: gw.port,
        username: 'prod-bastion',
        tryKeyboard: true,
        hostVerifier: () => true,
      });
    });
  };
  const execOn = (c: ssh2.Client, command: string): Promise<string> =>
    new Promise((resolve, reject) =>
      c.exec(command, (err, ch) => {
        if (err) return reject(err);
        let out = '';
        ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
        ch.stderr.resume();
        ch.on('close', () => resolve(out));
      }),
    );

  it('runs an exec as it was decided: a terminal asked for after the exec does not reach the host', async () => {
    const agent = await gw.token({ subject: 'late-pty-agent', agent: true });
    const c = await connectClient(agent);
    try {
      const marker = `${sshd.work}/late-pty`;
      let sent!: () => void;
      const ptySent = new Promise<void>((r) => (sent = r));
      const output = new Promise<string>((resolve, reject) =>
        c.exec(`touch ${marker}; tty`, (err, ch) => {
          if (err) return reject(err);
          // OpenSSH never sends pty-req after exec; a hostile client can, while the exec is held.
          const proto = (c as unknown as { _protocol: { pty(...a: unknown[]): void } })._protocol;
          const remote = (ch as unknown as { outgoing: { id: number } }).outgoing.id;
          proto.pty(remote, 24, 80, 0, 0, 'xterm', null, false);
          sent();
          let out = '';
          ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
          ch.stderr.resume();
          ch.on('close', () => resolve(out));
        }),
      );
      const held = await gw.approver.next();
      expect(held.ctx.action).toMatchObject({ request: 'exec', tty: false });
      await ptySent;
      await new Promise((r) => setTimeout(r, 300));
      held.approve();
      expect((await output).trim()).toBe('not a tty');
    } finally {
      c.end();
    }
  });

  it('records refusals that are not actions: ssh -R, X11, channels past the limit (the first few, then a count)', async () => {
    const admin = await gw.token({ subject: 'refused-admin', groups: ['ssh-admins'], agent: false });
    const c = await connectClient(admin);
    const ready = new Promise<void>((r) => c.once('close', () => r()));
    // Remote forwarding (-R) is refused.
    const forwardErr = await new Promise<Error | undefined>((r) => c.forwardIn('127.0.0.1', 0, (e) => r(e)));
    expect(forwardErr).toBeDefined();
    // X11 on a session channel is refused (ssh2's client then gives up the exec), 20 times over on
    // channels one after the other: refusals made on a channel count under the connection's cap too.
    for (let i = 0; i < 20; i++) {
      const x11 = await new Promise<Error | undefined>((resolve) =>
        c.exec('echo x', { x11: true }, (err, ch) => {
          if (err) return resolve(err);
          ch.resume();
          ch.stderr.resume();
          ch.on('close', () => resolve(undefined));
        }),
      );
      expect(x11?.message).toContain('X11');
    }
    // Channels past maxChannels (3): 50 opens, 3 opened, 47 refused.
    const opened = await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<boolean>((resolve) =>
            c.exec('sleep 1', (err, ch) => {
              if (err) return resolve(false);
              ch.resume();
              ch.stderr.resume();
              resolve(true);
            }),
          ),
      ),
    );
    expect(opened.filter(Boolean).length).toBe(3);
    c.end();
    await ready;
    const [s] = await gw.gateway.store.listSessions({ subject: 'refused-admin', limit: 1 });
    let refusals: { data: Record<string, unknown> }[] = [];
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const events = await gw.gateway.store.getEvents(s!.id);
      refusals = events.filter((e) => e.type === 'refusal');
      if (events.some((e) => e.type === 'session.end')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const byRule = (rule: string) => refusals.filter((e) => e.data['ruleId'] === rule);
    expect(byRule('ssh-remote-forward').map((e) => e.data['request'])).toEqual(['tcpip-forward']);
    const x11 = byRule('ssh-x11-forwarding');
    expect(x11).toHaveLength(9);
    expect(x11.slice(0, 8).every((e) => e.data['request'] === 'x11-req')).toBe(true);
    expect(x11[8]!.data).toMatchObject({ request: 'repeated', count: 12 });
    // 47 refusals: 8 one by one, then one event counting the other 39.
    const limit = byRule('ssh-channel-limit');
    expect(limit).toHaveLength(9);
    expect(limit.slice(0, 8).every((e) => e.data['request'] === 'channel session')).toBe(true);
    expect(limit[8]!.data).toMatchObject({ request: 'repeated', count: 39 });
  });

  it('survives garbage, an oversized packet and thousands of channel opens; other sessions go on', async () => {
    const admin = await gw.token({ subject: 'flood-admin', groups: ['ssh-admins'], agent: false });
    // A session that was there before the hostile clients came, and must still work after them.
    const bystander = await connectClient(admin);
    expect(await execOn(bystander, 'echo before')).toBe('before\n');
    // Garbage instead of an SSH identification.
    await new Promise<void>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () => s.write(Buffer.alloc(64 * 1024, 0x41)));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 3000);
    });
    // A valid identification, then a packet claiming to be 1 GiB.
    await new Promise<void>((resolve) => {
      const s = net.connect(gw.port, '127.0.0.1', () => {
        s.write('SSH-2.0-hostile\r\n');
        const head = Buffer.alloc(5);
        head.writeUInt32BE(0x40000000, 0);
        s.write(head);
        s.write(Buffer.alloc(32 * 1024));
      });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 3000);
    });
    // Thousands of channel opens on one connection: at most maxChannels (3) are opened.
    const c = await connectClient(admin);
    const results = await Promise.all(
      Array.from(
        { length: 2000 },
        () =>
          new Promise<boolean>((resolve) =>
            c.exec('sleep 2', (err, ch) => {
              if (err) return resolve(false);
              ch.on('close', () => undefined);
              ch.resume();
              resolve(true);
            }),
          ),
      ),
    );
    expect(results.filter(Boolean).length).toBe(3);
    c.end();
    // The session that was already there still works, and the listener still serves new ones.
    expect(await execOn(bystander, 'echo after')).toBe('after\n');
    bystander.end();
    const r = await gw.ssh(admin, ['echo', 'still-here']);
    expect(r.stdout).toBe('still-here\n');
  });
});
