// Renders a session's events as a human timeline (`gatehouse sessions replay`): offsets from the
// session start, each statement under the prompt that led to it, decision and rule, the result and
// its sample as a small table, approval events. Pure. Everything printed comes from clients, so
// control characters are made visible: a record must not drive the operator's terminal.

import type { ResultSample } from '../core/records.js';
import { terminalText } from '../core/visible-text.js';
import { parseAsciicast } from '../wire/asciicast/asciicast-writer.js';
import type { StoredEvent } from '../store/event-queries.js';
import { CopyRowsReader } from './copy-rows.js';
import { EVENT_TYPES } from './event-data.js';

export interface TimelineOptions {
  /** Samples kept in the blob store, by key (the CLI fetches them). */
  readonly samples?: ReadonlyMap<string, ResultSample>;
  /** Terminal recordings (asciicast v2 text) kept in the blob store, by key. */
  readonly terminals?: ReadonlyMap<string, string>;
  /** Terminal output lines shown per exec session (default 20). */
  readonly maxTerminalLines?: number;
  /** Sample rows shown per statement (default 10). */
  readonly maxRows?: number;
  /** Characters per cell (default 40). */
  readonly maxCell?: number;
  /** Characters of a COPY's rows shown (default 4096). */
  readonly maxCopyChars?: number;
}

/** The result code engines record for a statement of a request that was never executed. */
const NOT_EXECUTED = 'not-executed';
/** The result code of a statement in flight upstream when its session ended (it may have run). */
const OUTCOME_UNKNOWN = 'outcome-unknown';

/**
 * C0/C1 controls, DEL and line separators become visible escapes (newlines kept when asked), and
 * characters that reorder or hide text (bidi overrides, zero-width, tags) are shown as `⟨U+XXXX⟩`
 * (src/core/visible-text.ts), as every other surface that shows client text does.
 */
