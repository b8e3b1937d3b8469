// `gatehouse policy test --kube`: decides kubectl-shaped requests ("delete namespace prod",
// "exec web -- rm -rf /data", or request lines "GET /api/v1/pods") against a config's policies, classified
// exactly as the Kubernetes engine classifies them. Presentation and parsing only.

import type { Identity } from '../core/identity.js';
import type { Decision } from '../core/decision.js';
import type { PolicyDecider } from '../core/ports.js';
import { classifyRequest, type CommandClassifier } from '../engines/kubernetes/classify-request.js';
import { formatDecision } from '../policy/format-trace.js';
import { kubectlRequest, KubectlArgsError, requestLine } from '../wire/kubernetes/kubectl-args.js';

export interface KubeTestResult {
  readonly input: string;
  readonly request?: string;
  readonly kind?: string;
  readonly categories?: readonly string[];
  readonly decision?: Decision;
  readonly error?: string;
}

export function decideKubeLines(
  decider: PolicyDecider,
  identity: Identity,
  connection: string,
  text: string,
  classifyCommand?: CommandClassifier,
): KubeTestResult[] {
  const out: KubeTestResult[] = [];
  for (const raw of text.split('\n')) {
    const input = raw.trim();
    if (input === '' || input.startsWith('#')) continue;
    let shape;
    try {
      shape = requestLine(input) ?? kubectlRequest(input);
    } catch (e) {
      if (!(e instanceof KubectlArgsError)) throw e;
      out.push({ input, error: e.message });
      continue;
    }
    const c = classifyRequest(connection, shape.method, shape.target, classifyCommand);
    if (!c.ok) {
      out.push({ input, request: `${shape.method} ${shape.target}`, error: c.message });
      continue;
    }
    out.push({
      input,
      request: c.action.describe.text,
      kind: c.action.describe.kind,
      categories: c.action.describe.categories,
      decision: decider.decide(identity, c.action),
    });
  }
  return out;
}

export function formatKubeResults(
  results: readonly KubeTestResult[],
  subject: string,
  connection: string,
): string {
  const lines: string[] = [];
  results.forEach((r, i) => {
    lines.push(`[${i + 1}] ${r.input}`);
    lines.push(`    as:         ${subject} on ${connection}`);
    if (r.request !== undefined) lines.push(`    request:    ${r.request}`);
    if (r.error !== undefined) {
      lines.push(`    refused:    ${r.error}`);
      lines.push('');
      return;
    }
    lines.push(`    kind:       ${r.kind ?? '-'}`);
    lines.push(`    categories: ${r.categories?.join(', ') || '-'}`);
    lines.push(`    decision:   ${formatDecision(r.decision!)}`);
    if (r.decision!.effect !== 'allow') lines.push(`    message:    ${r.decision!.message}`);
    lines.push('');
  });
  const count = (e: string) => results.filter((r) => r.decision?.effect === e).length;
  const bad = results.filter((r) => r.error !== undefined).length;
  lines.push(
    `${results.length} request(s): ${count('allow')} allow, ${count('review')} review, ${count('deny')} deny${bad > 0 ? `, ${bad} unclassifiable` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
