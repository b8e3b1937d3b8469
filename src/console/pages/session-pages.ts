// Sessions list and session detail pages. All record text (statements, messages, prompts, sample
// cells, names) comes from clients and is escaped by `html`; nothing here builds markup by hand.

import type { ResultSample, SessionRecord, StoredStatement } from '../../core/records.js';
import { CopyRowsReader, type CopyRowsSummary } from '../../recording/copy-rows.js';
import { EVENT_TYPES } from '../../recording/event-data.js';
import type { StoredEvent } from '../../store/event-queries.js';
import { formatTime, href, html, type Html } from '../html.js';
import type { RecordVerification } from '../record-verification.js';
import type { TerminalRecording } from '../terminal-recording.js';
import { layout, type PageViewer } from './layout.js';

export interface SessionRow {
  readonly session: SessionRecord;
  readonly counts?: { total: number; denied: number; review: number };
  readonly live: boolean;
  /** Statements matching the text search, when searching. */
  readonly matches: readonly StoredStatement[];
}

export interface SessionFilterForm {
  readonly q: string;
  readonly subject: string;
  readonly who: string;
  readonly connection: string;
  readonly protocol: string;
  readonly decision: string;
  readonly since: string;
  readonly until: string;
}

function select(name: string, label: string, value: string, options: readonly [string, string][]): Html {
  return html`<label
    >${label}<br /><select name="${name}">
      ${options.map(
        ([v, l]) => html`<option value="${v}" ${v === value ? html` selected` : ''}>${l}</option>`,
      )}
    </select></label
  >`;
}

export function decisionBadge(effect: string): Html {
  return html`<span class="decision d-${effect.replace(/[^a-z]/g, '')}">${effect}</span>`;
}

export function endForm(sessionId: string, csrf: string): Html {
  return html`<form method="post" action="/sessions/${encodeURIComponent(sessionId)}/end" class="inline">
    <input type="hidden" name="csrf" value="${csrf}" /><button type="submit" class="danger">
      End session
    </button>
  </form>`;
}

