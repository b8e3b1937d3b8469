// `gatehouse policy test --ssh`: decides shell command lines, one per line, as `exec` requests on an
// ssh connection — classified by the shell classifier and built into the action exactly as the SSH
// engine builds it (engines/ssh/exec-action.ts). Presentation and parsing only.

import type { Decision } from '../core/decision.js';
import type { Identity } from '../core/identity.js';
import type { PolicyDecider } from '../core/ports.js';
import type { ShellClassification } from '../core/shell-command.js';
import { commandAction, withOutputShapes } from '../engines/ssh/exec-action.js';
import { outputReshapers } from '../shell/output-shapes.js';
import { formatDecision } from '../policy/format-trace.js';

export interface SshTestResult {
  readonly command: string;
  readonly kind: string;
  readonly categories: readonly string[];
  readonly unknownReasons: readonly string[];
  readonly decision: Decision;
}

export function decideSshLines(
  decider: PolicyDecider,
  identity: Identity,
  connection: string,
  text: string,
  classify: (line: string) => ShellClassification,
): SshTestResult[] {
  const out: SshTestResult[] = [];
  for (const raw of text.split('\n')) {
    const command = raw.trim();
    if (command === '' || command.startsWith('#')) continue;
    let cls: ShellClassification | undefined;
    const built = commandAction(connection, command, (line) => (cls = classify(line)));
    // As the engine decides it: a masked principal's line whose output masking cannot see through.
    const action = withOutputShapes(built, cls === undefined ? [] : outputReshapers(cls), (a) =>
      decider.decide(identity, a),
    );
    out.push({
      command,
      kind: action.commandKind ?? 'unknown',
      categories: action.commandCategories ?? ['unknown'],
      unknownReasons: cls?.unknownReasons ?? [],
      decision: decider.decide(identity, action),
    });
  }
  return out;
}

export function formatSshResults(
  results: readonly SshTestResult[],
  subject: string,
  connection: string,
): string {
  const lines: string[] = [];
  results.forEach((r, i) => {
    lines.push(`[${i + 1}] ${r.command}`);
    lines.push(`    as:         ${subject} on ${connection} (ssh exec)`);
    lines.push(`    kind:       ${r.kind}`);
    lines.push(`    categories: ${r.categories.join(', ') || '-'}`);
    if (r.unknownReasons.length > 0) lines.push(`    unjudged:   ${r.unknownReasons.join('; ')}`);
    lines.push(`    decision:   ${formatDecision(r.decision)}`);
    if (r.decision.effect !== 'allow') lines.push(`    message:    ${r.decision.message}`);
    lines.push('');
  });
  const count = (e: string) => results.filter((r) => r.decision.effect === e).length;
  lines.push(
    `${results.length} command(s): ${count('allow')} allow, ${count('review')} review, ${count('deny')} deny`,
  );
  return `${lines.join('\n')}\n`;
}
