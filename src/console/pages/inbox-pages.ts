// The approvals inbox: what waits for me first (with impact preview and reason), other pending
// requests, history; and one request with votes, history and the approve/deny form. Pages carry
// `data-live` so the console script re-renders them when the request changes (SSE).

import {
  boundSettings,
  type ApprovalDetails,
  type ApprovalRequest,
  type ImpactPreview,
} from '../../approvals/approval-types.js';
import { formatTime, html, type Html } from '../html.js';
import { layout, statusBadge, type PageViewer } from './layout.js';

export interface InboxEntry {
  readonly request: ApprovalRequest;
  /** Why I may not decide it (undefined: I may); pending requests only. */
  readonly cannotDecide?: string;
  readonly votedByMe: boolean;
}

function what(r: ApprovalRequest): string {
  return (
    r.statement?.text ??
    `access grant ${r.grantName ?? ''} for ${Math.round((r.requestedDurationMs ?? 0) / 60_000)} minutes`
  );
}

/**
 * What the approval is bound to besides the text and parameters (the session's DateStyle, TimeZone,
 * search_path…): shown next to the statement, since the same text means something else under them.
 */
export function boundBlock(r: ApprovalRequest): Html {
  const pairs = boundSettings(r);
  if (pairs.length === 0) return html``;
  return html`<div class="bound">
    <strong>Runs under these session settings</strong>
    <span class="note">(bound to this approval: the same text means something else without them)</span>
    <table class="kv bound-settings">
      ${pairs.map(
        ([k, v]) =>
          html`<tr>
            <th><code>${k}</code></th>
            <td><code>${v}</code></td>
          </tr>`,
      )}
    </table>
  </div>`;
}

function requester(r: ApprovalRequest): Html {
  return html`${r.requester.subject}${r.requester.agent ? html` <span class="badge agent">agent</span>` : ''}`;
}

