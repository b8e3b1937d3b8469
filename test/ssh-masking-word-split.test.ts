// bash splits an unquoted expansion into words: a `.env` line `DB_PASSWORD=correct horse battery staple`
// read by `$(cat .env)` is handed on as `DB_PASSWORD=correct`, `horse`, `battery`, `staple`. A loop
// printed each alone, echo joined them on one line after other names, and `ls` named each in an error:
// output masking, which masks a value after the name it stands after, masked `correct` at most and
// showed the rest to a masked agent, as reads (docs/security.md class 235). For a masked principal
// such a line is now decided as one Gatehouse cannot judge: held for review under the default policy.
// Real OpenSSH client → Gatehouse → real sshd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'tok en9876 zyxw';

describe.skipIf(!hasSshd())('ssh output: a value bash splits into words', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let masked: string;
  let env: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
    });
    masked = await gw.token({ subject: 'masked-agent', agent: true });
    env = sshd.put(
      '.env',
      `APP_ENV=production\nDB_PASSWORD=${PASSWORD}\nAPI_TOKEN="${TOKEN}"\nLOG_LEVEL=info\n`,
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('cat shows the file masked: the whole value after its name', async () => {
    const r = await gw.ssh(masked, ['--', `cat ${env}`], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DB_PASSWORD=');
    for (const piece of ['correct', 'horse', 'battery', 'staple', 'en9876', 'zyxw'])
      expect(r.stdout).not.toContain(piece);
  });

  it.each([
    'for w in $(cat F); do echo $w; done',
    'for w in $(<F); do echo "[$w]"; done',
    'echo $(cat F)',
    'x=$(cat F); echo $x',
    'ls $(cat F)',
  ])('%s is held for a masked agent; refused, it never runs', async (template) => {
    const command = template.replace('F', env);
    const result = gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held === undefined) {
      const r = await result;
      throw new Error(
        `${command} was not held: it ran (${JSON.stringify((r.stdout + r.stderr).slice(0, 300))})`,
      );
    }
    held.deny();
    const r = await result;
    expect(r.code).toBe(126);
    expect(r.stdout).toBe('');
    const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
    expect(st.categories).toContain('unknown');
  });

  it('in an approved shell, a typed loop over split words is held too', async () => {
    const sh = interactive(gw, masked);
    const shell = await gw.approver.next();
    shell.approve();
    await sh.waitFor(/\$ $/m);
    sh.type(`for w in $(cat ${env}); do echo "<$w>"; done\r`);
    const line = await Promise.race([
      gw.approver.next(),
      sh.waitFor(/<horse>/).then(
        () => undefined,
        () => new Promise<never>(() => undefined), // not shown within its wait: the hold decides
      ),
    ]);
    if (line === undefined) throw new Error('the typed line ran: the split password reached the terminal');
    line.deny();
    await sh.exited;
    expect(sh.output()).not.toContain('<horse>');
  });

  it('quoted, the value stays whole and runs as a masked read', async () => {
    const r = await gw.ssh(masked, ['--', `echo "$(cat ${env})"`], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DB_PASSWORD=');
    expect(r.stdout).not.toContain('horse');
  });

  it('an agent whose output is not masked runs them as reads', async () => {
    const gw2 = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const plain = await gw2.token({ subject: 'plain-agent', agent: true });
      const r = await gw2.ssh(plain, ['--', `echo $(cat ${env})`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('horse battery staple');
    } finally {
      await gw2.stop();
    }
  });
});
