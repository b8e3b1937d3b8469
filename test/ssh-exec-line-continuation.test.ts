// bash removes a backslash-newline before it reads words, so the characters on either side of it are
// one word (or one `$(`): `tr\<newline>uncate -s0 F` is `truncate -s0 F`, `sort -\<newline>o OUT` is
// `sort -o OUT`, and `echo "$\<newline>(cmd)"` and a here-document's `$\<newline>(cmd)` run cmd. The
// parser read the backslash-newline as a blank: the lines were allowed as reads, and ran what no
// decision saw (docs/security.md class 286). Real OpenSSH client → Gatehouse → real sshd and bash.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe.skipIf(!hasSshd())(
  'a backslash-newline joins words for bash (class 286)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'continuation-agent', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    /** Runs `command`; it must be held for review (not run), and, denied, never run. */
    async function heldAndNeverRun(command: string): Promise<void> {
      const asked = gw.approver.seen.length;
      const running = gw.ssh(agent, ['--', command]);
      const first = await Promise.race([
        running.then((r) => `ran (exit ${r.code})`),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      expect(first, `${JSON.stringify(command)} ran without review`).toBe('held');
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      expect((await running).code).toBe(126);
    }

    it('tr\\<newline>uncate is held (it is truncate), and the file keeps its text', async () => {
      const file = sshd.put('continuation/keep.txt', 'precious\n');
      await heldAndNeverRun(`tr\\\nuncate -s0 ${file}`);
      expect(readFileSync(file, 'utf8')).toBe('precious\n');
    });

    it('sort -\\<newline>o is held (it is sort -o), and writes nothing', async () => {
      const out = path.join(sshd.work, 'continuation', 'sorted.out');
      sshd.put('continuation/list.txt', 'b\na\n');
      await heldAndNeverRun(`sort -\\\no ${out} ${path.join(sshd.work, 'continuation', 'list.txt')}`);
      expect(existsSync(out)).toBe(false);
    });

    it.each([
      ['a double-quoted $\\<newline>(…)', (m: string) => `echo "$\\\n(touch ${m})"`],
      ["a here-document body's $\\<newline>(…)", (m: string) => `cat <<EOF\n$\\\n(touch ${m})\nEOF`],
    ])('%s is held, and the command in it never runs', async (_label, make) => {
      const marker = path.join(sshd.work, 'continuation', `ran-${Math.random().toString(36).slice(2)}`);
      await heldAndNeverRun(make(marker));
      expect(existsSync(marker)).toBe(false);
    });

    it.each(['ls -la \\\n  /etc/hostname', 'cat /etc/hostname |\\\n  wc -l', "printf '%s\\n' a \\\nb"])(
      'a continuation after a blank, or before one, stays a read: %j',
      async (command) => {
        const r = await gw.ssh(agent, ['--', command]);
        expect(r.code, r.stderr).toBe(0);
      },
    );
  },
);
