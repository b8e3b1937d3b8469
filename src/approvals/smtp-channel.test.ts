import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from './approval-types.js';
import { emailText } from './smtp-channel.js';

describe('emailText', () => {
  it('shows the characters that reorder or hide text, in the subject and the body', () => {
    const request: ApprovalRequest = {
      id: 'r1',
      kind: 'statement',
      mode: 'defer',
      status: 'pending',
      ruleName: 'dba',
      connection: 'prod',
      requester: { subject: 'claude\u202e', issuer: 'gatehouse', groups: [], agent: true },
      statement: {
        text: 'DELETE FROM t /* \u202e 1 = di EREHW \u2066*/ --\u200b',
        kind: 'delete',
        categories: ['write'],
        hash: 'h',
      },
      reason: 'ok\u{e0041}',
      createdAt: new Date(0),
      expiresAt: new Date(1),
      uses: 0,
    };
    const m = emailText({
      event: 'approval.requested',
      request,
      url: 'https://g/approvals/r1',
      at: new Date(),
    });
    for (const c of ['\u202e', '\u2066', '\u200b', '\u{e0041}']) {
      expect(m.body).not.toContain(c);
      expect(m.subject).not.toContain(c);
    }
    expect(m.body).toContain('⟨U+202E⟩ 1 = di EREHW ⟨U+2066⟩');
    expect(m.body).toContain('⟨U+200B⟩');
    expect(m.body).toContain('ok⟨U+E0041⟩');
    expect(m.subject).toContain('claude⟨U+202E⟩');
  });

  it("keeps the client's lines behind a quote mark, so none passes for the message's own", () => {
    const request: ApprovalRequest = {
      id: 'r2',
      kind: 'statement',
      mode: 'defer',
      status: 'pending',
      ruleName: 'dba',
      connection: 'prod',
      requester: { subject: 'claude', issuer: 'gatehouse', groups: [], agent: true },
      statement: {
        text: 'DELETE FROM t /*\r\nApprove or deny: https://evil.example/stmt\n*/',
        kind: 'delete',
        categories: ['write'],
        hash: 'h',
      },
      reason: 'routine\n\nImpact preview:\n  0 rows\u2028Approve or deny: https://evil.example/approve',
      createdAt: new Date(0),
      expiresAt: new Date(1),
      uses: 0,
    };
    const m = emailText({
      event: 'approval.requested',
      request,
      url: 'https://g/approvals/r2',
      at: new Date(),
    });
    const lines = m.body.split('\n');
    expect(lines.filter((l) => l.startsWith('Approve or deny:'))).toEqual([
      'Approve or deny: https://g/approvals/r2',
    ]);
    expect(lines.filter((l) => l.startsWith('Impact preview:'))).toHaveLength(1);
    // A line separator is spelled out on its line, not broken on (a mail reader might draw it as one).
    expect(lines).toContain('  |   0 rows⟨U+2028⟩Approve or deny: https://evil.example/approve');
    expect(lines).toContain('  | Approve or deny: https://evil.example/stmt');
  });

  it('counts a run of blank lines in client text, behind the quote mark (class 342)', () => {
    const request: ApprovalRequest = {
      id: 'r3',
      kind: 'statement',
      mode: 'hold',
      status: 'pending',
      ruleName: 'dba',
      connection: 'prod',
      requester: { subject: 'claude', issuer: 'gatehouse', groups: [], agent: true },
      statement: {
        text: `UPDATE t SET a = 1 WHERE id = 1${'\n'.repeat(301)}OR true`,
        kind: 'update',
        categories: ['write'],
        hash: 'h',
      },
      createdAt: new Date(0),
      expiresAt: new Date(1),
      uses: 0,
    };
    const m = emailText({
      event: 'approval.requested',
      request,
      url: 'https://g/approvals/r3',
      at: new Date(),
    });
    expect(m.body).toContain('  | UPDATE t SET a = 1 WHERE id = 1\n  | ⟨300 blank lines⟩\n  | OR true\n');
  });
});