export function safe(s: string, keepNewlines = false): string {
  return terminalText(s, { keepNewlines, tab: '  ', keepBlanks: true });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function indent(text: string, prefix: string): string {
  return safe(text, true)
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

/** A small aligned table of a result sample. */
export function sampleTable(sample: ResultSample, maxRows = 10, maxCell = 40): string {
  const cell = (v: string | null) => {
    if (v === null) return 'NULL';
    const s = safe(v);
    return s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s;
  };
  const header = sample.columns.map((c) => cell(c));
  const rows = sample.rows.slice(0, maxRows).map((r) => header.map((_, i) => cell(r[i] ?? null)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)];
  const more = sample.rows.length - rows.length;
  if (more > 0) out.push(`… ${more} more row(s) in the sample`);
  if (sample.truncated) out.push('… (sample cut at the recording cap)');
  return out.join('\n');
}

function asSample(v: unknown): ResultSample | undefined {
  const o = obj(v);
  if (!o || !Array.isArray(o.columns) || !Array.isArray(o.rows)) return undefined;
  return o as unknown as ResultSample;
}

/**
 * Renders events incrementally (replay --follow feeds it page by page). Results that arrive in the
 * same page as their statement are shown under it; later ones get their own line.
 */
export class Timeline {
  readonly #opts: TimelineOptions;
  #start: number | undefined;
  #prompt: string | null | undefined;
  readonly #prompts = new Map<string, Record<string, unknown>>();
  readonly #statementSeq = new Map<string, number>();
  /** The rows of COPYs whose end is not rendered yet, by statement id. */
  readonly #copies = new Map<string, CopyRowsReader>();

  constructor(opts: TimelineOptions = {}) {
    this.#opts = opts;
  }

  #offset(at: Date): string {
    this.#start ??= at.getTime();
    const s = (at.getTime() - this.#start) / 1000;
    return `+${s.toFixed(3)}s`.padStart(10);
  }

  render(events: readonly StoredEvent[]): string {
    const results = new Map<string, StoredEvent>();
    const statements = new Set<string>();
    for (const e of events) if (e.type === EVENT_TYPES.statement && e.statement) statements.add(e.statement);
    for (const e of events)
      if (e.type === EVENT_TYPES.result && e.statement && statements.has(e.statement))
        results.set(e.statement, e);
    const out: string[] = [];
    for (const e of events) {
      if (e.type === EVENT_TYPES.result && e.statement && results.get(e.statement) === e) continue;
      out.push(this.#event(e, results));
    }
    return out.filter((s) => s !== '').join('\n') + (out.length > 0 ? '\n' : '');
  }

  /**
   * The header of a run of statements under one prompt, as their lineage names it: its source is the
   * statements' own, and the text is that of a prompt event from the same source (a comment that
   * names the prompt of earlier statements does not show their prompt's text as its own).
   */
  #promptHeader(promptId: string | null, source: string | undefined, contextPromptId?: string): string {
    if (promptId === null) return '── (no prompt) ──';
    const p = this.#prompts.get(`${source ?? ''}\u0000${promptId}`);
    const text = p ? str(p.prompt) : undefined;
    const claimed = source === 'comment' || source === 'application-name' ? ', declared by the client' : '';
    const overrode =
      contextPromptId !== undefined ? `; the context API's prompt was ${safe(contextPromptId)}` : '';
    const first = `── prompt ${safe(promptId)}${source ? ` (${safe(source)}${claimed}${overrode})` : ''}`;
    const lines = [first];
    if (text !== undefined) lines.push(indent(text, '   │ '));
    const ctx =
      contextPromptId !== undefined ? this.#prompts.get(`context-api\u0000${contextPromptId}`) : undefined;
    const ctxText = ctx ? str(ctx.prompt) : undefined;
    if (ctxText !== undefined) lines.push(indent(`the context API's prompt: ${ctxText}`, '   │ '));
    return lines.join('\n');
  }

  #event(e: StoredEvent, results: ReadonlyMap<string, StoredEvent>): string {
    const d = e.data;
    const off = this.#offset(e.at);
    switch (e.type) {
      case EVENT_TYPES.sessionStart: {
        const client = obj(d.client) ?? {};
        const parts = [
          `${off}  session started: ${safe(str(d.subject) ?? '?')}${d.agent === true ? ' (agent)' : ''}`,
          `on ${safe(str(d.connection) ?? '?')} (${safe(str(d.protocol) ?? '?')})`,
          `from ${safe(str(client.address) ?? '?')}`,
        ];
        if (str(client.application)) parts.push(`application=${safe(str(client.application) as string)}`);
        return parts.join(' ');
      }
      case EVENT_TYPES.prompt: {
        const id = str(d.promptId);
        if (id !== undefined) this.#prompts.set(`${str(d.source) ?? ''}\u0000${id}`, d);
        return '';
      }
      case EVENT_TYPES.statement:
        return this.#statement(e, results.get(e.statement ?? ''));
      case EVENT_TYPES.result: {
        const seq = e.statement ? this.#statementSeq.get(e.statement) : undefined;
        return `${off}    result of ${seq !== undefined ? `#${seq}` : safe(e.statement ?? '?')}: ${this.#result(e, '               ')}`;
      }
      case EVENT_TYPES.sessionEnd: {
        // COPYs whose end never came (the session ended in the middle of their rows).
        const open = [...this.#copies.keys()].map((key) => this.#copyRows(off, key, undefined));
        return [...open, `${off}  session ended (${safe(str(d.reason) ?? '?')})`].join('\n');
      }
      case EVENT_TYPES.copyData: {
        // The rows of a COPY FROM STDIN, part by part: shown once, at its end.
        const key = e.statement ?? '';
        let reader = this.#copies.get(key);
        if (!reader) this.#copies.set(key, (reader = new CopyRowsReader(this.#opts.maxCopyChars)));
        reader.add(d);
        return '';
      }
      case EVENT_TYPES.copyEnd:
        return this.#copyRows(off, e.statement ?? '', d);
      default: {
        // approval.* and any other event: its type and a compact view of its data.
        const fields = Object.entries(d)
          .filter(([, v]) => v !== undefined && (typeof v !== 'object' || v === null))
          .map(([k, v]) => `${safe(k)}=${safe(String(v))}`)
          .slice(0, 8)
          .join(' ');
        const seq = e.statement ? this.#statementSeq.get(e.statement) : undefined;
        const about = seq !== undefined ? ` (#${seq})` : '';
        return `${off}    ${safe(e.type)}${about}${fields ? `  ${fields}` : ''}`;
      }
    }
  }

  /** The rows a COPY sent, at its end (`end`: its copy.end event's data, if it has one). */
  #copyRows(off: string, key: string, end: Record<string, unknown> | undefined): string {
    const reader = this.#copies.get(key) ?? new CopyRowsReader(this.#opts.maxCopyChars);
    this.#copies.delete(key);
    const { head, shown } = reader.summary(end);
    const seq = this.#statementSeq.get(key);
    const pad = '               ';
    return `${off}    rows of ${seq !== undefined ? `#${seq}` : safe(key || '?')}: ${safe(head)}\n${indent(shown, `${pad}│ `)}`;
  }

  #statement(e: StoredEvent, result: StoredEvent | undefined): string {
    const d = e.data;
    const lineage = obj(d.lineage);
    const promptId = lineage ? (str(lineage.promptId) ?? null) : null;
    const source = lineage ? str(lineage.source) : undefined;
    const contextPromptId = lineage ? str(lineage.contextPromptId) : undefined;
    const key = promptId === null ? null : `${source ?? ''}\u0000${promptId}\u0000${contextPromptId ?? ''}`;
    const lines: string[] = [];
    if (key !== this.#prompt && !(key === null && this.#prompt === undefined)) {
      lines.push(this.#promptHeader(promptId, source, contextPromptId));
    }
    this.#prompt = key;
    const seq = typeof d.seq === 'number' ? d.seq : undefined;
    if (e.statement && seq !== undefined) this.#statementSeq.set(e.statement, seq);
    const cats = Array.isArray(d.categories) ? d.categories.map((c) => safe(String(c))).join(',') : '';
    const head = [
      `${this.#offset(e.at)}  #${seq ?? '?'}`,
      safe(str(d.effect) ?? '?'),
      `rule=${safe(str(d.ruleId) ?? '?')}`,
      safe(str(d.kind) ?? '?'),
      `[${cats}]`,
    ];
    if (lineage && str(lineage.toolUseId)) head.push(`tool_use=${safe(str(lineage.toolUseId) as string)}`);
    lines.push(head.join('  '));
    const pad = '             ';
    if (str(d.message)) lines.push(indent(`message: ${str(d.message) as string}`, pad));
    lines.push(indent(str(d.text) ?? '', pad));
    if (Array.isArray(d.params) && d.params.length > 0)
      lines.push(indent(`params: ${JSON.stringify(d.params)}`, pad));
    // A request body read whole for review: what its approval was bound to.
    const body = obj(d.body);
    if (body && str(body.sha256) !== undefined)
      lines.push(indent(`body: ${String(body.bytes)} bytes, sha256 ${str(body.sha256) as string}`, pad));
    if (result) lines.push(`${pad}→ ${this.#result(result, pad + '  ')}`);
    return lines.join('\n');
  }

  #result(e: StoredEvent, pad: string): string {
    const d = e.data;
    const err0 = obj(d.error);
    // A statement that never ran (another statement of the same request was refused, or an error
    // before it ended the request) is not to blame: say it did not run, not that it failed.
    if (err0 && str(err0.code) === NOT_EXECUTED)
      return 'not run: another statement of the same request was refused or failed';
    // Neither "not run" nor an error of the statement's own: nobody knows whether it ran.
    if (err0 && str(err0.code) === OUTCOME_UNKNOWN)
      return (
        'outcome unknown: the session ended while it ran upstream (cancel sent; the server may have run it)' +
        (typeof d.rows === 'number' ? `, ${d.rows} row(s) sent before` : '')
      );
    const parts: string[] = [];
    if (typeof d.rows === 'number') parts.push(`${d.rows} row(s)`);
    if (typeof d.durationMs === 'number') parts.push(`${d.durationMs.toFixed(1)} ms`);
    const err = obj(d.error);
    if (err) parts.push(`error ${safe(str(err.code) ?? '?')}: ${safe(str(err.message) ?? '')}`);
    const masked = obj(d.masked);
    if (masked && Object.keys(masked).length > 0) {
      parts.push(
        `masked ${Object.entries(masked)
          .map(([k, v]) => `${safe(k)}:${String(v)}`)
          .join(',')}`,
      );
    }
    let out = parts.join(', ') || 'done';
    let sample = asSample(d.sample);
    const ref = obj(d.sampleRef);
    if (!sample && ref) {
      const key = str(ref.key);
      sample = key ? this.#opts.samples?.get(key) : undefined;
      if (!sample)
        out += key
          ? `  (sample in blob ${safe(key)}, not available)`
          : '  (sample lost: the blob store was unavailable)';
    }
    if (sample && sample.columns.length > 0) {
      out += `\n${indent(sampleTable(sample, this.#opts.maxRows, this.#opts.maxCell), pad)}`;
    }
    const term = obj(d.terminalRef);
    if (term) out += this.#terminal(term, pad);
    return out;
  }

  /** The output of a terminal recording, as text (escape sequences made visible), capped in lines. */
  #terminal(ref: Record<string, unknown>, pad: string): string {
    const key = str(ref.key);
    const cast = key ? this.#opts.terminals?.get(key) : undefined;
    const events = typeof ref.events === 'number' ? ref.events : 0;
    const head = `\n${pad}terminal recording: ${events} event(s)${ref.truncated === true ? ', cut at the cap' : ''}`;
    if (!cast)
      return key
        ? `${head} (blob ${safe(key)} not available)`
        : `${head} (lost: the blob store was unavailable)`;
    let output = '';
    try {
      for (const [, code, data] of parseAsciicast(cast).events) if (code === 'o') output += data;
    } catch {
      return `${head} (not a readable asciicast)`;
    }
    const max = this.#opts.maxTerminalLines ?? 20;
    const lines = output.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
    const shown = lines.slice(0, max).map((l) => `${pad}│ ${safe(l)}`);
    if (lines.length > max)
      shown.push(`${pad}│ … ${lines.length - max} more line(s) (sessions replay --play shows all)`);
    return `${head}, output:\n${shown.join('\n')}`;
  }
}
