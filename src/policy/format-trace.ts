// Renders a PolicyTrace as plain text for `gatehouse policy explain`. Presentation only: it reads the
// trace and never evaluates rules itself.

import type { Decision } from '../core/decision.js';
import type { PolicyTrace } from './policy-trace.js';

export function formatDecision(d: Decision): string {
  switch (d.effect) {
    case 'allow': {
      const obligations = [
        d.obligations.mask === undefined
          ? undefined
          : `mask${typeof d.obligations.mask === 'object' ? `=${d.obligations.mask.profile}` : ''}`,
        d.obligations.rowCap === undefined ? undefined : `rowCap=${d.obligations.rowCap}`,
      ].filter((x) => x !== undefined);
      return `allow (rule ${d.ruleId})${obligations.length > 0 ? ` with ${obligations.join(', ')}` : ''}`;
    }
    case 'deny':
      return `deny (rule ${d.ruleId})`;
    case 'review':
      return `review (rule ${d.ruleId}, ${d.mode}${d.approvalRule === undefined ? '' : `, approval ${d.approvalRule}`})`;
  }
}

export function formatTrace(t: PolicyTrace): string {
  const lines: string[] = [];
  const p = t.principal;
  lines.push(`connection: ${t.connection}`);
  lines.push(
    `principal:  ${p.subject} (${p.tokenKind}${p.agent ? ', agent' : ''}) groups: ${p.groups.join(', ') || '-'}`,
  );
  if (t.action.kind === 'sql') {
    const a = t.action;
    lines.push(`statement:  ${a.text}`);
    lines.push(`  kind: ${a.statementKind}   categories: ${a.categories.join(', ') || '-'}`);
    lines.push(`  tables: ${a.tables.join(', ') || '-'}   functions: ${a.functions.join(', ') || '-'}`);
    if (a.parseError !== undefined) lines.push(`  parse error: ${a.parseError}`);
  } else if (t.action.kind === 'kubernetes') {
    const a = t.action;
    lines.push(`request:    ${a.verb} ${a.resource === '' ? a.path : a.resource}`);
    lines.push(`  namespace: ${a.namespace || '-'}   name: ${a.name || '-'}   path: ${a.path}`);
    if (a.command !== undefined)
      lines.push(`  command: ${a.command.join(' ')}   categories: ${a.commandCategories?.join(', ') ?? '-'}`);
  } else if (t.action.kind === 'ssh') {
    const a = t.action;
    lines.push(
      `ssh:        ${a.request}${a.subsystem !== undefined ? ` ${a.subsystem}` : ''}${a.destination !== undefined ? ` to ${a.destination}` : ''}`,
    );
    if (a.command !== undefined)
      lines.push(
        `  command: ${a.command}   kind: ${a.commandKind ?? '-'}   categories: ${a.commandCategories?.join(', ') ?? '-'}`,
      );
  } else {
    const a = t.action;
    lines.push(`request:    ${a.method} ${a.path}${a.operation === undefined ? '' : ` (${a.operation})`}`);
  }
  lines.push('');
  lines.push('policies:');
  if (t.policies.length === 0) lines.push('  (none configured)');
  for (const e of t.policies) {
    lines.push(`  ${e.applies ? '[applies]' : '[skipped]'} ${e.policy}: ${e.reason}`);
    const idWidth = Math.max(0, ...e.rules.map((r) => r.rule.length));
    for (const r of e.rules) {
      lines.push(
        `      ${r.matched ? '*' : ' '} ${r.effect.padEnd(6)} ${r.rule.padEnd(idWidth)}  ${r.reason}`,
      );
    }
  }
  if (t.coverage.length > 0) {
    lines.push('');
    lines.push('coverage (every category must be covered by an allow or review rule):');
    const w = Math.max(...t.coverage.map((c) => c.category.length));
    for (const c of t.coverage) {
      const parts = [
        c.allow.length > 0 ? `allow: ${c.allow.join(', ')}` : undefined,
        c.review.length > 0 ? `review: ${c.review.join(', ')}` : undefined,
      ].filter((x) => x !== undefined);
      lines.push(`  ${c.category.padEnd(w)}  ${parts.length > 0 ? parts.join('; ') : 'NOT COVERED'}`);
    }
  }
  lines.push('');
  lines.push(`default for ${t.connection}: ${t.defaultEffect.effect} (${t.defaultEffect.source})`);
  lines.push(`policy version: ${t.version}`);
  lines.push('');
  lines.push(`decision: ${formatDecision(t.decision)}`);
  if (t.decision.effect !== 'allow') lines.push(`message:  ${t.decision.message}`);
  return lines.join('\n');
}
