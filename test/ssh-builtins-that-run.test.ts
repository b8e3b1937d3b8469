// bash builtins that run or write what their words name: `jobs -x COMMAND` runs COMMAND (it was read
// as `jobs`, a listing, and allowed), and `history -w FILE` writes the history list, which
// `history -s` sets to any text, to FILE (`history -w ~/.bashrc` was an ordinary write). Now
// `jobs -x CMD` is judged as CMD and `history -w`/`-a FILE` as a write to FILE (docs/security.md
// classes 331, 332). Real OpenSSH client, no terminal → Gatehouse (default agent policy) → real sshd,
// real bash.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('bash builtins that run or write what they name', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    agent = await gw.token({ subject: 'builtins-agent', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each([
    ['jobs -x touch', 'jobs-x'],
    ['jobs -lx -- touch', 'jobs-lx'],
  ])('%s MARK is judged as touch: held, and refused it runs nothing', async (prefix, name) => {
    const mark = path.join(sshd.work, name);
    rmSync(mark, { force: true });
    const command = `${prefix} ${mark}`;
    const result = gw.ssh(agent, ['--', command], { timeoutMs: 30_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held === undefined) {
      expect(existsSync(mark), `${command} ran touch as a read`).toBe(false);
      throw new Error(`${command} was not held: it ran`);
    }
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    const r = await result;
    expect(r.code).toBe(126);
    expect(existsSync(mark)).toBe(false);
    const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
    expect(st.categories).toContain('write');
    expect(st.kind).toBe('touch');
  });

  it.each(['-w', '-a'])(
    "history -s 'LINE'; history %s ~/.bashrc is refused as privilege; the start-up file is not written",
    async (option) => {
      // The test user's home is shared by every sshd test on the machine: ~/.bashrc is put back.
      const bashrc = path.join(sshd.home, '.bashrc');
      const before = existsSync(bashrc) ? readFileSync(bashrc, 'utf8') : undefined;
      const command = `history -s 'touch ${path.join(sshd.work, 'from-bashrc')}'; history ${option} ~/.bashrc`;
      try {
        const result = gw.ssh(agent, ['--', command], { timeoutMs: 30_000 });
        const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
        if (held !== undefined) {
          held.deny();
          await result;
          throw new Error(`${command} was held by ${held.ctx.decision.ruleId}, not refused as privilege`);
        }
        const r = await result;
        expect(r.code).toBe(126);
        expect(r.stderr).toMatch(/refused by rule ssh-agents-no-privilege/);
        const after = existsSync(bashrc) ? readFileSync(bashrc, 'utf8') : undefined;
        expect(after, 'history wrote ~/.bashrc').toBe(before);
      } finally {
        if (before === undefined) rmSync(bashrc, { force: true });
        else writeFileSync(bashrc, before);
      }
    },
  );
});
