// Slack: the Block Kit approval message (sent to an incoming webhook) with approve/deny buttons, and
// the check of Slack's request signature on interactions (v0 HMAC-SHA-256 over "v0:{ts}:{body}",
// https://api.slack.com/authentication/verifying-requests-from-slack). Text from clients is escaped.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { revealInvisible } from '../core/visible-text.js';
import { postWithTimeout, type ApprovalNotice, type NotificationChannel } from './approval-notifier.js';
import { boundText, type ApprovalRequest, type ImpactPreview } from './approval-types.js';

export const SLACK_APPROVE_ACTION = 'gatehouse_approve';
export const SLACK_DENY_ACTION = 'gatehouse_deny';
const MAX_AGE_S = 5 * 60;

/** True when the signature is Slack's for this body and the timestamp is at most five minutes old. */
export function verifySlackSignature(
  signingSecret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowMs = Date.now(),
): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_AGE_S) return false;
  const want = Buffer.from(
    `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`,
  );
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Slack mrkdwn escaping: only &, < and > are control characters (https://api.slack.com/reference/surfaces/formatting). */
export function slackEscape(s: string): string {
  // Invisible and reordering characters are shown, not passed on (src/core/visible-text.ts).
  return revealInvisible(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Client text inside a ``` block: escaped, and unable to close the block early. */
function codeBlock(s: string, n: number): string {
  return '```' + clip(escapedStatement(s), n) + '```';
}

export function previewSummary(p: ImpactPreview | undefined): string[] {
  if (!p) return ['no impact preview'];
  const lines: string[] = [];
  if (p.rowCount !== undefined) lines.push(`rows matched by its WHERE: ${p.rowCount}`);
  if (p.plan?.length) lines.push(...p.plan.slice(0, 8));
  for (const o of p.objects ?? []) {
    lines.push(
      o.exists
        ? `${o.type} ${o.name}: ${o.bytes ?? '?'} bytes${o.estimatedRows !== undefined ? `, ~${o.estimatedRows} rows` : ''}`
        : `${o.type} ${o.name}: does not exist`,
    );
  }
  lines.push(...p.notes);
  return lines.length ? lines : ['nothing to preview'];
}

/** Longest statement text (escaped) and parameter list a Slack message shows before clipping. */
const STATEMENT_CHARS = 2800;
const PARAMS_CHARS = 2000;

/**
 * Client text for a ``` block, with no two backticks side by side, nor one at either end next to a
 * fence: a zero-width space after every backtick (and before a leading one). Breaking each "```"
 * alone was not enough: "````" became "`\u200b```", a fence again, and the text after it was the
 * message's own mrkdwn (docs/security.md, class 297).
 */
function escapedStatement(text: string): string {
  const s = slackEscape(text).replace(/`/g, '`\u200b');
  return s.startsWith('`') ? `\u200b${s}` : s;
}

/**
 * The parameters and the bound settings are the client's words too (a value, a custom setting's
 * value): in a code block, as the statement and the reason are, so they draw no heading, bold
 * line or link that passes for the message's own (docs/security.md, class 260).
 */
const PARAMS_PREFIX = 'parameters: ';

/** The parameters as shown, in a code block clipped to fit (paramsFit says whether it had to be). */
function paramsLine(params: readonly (string | null)[]): string {
  return PARAMS_PREFIX + codeBlock(JSON.stringify(params), PARAMS_CHARS - PARAMS_PREFIX.length - 6);
}

function paramsFit(params: readonly (string | null)[]): boolean {
  return PARAMS_PREFIX.length + escapedStatement(JSON.stringify(params)).length + 6 <= PARAMS_CHARS;
}

/** The settings the approval is bound to besides text and parameters (see boundText). */
function settingsLine(r: ApprovalRequest): string | undefined {
  const t = boundText(r);
  return t === undefined ? undefined : codeBlock(t, PARAMS_CHARS - 6);
}

function settingsFit(r: ApprovalRequest): boolean {
  const t = boundText(r);
  return t === undefined || escapedStatement(t).length + 6 <= PARAMS_CHARS;
}

/**
 * True when the Slack message shows the request's statement, parameters and bound settings whole. An approval from
 * Slack is taken only then: an approver must not approve text that the message clipped.
 */
export function slackShowsWhole(r: ApprovalRequest): boolean {
  if (!r.statement) return true;
  // codeBlock() wraps the text in ``` … ```, which count towards the clip.
  if (escapedStatement(r.statement.text).length + 6 > STATEMENT_CHARS) return false;
  const params = r.statement.params;
  if (params?.length && !paramsFit(params)) return false;
  return settingsFit(r);
}

function principal(r: ApprovalRequest): string {
  return `${r.requester.subject} (${r.requester.issuer})${r.requester.agent ? ' · agent' : ''}`;
}

export function slackMessage(notice: ApprovalNotice): Record<string, unknown> {
  const r = notice.request;
  if (notice.event !== 'approval.requested') {
    const word = notice.event.slice('approval.'.length);
    const by = r.decidedBy ? ` by ${r.decidedBy}` : '';
    const comment = r.decisionComment ? `: “${r.decisionComment}”` : '';
    return { text: slackEscape(`Gatehouse request ${r.id} ${word}${by}${comment}`) };
  }
  const what =
    r.kind === 'access'
      ? `Time-bound access *${slackEscape(r.grantName ?? '')}* on *${slackEscape(r.connection)}* for ${Math.round((r.requestedDurationMs ?? 0) / 60_000)} min`
      : `${r.mode === 'hold' ? 'A held statement (the client is waiting)' : 'A deferred statement'} on *${slackEscape(r.connection)}*`;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Gatehouse: approval needed' } },
    { type: 'section', text: { type: 'mrkdwn', text: what } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requested by*\n${slackEscape(principal(r))}` },
        { type: 'mrkdwn', text: `*Approval rule*\n${slackEscape(r.ruleName)}` },
        { type: 'mrkdwn', text: `*Request*\n${slackEscape(r.id)}` },
        { type: 'mrkdwn', text: `*Expires*\n${r.expiresAt.toISOString()}` },
      ],
    },
  ];
  if (r.statement) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: codeBlock(r.statement.text, STATEMENT_CHARS - 6) },
    });
    if (r.statement.params?.length) {
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: paramsLine(r.statement.params) }],
      });
    }
    const bound = settingsLine(r);
    if (bound) {
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: bound }],
      });
    }
  }
  blocks.push({
    type: 'section',
    text: {
      type: 'mrkdwn',
      // The client's words in a code block, as the statement is: as mrkdwn they could draw headings,
      // fields and links that pass for the gateway's own (a second "Impact preview", a link to
      // approve elsewhere).
      text: `*Reason* (as the client gave it)\n${r.reason ? codeBlock(r.reason, 2000) : '_none given_'}`,
    },
  });
  if (r.kind === 'statement') {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Impact preview*\n${codeBlock(previewSummary(r.preview).join('\n'), 2800)}`,
      },
    });
  }
  const whole = slackShowsWhole(r);
  if (!whole) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*The statement is too long to show here in full*: open the request to read it and approve it there.',
      },
    });
  }
  blocks.push({
    type: 'actions',
    block_id: 'gatehouse_approval',
    elements: [
      ...(whole ? [approveButton(r.id)] : []),
      {
        type: 'button',
        action_id: SLACK_DENY_ACTION,
        style: 'danger',
        text: { type: 'plain_text', text: 'Deny' },
        value: r.id,
      },
      {
        type: 'button',
        action_id: 'gatehouse_open',
        text: { type: 'plain_text', text: 'Open' },
        url: notice.url,
      },
    ],
  });
  return {
    text: slackEscape(`Gatehouse: approval needed for ${principal(r)} on ${r.connection} (${r.id})`),
    blocks,
  };
}

function approveButton(id: string): Record<string, unknown> {
  return {
    type: 'button',
    action_id: SLACK_APPROVE_ACTION,
    style: 'primary',
    text: { type: 'plain_text', text: 'Approve' },
    value: id,
  };
}

export function slackChannel(webhookUrl: () => Promise<string>): NotificationChannel {
  return {
    name: 'slack',
    wants: () => true,
    async send(notice) {
      await postWithTimeout(await webhookUrl(), JSON.stringify(slackMessage(notice)), {
        'content-type': 'application/json',
      });
    },
  };
}
