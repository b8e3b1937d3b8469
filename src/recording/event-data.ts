// What each built-in event of a session record holds (docs/recording.md §Event types), built from
// the core records the gate writes. Pure. It must carry only what the record already holds: masked
// results, redacted text, never an upstream credential.

import type { SessionRecord, StatementLineage, StatementRecord, StatementResult } from '../core/records.js';

export const EVENT_TYPES = {
  sessionStart: 'session.start',
  statement: 'statement',
  result: 'result',
  sessionEnd: 'session.end',
  prompt: 'prompt',
  siemDropped: 'siem.dropped',
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
  };
}

export function statementData(r: StatementRecord): Data {
  return {
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

export function sessionEndData(reason: string): Data {
  return { reason };
}
