// Output masking finds a secret where its bytes stand as they were: `xxd .env`, `od -c`, `rev`, `fold
// -w1`, `tr`, `sed 's/./& /g'`, `cut -d= -f2`, `head -c`, `gzip -c`… showed a masked agent the secrets
// of a file in a form no detector or field name saw, as reads (docs/security.md class 221). For a
// principal whose output is masked, such a line is now decided as one Gatehouse cannot judge: held
// for review under the default policy, and run only if a person approves it. Real OpenSSH client →
// Gatehouse → real sshd.

import { chownSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

const ACCESS_KEY = 'AKIAZ7QX3LMNB4KD6TRE';
const SECRET_KEY = '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';
const DB_PASSWORD = 'correct-horse-battery';

describe.skipIf(!hasSshd())('ssh output reshaped past the masking detectors', { timeout: 120_000 }, () => {
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
    env = path.join(sshd.work, '.env');
    writeFileSync(
      env,
      `APP_ENV=production\nAWS_ACCESS_KEY_ID=${ACCESS_KEY}\nAWS_SECRET_ACCESS_KEY=${SECRET_KEY}\n` +
        `DB_PASSWORD=${DB_PASSWORD}\nLOG_LEVEL=info\n`,
    );
    const st = statSync(sshd.work);
    chownSync(env, st.uid, st.gid);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each([
    'xxd F',
    'od -c F',
    'hexdump -C F',
    'rev F',
    'fold -w1 F',
    "tr 'a-zA-Z' 'n-za-mN-ZA-M' < F",
    "sed 's/./& /g' F",
    'cut -d= -f2 F',
    'head -c 30 F',
    'gzip -c F',
    'cat F | base64',
    'xargs -n1 < F',
    'set -- $(cat F); echo "$2"',
  ])('%s is held for a masked agent; refused, it never runs', async (template) => {
    const command = template.replace('F', env);
    const result = gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held === undefined) {
      const r = await result;
      throw new Error(`${command} was not held: it ran (${JSON.stringify(r.stdout.slice(0, 120))})`);
    }
    held.deny();
    const r = await result;
    expect(r.code).toBe(126);
    expect(r.stdout).toBe('');
    const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
    expect(st.categories).toContain('unknown');
  });

  it('an approved reshaping read runs, still masked as far as the detectors see', async () => {
    const command = `rev ${env}`;
    const result = gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held === undefined) throw new Error(`${command} was not held`);
    held.approve();
    const r = await result;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('noitcudorp=VNE_PPA');
  });

  it('cat, grep, head -n and sed -n 1,3p still run as reads, masked', async () => {
    for (const command of [`cat ${env}`, `grep KEY ${env}`, `head -n 3 ${env}`, `sed -n 1,3p ${env}`]) {
      const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).not.toContain(SECRET_KEY);
      expect(r.stdout, command).not.toContain(ACCESS_KEY);
      expect(r.stdout, command).toContain('AWS_');
    }
  });

  it('in an approved shell, a typed line that reshapes is held too', async () => {
    const sh = interactive(gw, masked);
    const shell = await gw.approver.next();
    expect(shell.ctx.decision.ruleId).toBe('ssh-agents-review-shell');
    shell.approve();
    await sh.waitFor(/\$ $/m);
    sh.type(`rev ${env}\r`);
    const line = await Promise.race([
      gw.approver.next(),
      sh.waitFor(/noitcudorp/).then(
        () => undefined,
        () => new Promise<never>(() => undefined), // not shown within its wait: the hold decides
      ),
    ]);
    if (line === undefined) throw new Error('the typed line ran: its reversed secrets reached the terminal');
    line.deny();
    await sh.exited;
    expect(sh.output()).not.toContain('noitcudorp');
  });

  it('an agent whose output is not masked runs them as reads', async () => {
    const gw2 = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const plain = await gw2.token({ subject: 'plain-agent', agent: true });
      const r = await gw2.ssh(plain, ['--', `rev ${env}`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('noitcudorp=VNE_PPA');
    } finally {
      await gw2.stop();
    }
  });
});