export function sessionsPage(o: {
  viewer: PageViewer;
  rows: readonly SessionRow[];
  form: SessionFilterForm;
  connections: readonly string[];
  protocols: readonly string[];
  error?: string;
  flash?: string;
}): string {
  const f = o.form;
  const filters = html`<form method="get" action="/sessions" class="filters card" role="search">
    <div class="grid">
      <label class="wide"
        >Search statement text<br /><input
          type="search"
          name="q"
          value="${f.q}"
          placeholder="e.g. DROP TABLE"
      /></label>
      ${o.viewer.admin ? html`<label>Principal<br /><input type="text" name="subject" value="${f.subject}" placeholder="subject" /></label>` : ''}
      ${select('who', 'Agent or person', f.who, [
        ['', 'everyone'],
        ['agent', 'agents'],
        ['person', 'people'],
      ])}
      ${select('connection', 'Connection', f.connection, [['', 'any'], ...o.connections.map((c): [string, string] => [c, c])])}
      ${select('protocol', 'Protocol', f.protocol, [['', 'any'], ...o.protocols.map((p): [string, string] => [p, p])])}
      ${select('decision', 'Decision', f.decision, [
        ['', 'any'],
        ['deny', 'refused (deny)'],
        ['review', 'held (review)'],
        ['allow', 'allowed'],
      ])}
      <label
        >From<br /><input
          type="text"
          name="since"
          value="${f.since}"
          placeholder="1h, 7d or 2026-03-01T10:00Z"
      /></label>
      <label
        >To<br /><input type="text" name="until" value="${f.until}" placeholder="ISO time or duration ago"
      /></label>
    </div>
    <p><button type="submit" class="primary">Filter</button> <a href="/sessions">Clear</a></p>
  </form>`;
  const rows = o.rows.map((r) => {
    const s = r.session;
    const state = r.live
      ? html`<span class="live">● live</span>`
      : s.endedAt
        ? html`<span class="note">ended ${formatTime(s.endedAt)}</span>`
        : html`<span class="note">open (not on this gateway)</span>`;
    return html`<tr>
        <td><a href="/sessions/${encodeURIComponent(s.id)}">${formatTime(s.startedAt)}</a></td>
        <td>${s.subject}${s.agent ? html` <span class="badge agent">agent</span>` : ''}</td>
        <td>${s.connection} <span class="note">(${s.protocol})</span></td>
        <td>
          ${r.counts ? html`${r.counts.total}${r.counts.denied ? html` · <span class="d-deny">${r.counts.denied} refused</span>` : ''}${r.counts.review ? html` · <span class="d-review">${r.counts.review} held</span>` : ''}` : ''}
        </td>
        <td>${state}${r.live && o.viewer.admin ? endForm(s.id, o.viewer.csrf) : ''}</td>
      </tr>
      ${
        r.matches.length
          ? html`<tr class="matches">
              <td></td>
              <td colspan="4">
                ${r.matches.map((m) => html`<div>${decisionBadge(m.effect)} <code class="stmt">${m.text.slice(0, 300)}</code> <span class="note">rule ${m.ruleId}</span></div>`)}
              </td>
            </tr>`
          : ''
      }`;
  });
  return layout({
    title: 'Sessions',
    section: 'sessions',
    viewer: o.viewer,
    body: html`<h1>Sessions</h1>
      <p class="note">
        ${o.viewer.admin ? 'Every recorded session, newest first.' : 'Your own sessions, newest first.'}
      </p>
      ${o.flash ? html`<div class="card flash" role="status">${o.flash}</div>` : ''}
      ${o.error ? html`<p class="warn" role="alert">${o.error}</p>` : ''} ${filters}
      <div class="card">
        <table class="list" id="sessions">
          <thead>
            <tr>
              <th>Started</th>
              <th>Principal</th>
              <th>Connection</th>
              <th>Statements</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            ${
              rows.length
                ? rows
                : html`<tr>
                    <td colspan="5" class="note">No sessions match.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>`,
  });
}

export function sampleTable(sample: ResultSample, maxRows = 20): Html {
  const rows = sample.rows.slice(0, maxRows);
  return html`<table class="sample">
      <thead>
        <tr>
          ${sample.columns.map((c) => html`<th>${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              ${sample.columns.map((_, i) => {
                const v = r[i];
                return v === null || v === undefined
                  ? html`<td class="null">NULL</td>`
                  : html`<td>${v.length > 200 ? `${v.slice(0, 199)}…` : v}</td>`;
              })}
            </tr>`,
        )}
      </tbody>
    </table>
    ${sample.rows.length > rows.length ? html`<p class="note">${sample.rows.length - rows.length} more row(s) in the sample.</p>` : ''}${sample.truncated ? html`<p class="note">Sample cut at the recording cap.</p>` : ''}`;
}

function verificationCard(v: RecordVerification | undefined): Html {
  if (!v) return html`<p class="note">Verification unavailable.</p>`;
  if (v.kind === 'too-large')
    return html`<p class="note">
      This record is too long to verify on a page view: use <code>gatehouse recordings export</code> and
      <code>verify</code>.
    </p>`;
  const r = v.report;
  const sig = {
    signed: `valid, covers every event (through ${r.signedThrough})`,
    'partly-signed': `valid through event ${r.signedThrough}; later events are not yet signed`,
    unsigned: r.ended
      ? 'none (ended without a signing key)'
      : 'not yet: the session is open (sealed when it ends)',
    unverified: 'present, not checked',
  }[r.signature];
  return html`<table class="kv" id="verification">
    <tr>
      <th>Chain</th>
      <td>
        ${r.problem ? html`<span class="bad">CHANGED</span> at line ${r.problem.line}${r.problem.seq !== undefined ? ` (event ${r.problem.seq})` : ''}: ${r.problem.message}` : html`<span class="good">intact</span> (${r.events} events)`}
      </td>
    </tr>
    <tr>
      <th>Signature</th>
      <td>${r.signature === 'signed' && !r.problem ? html`<span class="good">${sig}</span>` : sig}</td>
    </tr>
    ${
      r.key
        ? html`<tr>
            <th>Key</th>
            <td><code>${r.key.fingerprint}</code> (the gateway's record signing key)</td>
          </tr>`
        : ''
    }
    ${
      r.blobs.verified || r.blobs.missing.length
        ? html`<tr>
            <th>Blobs</th>
            <td>
              ${r.blobs.verified}
              verified${r.blobs.missing.length ? `, ${r.blobs.missing.length} missing` : ''}
            </td>
          </tr>`
        : ''
    }
    ${r.warnings.map(
      (w) =>
        html`<tr>
          <th>Warning</th>
          <td>${w}</td>
        </tr>`,
    )}
  </table>`;
}

export interface TimelinePrompt {
  readonly promptId: string;
  readonly prompt?: string;
  readonly tool?: string;
  readonly source?: string;
}

/** The key of a prompt in sessionDetailPage's `prompts`: the source that named it, and its id. */
export function promptKey(source: string | undefined, promptId: string): string {
  return `${source ?? ''}\u0000${promptId}`;
}

export function sessionDetailPage(o: {
  viewer: PageViewer;
  session: SessionRecord;
  statements: readonly StoredStatement[];
  events: readonly StoredEvent[];
  eventsCut: boolean;
  prompts: ReadonlyMap<string, TimelinePrompt>;
  samples: ReadonlyMap<string, ResultSample>;
  live: boolean;
  verification?: RecordVerification;
  terminal?: TerminalRecording;
  flash?: string;
}): string {
  const s = o.session;
  const start = s.startedAt.getTime();
  const approvalsBy = new Map<string, StoredEvent[]>();
  // The rows a COPY FROM STDIN sent, read back from its copy.data parts and bound by its copy.end.
  const copyReaders = new Map<string, CopyRowsReader>();
  const copies = new Map<string, CopyRowsSummary>();
  for (const e of o.events) {
    if (!e.statement || (e.type !== EVENT_TYPES.copyData && e.type !== EVENT_TYPES.copyEnd)) continue;
    let reader = copyReaders.get(e.statement);
    if (!reader) copyReaders.set(e.statement, (reader = new CopyRowsReader()));
    if (e.type === EVENT_TYPES.copyData) reader.add(e.data);
    else {
      copies.set(e.statement, reader.summary(e.data));
      copyReaders.delete(e.statement);
    }
  }
  for (const [statement, reader] of copyReaders) copies.set(statement, reader.summary(undefined));
  for (const e of o.events) {
    if (!e.type.startsWith('approval.') || !e.statement) continue;
    const list = approvalsBy.get(e.statement) ?? [];
    list.push(e);
    approvalsBy.set(e.statement, list);
  }
  let lastPrompt: string | null | undefined;
  const items: Html[] = [];
  for (const st of o.statements) {
    const promptId = st.lineage?.promptId ?? null;
    const source = st.lineage?.source;
    const overrode = st.lineage?.contextPromptId;
    const key = promptId === null ? null : `${promptKey(source, promptId)}\u0000${overrode ?? ''}`;
    if (key !== lastPrompt && !(key === null && lastPrompt === undefined)) {
      // The source is the statement's own; a comment naming the prompt of earlier statements is
      // shown as the client's claim, without their prompt's text.
      const p = promptId !== null ? o.prompts.get(promptKey(source, promptId)) : undefined;
      const claimed = source === 'comment' || source === 'application-name';
      const ctxText =
        overrode !== undefined ? o.prompts.get(promptKey('context-api', overrode))?.prompt : undefined;
      items.push(
        promptId === null
          ? html`<li class="prompt none">No prompt declared for what follows.</li>`
          : html`<li class="prompt">
              <div class="label">
                Prompt
                <code>${promptId}</code
                >${source ? html` <span class="note">(${source}${claimed ? ', declared by the client' : ''})</span>` : ''}
              </div>
              ${overrode ? html`<div class="note">The context API's prompt was <code>${overrode}</code>.</div>` : ''}${ctxText !== undefined ? html`<blockquote class="prompt-text">${ctxText}</blockquote>` : ''}
              ${p?.prompt !== undefined ? html`<blockquote class="prompt-text">${p.prompt}</blockquote>` : ''}${p?.tool ? html`<div class="note">tool: ${p.tool}</div>` : ''}
            </li>`,
      );
    }
    lastPrompt = key;
    const r = st.result;
    const sample = o.samples.get(st.id);
    const approvals = approvalsBy.get(st.id) ?? [];
    // A reviewed request's body, by digest and size: the store reads it from the statement's event
    // (statement_records), also past the events this page loads.
    const body = st.body;
    const copy = copies.get(st.id);
    items.push(
      html`<li class="stmt-item" id="st-${st.seq}">
        <div class="stmt-head">
          <span class="seq">#${st.seq}</span>
          <span class="note">+${((st.at.getTime() - start) / 1000).toFixed(3)}s</span>
          ${decisionBadge(st.effect)} <span class="rule">rule <code>${st.ruleId}</code></span>
          <span class="kind">${st.kind}</span>
          ${st.categories.length ? html`<span class="note">[${st.categories.join(', ')}]</span>` : ''}
        </div>
        <pre class="stmt">${st.text}</pre>
        ${st.params?.length ? html`<div class="note">params: <code>${JSON.stringify(st.params)}</code></div>` : ''}
        ${body ? html`<div class="note">body: ${body.bytes} bytes, sha256 <code>${body.sha256}</code></div>` : ''}
        ${
          copy
            ? html`<div class="note">${copy.head}</div>
                <pre class="stmt">${copy.shown}</pre>`
            : ''
        }
        ${st.message ? html`<div class="message">${st.message}</div>` : ''}
        ${st.lineage?.toolUseId ? html`<div class="note">tool use <code>${st.lineage.toolUseId}</code></div>` : ''}
        ${
          approvals.length
            ? html`<ul class="approvals">
                ${approvals.map((e) => html`<li><span class="note">${formatTime(e.at)}</span> ${e.type}${typeof e.data.by === 'string' ? ` by ${e.data.by}` : ''}${typeof e.data.approver === 'string' ? ` by ${e.data.approver}` : ''}${typeof e.data.comment === 'string' && e.data.comment ? html` — “${e.data.comment}”` : ''}</li>`)}
              </ul>`
            : ''
        }
        ${
          r
            ? html`<div class="result">
                  ${r.rows !== undefined ? html`<span>${r.rows} row(s)</span> · ` : ''}<span
                    >${r.durationMs.toFixed(1)} ms</span
                  >${r.error ? html` · <span class="bad">error ${r.error.code}: ${r.error.message}</span>` : ''}${
                    r.masked && Object.keys(r.masked).length
                      ? html` ·
                          <span class="masked"
                            >masked
                            ${Object.entries(r.masked)
                              .map(([k, v]) => `${k}: ${v}`)
                              .join(', ')}</span
                          >`
                      : ''
                  }
                </div>
                ${
                  sample && sample.columns.length
                    ? html`<details class="sample-box">
                        <summary>Result sample (as the client saw it, masked)</summary>
                        ${sampleTable(sample)}
                      </details>`
                    : r.sampleRef
                      ? html`<p class="note">
                          Sample in blob <code>${r.sampleRef.key}</code> is unavailable.
                        </p>`
                      : ''
                }`
            : st.effect === 'allow'
              ? html`<div class="note">No result recorded yet.</div>`
              : ''
        }
      </li>`,
    );
  }
  const rows: [string, Html | string][] = [
    ['Principal', html`${s.subject}${s.agent ? html` <span class="badge agent">agent</span>` : ''}`],
    ['Groups', s.groups.join(', ') || '—'],
    ['Token', `${s.tokenKind}, issuer ${s.issuer}`],
    [
      'Client',
      html`${s.clientAddress}${s.clientUser !== undefined ? html` · user ${s.clientUser}` : ''}${s.application !== undefined ? html` · application ${s.application}` : ''}`,
    ],
    ['Connection', `${s.connection} (${s.protocol})`],
    ['Started', formatTime(s.startedAt)],
    [
      'State',
      o.live
        ? html`<span class="live">● live</span>${o.viewer.admin ? endForm(s.id, o.viewer.csrf) : ''}`
        : s.endedAt
          ? html`ended ${formatTime(s.endedAt)}${s.endReason ? ` (${s.endReason})` : ''}`
          : 'open (not on this gateway, or it stopped before ending it)',
    ],
  ];
  const terminal = o.terminal
    ? o.terminal.kind === 'cast'
      ? html`<h2>Terminal</h2>
          <div class="card">
            <div class="player" data-player>
              <div class="player-controls">
                <button type="button" data-play>Play</button>
                <button type="button" data-restart>Restart</button>
                <label
                  >Speed
                  <select data-speed>
                    <option value="1">1×</option>
                    <option value="2">2×</option>
                    <option value="4">4×</option>
                    <option value="16">16×</option>
                  </select></label
                >
                <span class="note" data-clock>0.0 s</span>
              </div>
              <pre class="screen" data-screen></pre>
            </div>
            <div hidden id="cast-data" data-cast="${o.terminal.text}"></div>
          </div>`
      : html`<h2>Terminal</h2>
          <div class="card note">${o.terminal.reason}</div>`
    : '';
  return layout({
    title: `Session ${s.id}`,
    section: 'sessions',
    viewer: o.viewer,
    ...(o.terminal?.kind === 'cast' ? { scripts: ['player.js'] } : {}),
    body: html`<p><a href="/sessions">← Sessions</a></p>
      <h1>Session <code>${s.id}</code></h1>
      ${o.flash ? html`<div class="card flash" role="status">${o.flash}</div>` : ''}
      <div class="row2">
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
        <div class="card">
          <h2 class="inline-h">Record</h2>
          ${verificationCard(o.verification)}
          <p>
            <a
              href="${href(`/sessions/${encodeURIComponent(s.id)}/export`)}"
              data-bind-download="session-${s.id.replace(/[^A-Za-z0-9-]/g, '')}.jsonl"
              >Download the record (JSON Lines)</a
            >
          </p>
        </div>
      </div>
      ${terminal}
      <h2>Timeline</h2>
      ${
        o.statements.length
          ? html`<ol class="timeline" id="timeline">
              ${items}
            </ol>`
          : html`<p class="note">No statements or requests recorded.</p>`
      }
      ${o.eventsCut ? html`<p class="note">Only the first events of this long record were read for prompts and approvals.</p>` : ''}`,
  });
}
