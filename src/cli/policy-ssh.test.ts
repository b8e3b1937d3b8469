// `gatehouse policy test --ssh` decides a line as the engine does, output shapes included: for a
// masked agent, a read whose output masking cannot see through is reviewed (docs/security.md class 221).

import { describe, expect, it } from 'vitest';
import type { Identity } from '../core/identity.js';
import { defaultSshPolicies } from '../policy/default-ssh-policy.js';
import { createPolicyDecider } from '../policy/policy-decider.js';
import { classifyShellCommand } from '../shell/index.js';
import { decideSshLines } from './policy-ssh.js';

const agent: Identity = {
  subject: 'claude',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};
const classify = (line: string) => classifyShellCommand({ line });

describe('policy test --ssh and output masking', () => {
  it('reviews a reshaping read for a masked agent, and allows it for an unmasked one', () => {
    const masked = createPolicyDecider({ policies: defaultSshPolicies(['b'], { mask: true }) });
    const plain = createPolicyDecider({ policies: defaultSshPolicies(['b']) });
    const lines = 'xxd .env\ncat .env\n';
    const m = decideSshLines(masked, agent, 'b', lines, classify);
    expect(m.map((r) => [r.command, r.decision.effect])).toEqual([
      ['xxd .env', 'review'],
      ['cat .env', 'allow'],
    ]);
    expect(m[0]!.kind).toMatch(/output masking cannot see through it: xxd encodes/);
    const p = decideSshLines(plain, agent, 'b', lines, classify);
    expect(p.map((r) => r.decision.effect)).toEqual(['allow', 'allow']);
  });
});
