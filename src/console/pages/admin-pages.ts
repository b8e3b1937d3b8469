// Connections, tokens and the policy playground. Connection pages show where a connection goes
// (origin only, never credentials or URL userinfo) and which policies grant it to whom.

import type { ServiceTokenRecord } from '../../core/records.js';
import type { PolicyTrace } from '../../policy/policy-trace.js';
import { formatTime, html, type Html } from '../html.js';
import { layout, type PageViewer } from './layout.js';
import { decisionBadge } from './session-pages.js';

export interface ConnectionView {
  readonly name: string;
  readonly protocol: string;
  readonly description?: string;
  /** Where it goes: host:port/database, or the upstream origin. */
  readonly target: string;
  readonly policies: readonly { id: string; who: string; rules: number }[];
  /** For a non-admin: may I use it? */
  readonly mine?: { allowed: boolean; why: string };
}

export function connectionsPage(o: { viewer: PageViewer; connections: readonly ConnectionView[] }): string {
  return layout({
    title: 'Connections',
    section: 'connections',
    viewer: o.viewer,
    body: html`<h1>Connections</h1>
      <div class="card">
        <table class="list" id="connections">
          <thead>
            <tr>
              <th>Name</th>
              <th>Protocol</th>
              <th>Goes to</th>
              <th>Who may use it (policies)</th>
              ${o.viewer.admin ? '' : html`<th>You</th>`}
            </tr>
          </thead>
          <tbody>
            ${o.connections.map(
              (c) =>
                html`<tr>
                  <td>
                    <strong>${c.name}</strong
                    >${c.description ? html`<div class="note">${c.description}</div>` : ''}
                  </td>
                  <td>${c.protocol}</td>
                  <td><code>${c.target}</code></td>
                  <td>
                    ${
                      c.policies.length
                        ? html`<ul class="plain">
                            ${c.policies.map((p) => html`<li><code>${p.id}</code>: ${p.who} <span class="note">(${p.rules} rules)</span></li>`)}
                          </ul>`
                        : html`<span class="note">no policy grants it: nobody may use it</span>`
                    }
                  </td>
                  ${c.mine ? html`<td>${c.mine.allowed ? html`<span class="good">yes</span>` : html`<span class="note">no — ${c.mine.why}</span>`}</td>` : ''}
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`,
  });
}

function tokenStatus(r: ServiceTokenRecord, now: Date): string {
  if (r.revokedAt) return 'revoked';
  return r.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

export interface IssuedView {
  readonly token: string;
  readonly record: ServiceTokenRecord;
  readonly aws?: { accessKeyId: string; secretAccessKey: string };
}

export function tokensPage(o: {
  viewer: PageViewer;
  tokens: readonly ServiceTokenRecord[];
  issued?: IssuedView;
  error?: string;
  flash?: string;
  maxTtl: string;
}): string {
  const now = new Date();
  const issued = o.issued
    ? html`<div class="card issued" id="issued">
        <h2>New token for ${o.issued.record.subject}</h2>
        <p class="warn">Copy it now: it is shown only this once. Gatehouse keeps only its id.</p>
        <label
          >Token<br /><input type="text" readonly class="secret" id="new-token" value="${o.issued.token}"
        /></label>
        ${
          o.issued.aws
            ? html`<label
                  >AWS access key id<br /><input
                    type="text"
                    readonly
                    class="secret"
                    value="${o.issued.aws.accessKeyId}"
                /></label>
                <label
                  >AWS secret access key<br /><input
                    type="text"
                    readonly
                    class="secret"
                    id="new-aws-secret"
                    value="${o.issued.aws.secretAccessKey}"
                /></label>`
            : ''
        }
        <p class="note">
          id <code>${o.issued.record.id}</code> · expires ${formatTime(o.issued.record.expiresAt)}
        </p>
      </div>`
    : '';
  return layout({
    title: 'Tokens',
    section: 'tokens',
    viewer: o.viewer,
    body: html`<h1>Service tokens and AWS key pairs</h1>
      ${o.flash ? html`<div class="card flash" role="status">${o.flash}</div>` : ''}
      ${o.error ? html`<p class="warn" role="alert">${o.error}</p>` : ''} ${issued}
      <div class="card">
        <h2>Issue a token</h2>
        <form method="post" action="/tokens" id="issue">
          <input type="hidden" name="csrf" value="${o.viewer.csrf}" />
          <div class="grid">
            <label
              >Subject<br /><input
                type="text"
                name="subject"
                required
                maxlength="200"
                placeholder="claude-prod"
            /></label>
            <label
              >Groups (comma-separated)<br /><input
                type="text"
                name="groups"
                maxlength="2000"
                placeholder="ai-agents"
            /></label>
            <label
              >Lifetime<br /><input
                type="text"
                name="ttl"
                value="8h"
                required
                pattern="\\d+(m|h|d)"
                title="e.g. 30m, 8h, 7d"
              />
              <span class="note">at most ${o.maxTtl}</span></label
            >
            <label>Description<br /><input type="text" name="description" maxlength="500" /></label>
            <label
              >Acts for<br /><input
                type="email"
                name="person"
                maxlength="400"
                placeholder="owner@example.com"
              />
              <span class="note">its owner never approves its requests</span></label
            >
          </div>
          <p>
            <label class="check"><input type="checkbox" name="agent" value="1" checked /> an AI agent</label>
            <label class="check"
              ><input type="checkbox" name="aws" value="1" /> also an AWS access key pair (SigV4
              clients)</label
            >
          </p>
          <p><button type="submit" class="primary">Issue</button></p>
        </form>
      </div>
      <div class="card">
        <h2>Issued tokens</h2>
        <table class="list" id="tokens">
          <thead>
            <tr>
              <th>Subject</th>
              <th>Groups</th>
              <th>Agent</th>
              <th>Expires</th>
              <th>Status</th>
              <th>Description</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${o.tokens.map((t) => {
              const st = tokenStatus(t, now);
              return html`<tr data-token="${t.id}">
                <td>
                  ${t.subject}
                  <div class="note"><code>${t.id}</code></div>
                </td>
                <td>${t.groups.join(', ')}</td>
                <td>${t.agent ? 'yes' : 'no'}</td>
                <td>${formatTime(t.expiresAt)}</td>
                <td>${st}</td>
                <td>${t.description ?? ''}</td>
                <td>
                  ${st === 'active' ? html`<form method="post" action="/tokens/${encodeURIComponent(t.id)}/revoke" class="inline"><input type="hidden" name="csrf" value="${o.viewer.csrf}" /><button type="submit" class="danger">Revoke</button></form>` : ''}
                </td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`,
  });
}

export interface PlaygroundForm {
  readonly connection: string;
  readonly input: string;
  readonly operation: string;
  readonly resource: string;
  readonly subject: string;
  readonly groups: string;
  readonly agent: boolean;
}

function traceBlock(t: PolicyTrace, text: string): Html {
  return html`<div class="card trace">
    <div class="stmt-head">
      ${decisionBadge(t.decision.effect)} rule
      <code>${t.decision.ruleId}</code>
      ${t.action.kind === 'sql' ? html`<span class="kind">${t.action.statementKind}</span> <span class="note">[${t.action.categories.join(', ')}]</span>` : t.action.kind === 'kubernetes' ? html`<span class="kind">${t.action.verb} ${t.action.resource || t.action.path}</span>` : t.action.kind === 'ssh' ? html`<span class="kind">ssh ${t.action.request}${t.action.commandKind ? ` (${t.action.commandKind})` : ''}</span> <span class="note">[${(t.action.commandCategories ?? []).join(', ')}]</span>` : html`<span class="kind">${t.action.method} ${t.action.path}${t.action.operation ? ` (${t.action.operation})` : ''}</span>${(t.action.implied ?? []).map((i) => html` <span class="note">+ ${i.method} ${i.path}${i.operation ? ` (${i.operation})` : ''}</span>`)}`}
    </div>
    ${t.action.kind === 'sql' ? html`<pre class="stmt">${t.action.text}</pre>` : t.action.kind === 'ssh' && t.action.command !== undefined ? html`<pre class="stmt">${t.action.command}</pre>` : ''}
    ${t.decision.effect !== 'allow' ? html`<div class="message">${t.decision.message}</div>` : ''}
    <table class="list rules">
      <thead>
        <tr>
          <th>Policy</th>
          <th></th>
          <th>Rule</th>
          <th>Effect</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        ${t.policies.map(
          (p) =>
            html`<tr class="${p.applies ? 'applies' : 'skipped'}">
                <td><code>${p.policy}</code></td>
                <td colspan="4" class="note">${p.applies ? 'applies' : 'skipped'}: ${p.reason}</td>
              </tr>
              ${p.rules.map(
                (r) =>
                  html`<tr class="${r.matched ? 'matched' : ''}">
                    <td></td>
                    <td>${r.matched ? '✔' : ''}</td>
                    <td><code>${r.rule}</code></td>
                    <td>${r.effect}</td>
                    <td>${r.reason}</td>
                  </tr>`,
              )}`,
        )}
      </tbody>
    </table>
    <details>
      <summary>As <code>gatehouse policy explain</code> prints it</summary>
      <pre>${text}</pre>
    </details>
  </div>`;
}

export function playgroundPage(o: {
  viewer: PageViewer;
  connections: readonly { name: string; protocol: string }[];
  form: PlaygroundForm;
  traces?: readonly { trace: PolicyTrace; text: string }[];
  error?: string;
}): string {
  const f = o.form;
  return layout({
    title: 'Policy playground',
    section: 'playground',
    viewer: o.viewer,
    body: html`<h1>Policy playground</h1>
      <p class="note">
        Decide a statement or request against the running policy without sending it anywhere: every policy,
        every rule, and why it matched.
      </p>
      ${o.error ? html`<p class="warn" role="alert">${o.error}</p>` : ''}
      <form method="post" action="/playground" class="card" id="playground">
        <input type="hidden" name="csrf" value="${o.viewer.csrf}" />
        <div class="grid">
          <label
            >Connection<br /><select name="connection">
              ${o.connections.map((c) => html`<option value="${c.name}" ${c.name === f.connection ? html` selected` : ''}>${c.name} (${c.protocol})</option>`)}
            </select></label
          >
          ${
            o.viewer.admin
              ? html`<label
                    >Principal<br /><input type="text" name="subject" value="${f.subject}" required
                  /></label>
                  <label
                    >Groups<br /><input type="text" name="groups" value="${f.groups}" placeholder="ai-agents"
                  /></label>
                  <label class="check"
                    ><br /><input type="checkbox" name="agent" value="1" ${f.agent ? html` checked` : ''} />
                    an AI agent</label
                  >`
              : html`<p class="note">Decided as you (${o.viewer.label}).</p>`
          }
        </div>
        <label
          >SQL statement(s), or for an HTTP connection a request line such as <code>DELETE /bucket/key</code
          ><br />
          <textarea name="input" rows="5" maxlength="100000" required>${f.input}</textarea>
        </label>
        <div class="grid">
          <label
            >AWS operation (HTTP, optional)<br /><input
              type="text"
              name="operation"
              value="${f.operation}"
              placeholder="s3:DeleteObject"
          /></label>
          <label
            >Resource (HTTP, optional)<br /><input
              type="text"
              name="resource"
              value="${f.resource}"
              placeholder="bucket/key"
          /></label>
        </div>
        <p><button type="submit" class="primary">Explain</button></p>
      </form>
      ${
        o.traces
          ? html`<h2>Decision trace</h2>
              <div id="traces">${o.traces.map((t) => traceBlock(t.trace, t.text))}</div>`
          : ''
      }`,
  });
}