export function previewBlock(p: ImpactPreview | undefined): Html {
  if (!p) return html`<p class="note">No impact preview.</p>`;
  return html`${p.rowCount !== undefined ? html`<p><strong>Rows matched by its WHERE:</strong> <span class="rowcount">${p.rowCount}</span></p>` : ''}
    ${
      p.plan?.length
        ? html`<p><strong>EXPLAIN</strong> <span class="note">(estimated plan; nothing was run)</span></p>
            <pre>${p.plan.join('\n')}</pre>`
        : ''
    }
    ${
      p.objects?.length
        ? html`<table class="list">
            <thead>
              <tr>
                <th>Object</th>
                <th>Type</th>
                <th>Exists</th>
                <th>Bytes</th>
                <th>Est. rows</th>
              </tr>
            </thead>
            <tbody>
              ${p.objects.map(
                (o) =>
                  html`<tr>
                    <td>${o.name}</td>
                    <td>${o.type}</td>
                    <td>${o.exists ? 'yes' : 'no'}</td>
                    <td>${o.bytes}</td>
                    <td>${o.estimatedRows}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : ''
    }
    ${p.notes.map((n) => html`<p class="note">${n}</p>`)}
    <p class="note">Preview took ${p.tookMs} ms.</p>`;
}

function entryCard(e: InboxEntry, mine: boolean): Html {
  const r = e.request;
  return html`<li class="inbox-item${mine ? ' mine' : ''}" data-request="${r.id}">
    <div class="stmt-head">
      <a href="/inbox/${encodeURIComponent(r.id)}">${formatTime(r.createdAt)}</a> ${statusBadge(r.status)}
      ${requester(r)} on <strong>${r.connection}</strong>
      <span class="note"
        >rule
        ${r.ruleName}${r.policyRuleId ? ` · policy ${r.policyRuleId}` : ''}${r.mode === 'hold' && r.status === 'pending' ? ' · the client is waiting' : ''}</span
      >
    </div>
    <pre class="stmt">${what(r).slice(0, 2000)}</pre>
    ${boundBlock(r)}
    <div><strong>Reason:</strong> ${r.reason ? r.reason : html`<span class="note">none given</span>`}</div>
    ${
      mine && r.preview
        ? html`<details open>
            <summary>Impact preview</summary>
            ${previewBlock(r.preview)}
          </details>`
        : ''
    }
    ${r.status === 'pending' && e.cannotDecide ? html`<div class="note">You cannot decide: ${e.cannotDecide}.</div>` : ''}
    ${r.status === 'pending' && e.votedByMe ? html`<div class="note">You voted; waiting for more approvers.</div>` : ''}
    ${r.decidedBy ? html`<div class="note">Decided by ${r.decidedBy}${r.decisionComment ? html` — “${r.decisionComment}”` : ''}</div>` : ''}
    ${mine ? html`<p><a class="button primary" href="/inbox/${encodeURIComponent(r.id)}">Review and decide</a></p>` : ''}
  </li>`;
}

export function inboxPage(o: {
  viewer: PageViewer;
  mine: readonly InboxEntry[];
  otherPending: readonly InboxEntry[];
  history: readonly InboxEntry[];
  enabled: boolean;
}): string {
  const body = !o.enabled
    ? html`<h1>Approvals</h1>
        <div class="card note">
          Approvals are not configured on this gateway (approvals: in gatehouse.yaml).
        </div>`
    : html`<h1>Approvals</h1>
        <div data-live="inbox">
          <h2>Waiting for you <span class="count" id="mine-count">${o.mine.length}</span></h2>
          ${
            o.mine.length
              ? html`<ol class="inbox" id="inbox-mine">
                  ${o.mine.map((e) => entryCard(e, true))}
                </ol>`
              : html`<p class="note" id="inbox-mine">Nothing waits for you.</p>`
          }
          <h2>Other pending requests</h2>
          ${
            o.otherPending.length
              ? html`<ol class="inbox">
                  ${o.otherPending.map((e) => entryCard(e, false))}
                </ol>`
              : html`<p class="note">None.</p>`
          }
          <h2>History</h2>
          ${
            o.history.length
              ? html`<table class="list" id="history">
                  <thead>
                    <tr>
                      <th>Requested</th>
                      <th>Status</th>
                      <th>By</th>
                      <th>Connection</th>
                      <th>What</th>
                      <th>Decided</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${o.history.map(
                      ({ request: r }) =>
                        html`<tr>
                          <td><a href="/inbox/${encodeURIComponent(r.id)}">${formatTime(r.createdAt)}</a></td>
                          <td>${statusBadge(r.status)}</td>
                          <td>${requester(r)}</td>
                          <td>${r.connection}</td>
                          <td><code class="stmt">${what(r).slice(0, 160)}</code></td>
                          <td>
                            ${r.decidedBy ?? ''}${r.decisionComment ? html` — “${r.decisionComment}”` : ''}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
              : html`<p class="note">No decided requests yet.</p>`
          }
        </div>`;
  return layout({ title: 'Approvals', section: 'inbox', viewer: o.viewer, body });
}

export function requestPage(o: {
  viewer: PageViewer;
  details: ApprovalDetails;
  cannotDecide?: string;
  votedByMe: boolean;
  flash?: string;
}): string {
  const { request: r, votes, history } = o.details;
  const rows: [string, Html | string][] = [
    ['Status', statusBadge(r.status)],
    [
      'Requested by',
      html`${requester(r)}
        <span class="note">(${r.requester.issuer}; groups ${r.requester.groups.join(', ') || 'none'})</span>`,
    ],
    ['Connection', r.connection],
    [
      'What',
      r.kind === 'access'
        ? `time-bound access grant ${r.grantName ?? ''}`
        : r.mode === 'hold'
          ? 'a held statement: the client is waiting for this decision'
          : 'a deferred statement: once approved, the client runs it again',
    ],
    ['Approval rule', r.ruleName],
    ...(r.policyRuleId ? [['Policy rule', r.policyRuleId] as [string, string]] : []),
    ['Requested', formatTime(r.createdAt)],
    ...(r.status === 'pending' ? [['Expires', formatTime(r.expiresAt)] as [string, string]] : []),
    ...(r.decidedAt
      ? [
          [
            'Decided',
            html`${formatTime(r.decidedAt)}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.decisionComment ? html` — “${r.decisionComment}”` : ''}`,
          ] as [string, Html],
        ]
      : []),
    ...(r.sessionId
      ? [
          ['Session', html`<a href="/sessions/${encodeURIComponent(r.sessionId)}">${r.sessionId}</a>`] as [
            string,
            Html,
          ],
        ]
      : []),
  ];
  const decide =
    r.status !== 'pending'
      ? ''
      : o.cannotDecide
        ? html`<div class="card"><p class="warn">You cannot decide this request: ${o.cannotDecide}.</p></div>`
        : o.votedByMe
          ? html`<div class="card note">You voted; waiting for more approvers.</div>`
          : html`<div class="card">
              <h2>Your decision</h2>
              <form method="post" action="/inbox/${encodeURIComponent(r.id)}" id="decide">
                <input type="hidden" name="csrf" value="${o.viewer.csrf}" />
                <label
                  >Comment (shown to the requester and kept in the record)<br /><textarea
                    name="comment"
                    rows="3"
                    maxlength="2000"
                  ></textarea>
                </label>
                <p>
                  <button class="approve" type="submit" name="decision" value="approve">Approve</button>
                  <button class="deny" type="submit" name="decision" value="deny">Deny</button>
                </p>
              </form>
            </div>`;
  return layout({
    title: `Request ${r.id}`,
    section: 'inbox',
    viewer: o.viewer,
    body: html`<p><a href="/inbox">← Approvals</a></p>
      <div data-live="request" data-request="${r.id}">
        <h1>Approval request <span class="status-live">${statusBadge(r.status)}</span></h1>
        <p class="note"><code>${r.id}</code></p>
        ${o.flash ? html`<div class="card flash" role="status">${o.flash}</div>` : ''}
        <div class="card">
          <table class="kv">
            ${rows.map(
              ([k, v]) =>
                html`<tr>
                  <th>${k}</th>
                  <td>${v}</td>
                </tr>`,
            )}
          </table>
        </div>
        ${r.message ? html`<p class="note">Policy: ${r.message}</p>` : ''}
        ${
          r.statement
            ? html`<h2>
                  Statement
                  <span class="note">(${r.statement.kind}; ${r.statement.categories.join(', ')})</span>
                </h2>
                <pre class="stmt">${r.statement.text}</pre>
                ${r.statement.params?.length ? html`<p class="note">params: <code>${JSON.stringify(r.statement.params)}</code></p>` : ''}
                ${boundBlock(r)}`
            : ''
        }
        <h2>Reason</h2>
        <div class="card">${r.reason ? r.reason : html`<span class="note">No reason was given.</span>`}</div>
        ${
          r.kind === 'statement'
            ? html`<h2>Impact preview</h2>
                <div class="card">${previewBlock(r.preview)}</div>`
            : ''
        }
        ${decide}
        <h2>Votes</h2>
        <div class="card">
          ${
            votes.length
              ? html`<table class="list">
                  ${votes.map(
                    (v) =>
                      html`<tr>
                        <td>${formatTime(v.at)}</td>
                        <td>${v.vote}</td>
                        <td>
                          ${v.approver.subject} <span class="note">(${v.approver.issuer}, via ${v.via})</span>
                        </td>
                        <td>${v.comment ?? ''}</td>
                      </tr>`,
                  )}
                </table>`
              : html`<span class="note">None yet.</span>`
          }
        </div>
        <h2>History</h2>
        <div class="card">
          <table class="list">
            ${history.map(
              (e) =>
                html`<tr>
                  <td>${formatTime(e.at)}</td>
                  <td>${e.type}</td>
                  <td>${e.actor ?? ''}</td>
                </tr>`,
            )}
          </table>
        </div>
      </div>`,
  });
}
