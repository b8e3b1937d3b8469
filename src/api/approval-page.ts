// Server-rendered HTML for the approval pages: one request (statement, principal, reason, impact
// preview, votes, history, approve/deny form), the pending list and the login form. One script, from
// this origin: the browser binding (browser-binding.ts), without which a signed-in page shows nothing.
// Everything shown is escaped: statement text, reasons and names come from clients and are hostile.

import { revealInvisible } from '../core/visible-text.js';
import {
  boundSettings,
  type ApprovalDetails,
  type ApprovalRequest,
  type ImpactPreview,
} from '../approvals/approval-types.js';

/** HTML-escaped, with invisible and reordering characters shown (src/core/visible-text.ts). */
export function escapeHtml(s: string): string {
  return revealInvisible(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const h = (s: string | number | undefined | null): string =>
  escapeHtml(s === undefined || s === null ? '' : String(s));

/** Scripts from this origin only (the binding script), no framing, forms only to this origin. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:16px;margin:12px 0}
pre{background:#0f1720;color:#e6edf3;padding:12px;border-radius:6px;overflow:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{width:190px;color:#57606a;font-weight:600}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:13px}
.pending{background:#fff3c4}.approved{background:#d3f5dc}.denied{background:#ffd9d6}.expired,.withdrawn{background:#e4e7eb}
.note{color:#57606a} .warn{color:#9a3412}
button{font:inherit;padding:8px 18px;border-radius:6px;border:1px solid #8c959f;cursor:pointer;margin-right:8px}
button.approve{background:#1f883d;color:#fff;border-color:#1f883d} button.deny{background:#cf222e;color:#fff;border-color:#cf222e}
textarea,input[type=text],input[type=number],input[type=password]{font:inherit;width:100%;box-sizing:border-box;padding:6px;border:1px solid #8c959f;border-radius:6px}
.row{display:flex;gap:12px} .row>div{flex:1}
header{display:flex;justify-content:space-between;align-items:center}
a{color:#0969da}
`;

export function layout(title: string, body: string, viewer?: string, csrf?: string): string {
  const logout =
    viewer && csrf
      ? `<form method="post" action="/approvals/logout"><input type="hidden" name="csrf" value="${h(csrf)}"><span class="note">${h(viewer)}</span> <button type="submit">Log out</button></form>`
      : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="gatehouse-bind-key" content="gatehouse.approvals" data-login="/approvals/login">
<title>${h(title)} · Gatehouse</title><style>${STYLE}</style><script src="/approvals/assets/bind.js"></script></head>
<body><main><header><div><a href="/approvals">Gatehouse approvals</a></div>${logout}</header>${body}</main></body></html>`;
}

export function loginPage(opts: { next: string; csrf: string; error?: string; oidc: boolean }): string {
  return layout(
    'Log in',
    `<h1>Log in to review approval requests</h1>
${opts.error ? `<p class="warn">${h(opts.error)}</p>` : ''}
${opts.oidc ? `<div class="card"><a data-bind-start href="/approvals/oidc/login?next=${encodeURIComponent(opts.next)}"><button type="button">Log in with your identity provider</button></a></div>` : ''}
<div class="card"><form method="post" action="/approvals/login">
<input type="hidden" name="csrf" value="${h(opts.csrf)}"><input type="hidden" name="next" value="${h(opts.next)}">
<label>Gatehouse token (<code>gatehouse token issue</code>, or the demo's GATEHOUSE_ADMIN_TOKEN)<br>
<input type="password" name="token" autocomplete="off" required></label>
<p><button type="submit">Log in</button></p>
<p class="note">The token is kept by the gateway, not in your browser: this browser gets a session cookie and a key kept for this page's origin only, until you log out or it expires.</p></form></div>`,
  );
}

function status(s: string): string {
  return `<span class="status ${h(s)}">${h(s)}</span>`;
}

function time(d: Date | undefined): string {
  return d
    ? h(
        d
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, 'Z'),
      )
    : '';
}

export function previewHtml(p: ImpactPreview | undefined): string {
  if (!p) return '<p class="note">No impact preview.</p>';
  const parts: string[] = [];
  if (p.rowCount !== undefined)
    parts.push(`<p><strong>Rows matched by its WHERE:</strong> ${h(p.rowCount)}</p>`);
  if (p.plan?.length)
    parts.push(
      `<p><strong>EXPLAIN</strong> (estimated plan; nothing was run)</p><pre>${h(p.plan.join('\n'))}</pre>`,
    );
  if (p.objects?.length) {
    parts.push(
      `<table><tr><th>Object</th><th>Type</th><th>Exists</th><th>Size</th><th>Est. rows</th></tr>${p.objects
        .map(
          (o) =>
            `<tr><td>${h(o.name)}</td><td>${h(o.type)}</td><td>${o.exists ? 'yes' : 'no'}</td><td>${o.bytes !== undefined ? h(formatBytes(o.bytes)) : ''}</td><td>${h(o.estimatedRows)}</td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  for (const n of p.notes) parts.push(`<p class="note">${h(n)}</p>`);
  parts.push(`<p class="note">Preview took ${h(p.tookMs)} ms.</p>`);
  return parts.join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]} (${n} bytes)`;
}

/** The settings the approval is bound to besides the text and parameters (DateStyle, TimeZone…). */
function boundHtml(r: ApprovalRequest): string {
  const pairs = boundSettings(r);
  if (pairs.length === 0) return '';
  return `<p><strong>Runs under these session settings</strong> <span class="note">(bound to this approval: the same text means something else without them)</span></p><table class="bound-settings">${pairs
    .map(([k, v]) => `<tr><th><code>${h(k)}</code></th><td><code>${h(v)}</code></td></tr>`)
    .join('')}</table>`;
}

function principal(r: ApprovalRequest): string {
  return `${h(r.requester.subject)} <span class="note">(${h(r.requester.issuer)}; groups: ${h(r.requester.groups.join(', ') || 'none')})</span>${r.requester.agent ? ' <strong>· AI agent</strong>' : ''}`;
}

export interface RequestPageOptions {
  readonly details: ApprovalDetails;
  readonly viewer: string;
  readonly csrf: string;
  /** Why this viewer may not decide (own request, agent, not an approver…); undefined when they may. */
  readonly cannotDecide?: string;
  readonly flash?: string;
}

export function requestPage(o: RequestPageOptions): string {
  const { request: r, votes, history } = o.details;
  const rows: [string, string][] = [
    ['Status', status(r.status)],
    ['Requested by', principal(r)],
    ['Connection', h(r.connection)],
    [
      'What',
      r.kind === 'access'
        ? `time-bound access grant <strong>${h(r.grantName)}</strong> for ${h(Math.round((r.requestedDurationMs ?? 0) / 60_000))} minutes`
        : r.mode === 'hold'
          ? 'a held statement: the client is waiting for this decision'
          : 'a deferred statement: once approved, the client re-runs it',
    ],
    ['Approval rule', h(r.ruleName)],
    ...(r.policyRuleId ? [['Policy rule', h(r.policyRuleId)] as [string, string]] : []),
    ['Requested', time(r.createdAt)],
    ['Expires', r.status === 'pending' ? time(r.expiresAt) : ''],
    ...(r.decidedAt
      ? [
          [
            'Decided',
            `${time(r.decidedAt)} ${r.decidedBy ? `by ${h(r.decidedBy)}` : ''}${r.decisionComment ? ` — “${h(r.decisionComment)}”` : ''}`,
          ] as [string, string],
        ]
      : []),
    ...(r.validUntil
      ? [
          [
            'Valid until',
            `${time(r.validUntil)}${r.usesAllowed !== undefined ? ` · ${h(r.uses)} of ${h(r.usesAllowed)} runs used` : ''}`,
          ] as [string, string],
        ]
      : []),
    ...(r.sessionId ? [['Session', h(r.sessionId)] as [string, string]] : []),
    ...(r.statement ? [['Statement hash', `<code>${h(r.statement.hash)}</code>`] as [string, string]] : []),
  ];
  const statement = r.statement
    ? `<h2>Statement <span class="note">(${h(r.statement.kind)}; ${h(r.statement.categories.join(', '))})</span></h2><pre>${h(r.statement.text)}</pre>${
        r.statement.params?.length
          ? `<table>${r.statement.params.map((p, i) => `<tr><th>$${i + 1}</th><td>${p === null ? '<em>NULL</em>' : `<code>${h(p)}</code>`}</td></tr>`).join('')}</table>`
          : ''
      }${boundHtml(r)}`
    : '';
  const decideForm =
    r.status !== 'pending'
      ? ''
      : o.cannotDecide
        ? `<div class="card"><p class="warn">You cannot decide this request: ${h(o.cannotDecide)}.</p></div>`
        : `<div class="card"><h2>Your decision</h2><form method="post" action="/approvals/${encodeURIComponent(r.id)}">
<input type="hidden" name="csrf" value="${h(o.csrf)}">
<label>Comment (shown to the requester)<br><textarea name="comment" rows="3" maxlength="2000"></textarea></label>
${
  r.mode === 'defer'
    ? `<div class="row"><div><label>Runs allowed<br><input type="number" name="uses" min="1" max="1000" placeholder="1"></label></div>
<div><label>Or for minutes<br><input type="number" name="forMinutes" min="1" max="43200" placeholder="(runs only)"></label></div></div>`
    : ''
}
<p><button class="approve" type="submit" name="decision" value="approve">Approve</button><button class="deny" type="submit" name="decision" value="deny">Deny</button></p>
</form></div>`;
  return layout(
    `Request ${r.id}`,
    `<h1>Approval request</h1><p class="note"><code>${h(r.id)}</code></p>
${o.flash ? `<div class="card"><strong>${h(o.flash)}</strong></div>` : ''}
<div class="card"><table>${rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${v}</td></tr>`).join('')}</table></div>
${r.message ? `<p class="note">Policy: ${h(r.message)}</p>` : ''}
${statement}
<h2>Reason</h2><div class="card">${r.reason ? h(r.reason) : '<span class="note">No reason was given.</span>'}</div>
${r.kind === 'statement' ? `<h2>Impact preview</h2><div class="card">${previewHtml(r.preview)}</div>` : ''}
${decideForm}
<h2>Votes</h2><div class="card">${
      votes.length
        ? `<table>${votes.map((v) => `<tr><td>${time(v.at)}</td><td>${h(v.vote)}</td><td>${h(v.approver.subject)} <span class="note">(${h(v.approver.issuer)}, via ${h(v.via)})</span></td><td>${h(v.comment)}</td></tr>`).join('')}</table>`
        : '<span class="note">None yet.</span>'
    }</div>
<h2>History</h2><div class="card"><table>${history
      .map(
        (e) =>
          `<tr><td>${time(e.at)}</td><td>${h(e.type)}</td><td>${h(e.actor)}</td><td class="note">${h(summary(e.data))}</td></tr>`,
      )
      .join('')}</table></div>`,
    o.viewer,
    o.csrf,
  );
}

function summary(data: Readonly<Record<string, unknown>>): string {
  const skip = new Set(['preview', 'text', 'params', 'url']);
  return Object.entries(data)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ')
    .slice(0, 400);
}

export function listPage(
  requests: readonly ApprovalRequest[],
  viewer: string,
  csrf: string,
  statusFilter: string,
): string {
  const filters = ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'all']
    .map((s) => (s === statusFilter ? `<strong>${s}</strong>` : `<a href="/approvals?status=${s}">${s}</a>`))
    .join(' · ');
  return layout(
    'Approval requests',
    `<h1>Approval requests</h1><p>${filters}</p><div class="card">${
      requests.length
        ? `<table><tr><th>Requested</th><th>Status</th><th>By</th><th>Connection</th><th>What</th></tr>${requests
            .map(
              (r) =>
                `<tr><td><a href="/approvals/${encodeURIComponent(r.id)}">${time(r.createdAt)}</a></td><td>${status(r.status)}</td><td>${h(r.requester.subject)}${r.requester.agent ? ' (agent)' : ''}</td><td>${h(r.connection)}</td><td><code>${h((r.statement?.text ?? `access: ${r.grantName ?? ''}`).slice(0, 120))}</code></td></tr>`,
            )
            .join('')}</table>`
        : '<span class="note">Nothing here.</span>'
    }</div>`,
    viewer,
    csrf,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(
    title,
    `<h1>${h(title)}</h1><div class="card">${h(message)}</div><p><a href="/approvals">All requests</a></p>`,
  );
}
