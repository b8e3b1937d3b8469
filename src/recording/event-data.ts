// What each built-in event of a session record holds (docs/recording.md §Event types), built from
// the core records the gate writes. Pure. It must carry only what the record already holds: masked
// results, redacted text, never an upstream credential.

import type { SessionRecord, StatementLineage, StatementRecord, StatementResult } from '../core/records.js';
import { canonicalMember, jsonString } from './canonical-json.js';

export const EVENT_TYPES = {
  sessionStart: 'session.start',
  statement: 'statement',
  result: 'result',
  sessionEnd: 'session.end',
  prompt: 'prompt',
  siemDropped: 'siem.dropped',
  /** A refusal of something that is not a decided action (GateSession.refused). */
  refusal: 'refusal',
  /** Rows of a COPY FROM STDIN, recorded before they were forwarded (a part of them). */
  copyData: 'copy.data',
  /** The end of a COPY's rows: their size, SHA-256 and part count, and how the client ended them. */
  copyEnd: 'copy.end',
} as const;

type Data = Record<string, unknown>;

/** Keys in application_name that declare lineage (`prompt_id=…`, sqlcommenter-style quoting allowed). */
const DECLARED = /\b(prompt_id|tool_use_id|traceparent|task_id)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^\s,;'"]+))/g;

/** Key/value pairs a client declared in application_name (the "client-declared context"). */
export function declaredContext(application: string | undefined): Record<string, string> | undefined {
  if (!application) return undefined;
  const out: Record<string, string> = {};
  for (const m of application.matchAll(DECLARED)) {
    const v = m[2] ?? m[3] ?? m[4] ?? '';
    if (v) out[m[1] as string] = v.slice(0, 256);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function sessionStartData(r: SessionRecord): Data {
  const context = declaredContext(r.application);
  return {
    subject: r.subject,
    issuer: r.issuer,
    groups: r.groups,
    tokenKind: r.tokenKind,
    agent: r.agent,
    connection: r.connection,
    protocol: r.protocol,
    client: {
      address: r.clientAddress,
      ...(r.clientUser !== undefined ? { user: r.clientUser } : {}),
      ...(r.application !== undefined ? { application: r.application } : {}),
    },
    ...(context ? { context } : {}),
  };
}

function lineageData(l: StatementLineage): Data {
  return {
    source: l.source,
    ...(l.promptId !== undefined ? { promptId: l.promptId } : {}),
    ...(l.toolUseId !== undefined ? { toolUseId: l.toolUseId } : {}),
    ...(l.traceparent !== undefined ? { traceparent: l.traceparent } : {}),
    ...(l.agentSessionId !== undefined ? { agentSessionId: l.agentSessionId } : {}),
    ...(l.contextPromptId !== undefined ? { contextPromptId: l.contextPromptId } : {}),
  };
}

export function statementData(r: StatementRecord): Data {
  return {
    ...(r.body !== undefined ? { body: { sha256: r.body.sha256, bytes: r.body.bytes } } : {}),
    seq: r.seq,
    via: r.via,
    text: r.text,
    kind: r.kind,
    categories: r.categories,
    effect: r.effect,
    ruleId: r.ruleId,
    ...(r.message !== undefined ? { message: r.message } : {}),
    ...(r.params !== undefined ? { params: r.params } : {}),
    ...(r.lineage ? { lineage: lineageData(r.lineage) } : {}),
  };
}

export function resultData(r: StatementResult): Data {
  return {
    durationMs: r.durationMs,
    ...(r.rows !== undefined ? { rows: r.rows } : {}),
    ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
    ...(r.masked && Object.keys(r.masked).length > 0 ? { masked: r.masked } : {}),
    ...(r.sample
      ? { sample: { columns: r.sample.columns, rows: r.sample.rows, truncated: r.sample.truncated } }
      : {}),
    ...(r.sampleRef ? { sampleRef: { ...r.sampleRef } } : {}),
    ...(r.terminalRef ? { terminalRef: { ...r.terminalRef } } : {}),
  };
}

// The canonical JSON texts of statementData(r) and resultData(r), written directly: two events per
// statement on the record's hot path, where building the object (spreads change its shape with each
// optional member) and sorting its keys cost more than the text. Members in code-unit key order;
// each value through canonicalMember, so a value with no JSON form is left out as canonicalJson
// leaves it out. event-data.test.ts checks both equal canonicalJson of the object, over many records.

/** `out` with `"key":value` appended (after a comma unless it is the first), or as it was when left out. */
function member(out: string, key: string, value: unknown, depth = 1): string {
  const v = typeof value === 'string' ? jsonString(value) : canonicalMember(value, depth);
  return withText(out, key, v);
}

/** `out` with `"key":text` appended, `text` being canonical JSON already (undefined: left out). */
function withText(out: string, key: string, text: string | undefined): string {
  if (text === undefined) return out;
  return out.length > 1 ? `${out},"${key}":${text}` : `${out}"${key}":${text}`;
}

/** canonicalJson(statementData(r)), without building the object. */
export function statementDataText(r: StatementRecord): string {
  let o = '{';
  if (r.body !== undefined) o = member(o, 'body', { bytes: r.body.bytes, sha256: r.body.sha256 });
  o = member(o, 'categories', r.categories);
  o = member(o, 'effect', r.effect);
  o = member(o, 'kind', r.kind);
  if (r.lineage) o = member(o, 'lineage', lineageData(r.lineage));
  o = member(o, 'message', r.message);
  o = member(o, 'params', r.params);
  o = member(o, 'ruleId', r.ruleId);
  o = member(o, 'seq', r.seq);
  o = member(o, 'text', r.text);
  o = member(o, 'via', r.via);
  return `${o}}`;
}

/** canonicalJson(resultData(r)), without building the object. */
export function resultDataText(r: StatementResult): string {
  let o = member('{', 'durationMs', r.durationMs);
  if (r.error) o = member(o, 'error', { code: r.error.code, message: r.error.message });
  if (r.masked && Object.keys(r.masked).length > 0) o = member(o, 'masked', r.masked);
  o = member(o, 'rows', r.rows);
  if (r.sample) {
    // Its members written in key order too (every result of a sampled session has one): an object
    // given to canonicalMember would have its keys listed and sorted each time.
    let sample = member('{', 'columns', r.sample.columns, 2);
    sample = member(sample, 'rows', r.sample.rows, 2);
    sample = member(sample, 'truncated', r.sample.truncated, 2);
    o = withText(o, 'sample', `${sample}}`);
  }
  if (r.sampleRef) o = member(o, 'sampleRef', { ...r.sampleRef });
  if (r.terminalRef) o = member(o, 'terminalRef', { ...r.terminalRef });
  return `${o}}`;
}

export function sessionEndData(reason: string): Data {
  return { reason };
}
