import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from './approval-types.js';
import { slackEscape, slackMessage, slackShowsWhole, verifySlackSignature } from './slack.js';
import { signWebhook, verifyWebhook } from './webhook-channel.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const sign = (ts: string, body: string, key = secret) =>
  `v0=${createHmac('sha256', key).update(`v0:${ts}:${body}`).digest('hex')}`;

describe('verifySlackSignature', () => {
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const body = 'payload=%7B%7D';
  it("accepts Slack's v0 signature over v0:{timestamp}:{body}", () => {
    expect(verifySlackSignature(secret, ts, sign(ts, body), body, now)).toBe(true);
  });
  it('refuses a wrong key, a changed body, a missing header and an old or future timestamp', () => {
    expect(verifySlackSignature(secret, ts, sign(ts, body, 'other'), body, now)).toBe(false);
    expect(verifySlackSignature(secret, ts, sign(ts, body), `${body}x`, now)).toBe(false);
    expect(verifySlackSignature(secret, undefined, sign(ts, body), body, now)).toBe(false);
    expect(verifySlackSignature(secret, ts, undefined, body, now)).toBe(false);
    const old = String(now / 1000 - 301);
    expect(verifySlackSignature(secret, old, sign(old, body), body, now)).toBe(false);
    const future = String(now / 1000 + 301);
    expect(verifySlackSignature(secret, future, sign(future, body), body, now)).toBe(false);
    expect(verifySlackSignature(secret, '1e3', sign('1e3', body), body, now)).toBe(false);
  });
});

describe('webhook signature', () => {
  it('verifies what it signs, within five minutes', () => {
    const ts = Math.floor(Date.now() / 1000);
    const sig = signWebhook('k', ts, '{"a":1}');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook('k', { timestamp: String(ts), signature: sig }, '{"a":1}')).toBe(true);
    expect(verifyWebhook('k', { timestamp: String(ts), signature: sig }, '{"a":2}')).toBe(false);
    expect(
      verifyWebhook(
        'k',
        { timestamp: String(ts - 600), signature: signWebhook('k', ts - 600, '{"a":1}') },
        '{"a":1}',
      ),
    ).toBe(false);
  });
});

describe('slackMessage', () => {
  const request: ApprovalRequest = {
    id: 'r1',
    kind: 'statement',
    mode: 'hold',
    status: 'pending',
    ruleName: 'dba',
    connection: 'prod',
    requester: { subject: '<@U123>', issuer: 'gatehouse', groups: [], agent: true },
    statement: {
      text: "DELETE FROM t WHERE x = '```<!here>'",
      kind: 'delete',
      categories: ['write'],
      hash: 'h',
    },
    reason: 'cleanup <https://evil|click>',
    preview: { kind: 'plan', plan: ['Delete on t'], rowCount: 3, notes: [], tookMs: 1 },
    createdAt: new Date(0),
    expiresAt: new Date(1),
    uses: 0,
  };
  it('escapes client text and carries approve/deny buttons for the request', () => {
    const json = JSON.stringify(
      slackMessage({ event: 'approval.requested', request, url: 'https://g/approvals/r1', at: new Date() }),
    );
    expect(json).not.toContain('<!here>');
    expect(json).not.toContain('<@U123>');
    expect(json).not.toContain('<https://evil|click>');
    expect(json).toContain(slackEscape('<!here>'));
    // The statement's own ``` cannot end the code block early: only the block's two fences remain.
    const msg = slackMessage({
      event: 'approval.requested',
      request,
      url: 'https://g/approvals/r1',
      at: new Date(),
    }) as { blocks: { text?: { text: string } }[] };
    const code = msg.blocks.map((b) => b.text?.text ?? '').find((t) => t.includes('DELETE'))!;
    expect(code.split('```').length - 1).toBe(2);
    expect(json).toContain('gatehouse_approve');
    expect(json).toContain('gatehouse_deny');
    expect(json).toContain('rows matched by its WHERE: 3');
  });

  it('shows the characters that reorder or hide text', () => {
    const text = 'DELETE FROM t /* \u202e 1 = di EREHW \u2066*/ --\u200b';
    const msg = slackMessage({
      event: 'approval.requested',
      request: { ...request, statement: { ...request.statement!, text }, reason: 'ok\u{e0041}' },
      url: 'https://g/approvals/r1',
      at: new Date(),
    });
    const shown = JSON.parse(JSON.stringify(msg)) as unknown;
    const all = JSON.stringify(shown);
    for (const c of ['\u202e', '\u2066', '\u{e0041}']) expect(all).not.toContain(c);
    expect(all).toContain('⟨U+202E⟩');
    expect(all).toContain('⟨U+2066⟩');
    expect(all).toContain('⟨U+200B⟩');
    expect(all).toContain('⟨U+E0041⟩');
  });

  it('spells out blank-looking and control characters, a typed marker, and runs of blank lines', () => {
    const text = `DELETE FROM t WHERE name <> 'a\u00A0\u000c' -- ⟨U+200B⟩${'\n'.repeat(100)}OR true`;
    const all = JSON.stringify(
      slackMessage({
        event: 'approval.requested',
        request: { ...request, statement: { ...request.statement!, text } },
        url: 'https://g/approvals/r1',
        at: new Date(),
      }),
    );
    expect(all).toContain("'a⟨U+00A0⟩⟨U+000C⟩'");
    expect(all).toContain('-- ⟨U+27E8⟩U+200B⟩');
    expect(all).toContain('⟨99 blank lines⟩\\nOR true');
  });

  it('shows the session settings the approval is bound to, and takes no approval when they do not fit', () => {
    const under = { ...request, preview: { ...request.preview!, settings: { datestyle: 'SQL, DMY' } } };
    const json = JSON.stringify(
      slackMessage({ event: 'approval.requested', request: under, url: 'https://g/r1', at: new Date() }),
    );
    expect(json).toContain('runs under session settings (bound to this approval): datestyle = SQL, DMY');
    expect(slackShowsWhole(under)).toBe(true);
    const long = {
      ...request,
      preview: { ...request.preview!, settings: { search_path: `public, ${'x'.repeat(3000)}, evil` } },
    };
    expect(slackShowsWhole(long)).toBe(false);
    expect(
      JSON.stringify(slackMessage({ event: 'approval.requested', request: long, url: 'u', at: new Date() })),
    ).not.toContain('gatehouse_approve');
  });
});
