// The action an SSH command line is decided as: an `exec` request (or a `line` reconstructed in a
// shell), carrying the shell classifier's categories and kind. The engine, the MCP `ssh_exec` tool (by
// way of the engine) and `gatehouse policy test --ssh` all build it here, so they decide alike.

import { sshAction, type SshAction } from '../../core/action.js';
import type { Decision } from '../../core/decision.js';
import type { ShellClassification } from '../../core/shell-command.js';
import type { WriteLandings } from './host-paths.js';

export function commandAction(
  connection: string,
  command: string,
  classify: (line: string) => ShellClassification,
  options: {
    readonly request?: 'exec' | 'line';
    readonly tty?: boolean;
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): SshAction {
  const cls = classify(command);
  return sshAction({
    connection,
    request: options.request ?? 'exec',
    command,
    commandCategories: cls.categories,
    commandKind: cls.kind,
    tty: options.tty ?? false,
    ...(options.env && Object.keys(options.env).length > 0 ? { env: { ...options.env } } : {}),
  });
}

/**
 * The action with where its writes land on the host (host-paths.ts): the landing places' categories
 * added, and what the host said after its kind (`redirect > (on the host: ~/notes lands on …/.bashrc)`).
 */
export function withLandings(action: SshAction, landings: WriteLandings): SshAction {
  if (landings.categories.length === 0 && landings.notes.length === 0) return action;
  const cats = [...(action.commandCategories ?? ['unknown'])];
  for (const c of landings.categories) if (!cats.includes(c)) cats.push(c);
  const { kind: _kind, describe: _describe, ...fields } = action;
  return sshAction({
    ...fields,
    commandCategories: SEVERITY.filter((c) => cats.includes(c)),
    commandKind: `${action.commandKind ?? 'unknown'} (on the host: ${landings.notes.join('; ')})`,
  });
}

/**
 * The action as a principal whose output is masked must have it decided, when the line's output may
 * show what it reads in a form the masking detectors cannot see (`xxd .env`, `rev`, `cut -d= -f2`:
 * src/shell/output-shapes.ts, docs/security.md class 221). The policy allows the line with masking;
 * masking cannot hold for it, so it is decided again as a line that cannot be judged (`unknown`, with
 * the reasons after its kind): under the default policy, held for review. Unchanged when nothing
 * reshapes, or when the decision does not mask or does not allow.
 */
export function withOutputShapes(
  action: SshAction,
  reshapers: readonly string[],
  decide: (action: SshAction) => Decision,
): SshAction {
  if (reshapers.length === 0) return action;
  const decision = decide(action);
  if (decision.effect !== 'allow' || !decision.obligations.mask) return action;
  const cats = [...(action.commandCategories ?? ['unknown'])];
  if (!cats.includes('unknown')) cats.push('unknown');
  const { kind: _kind, describe: _describe, ...fields } = action;
  return sshAction({
    ...fields,
    commandCategories: SEVERITY.filter((c) => cats.includes(c)),
    commandKind: `${action.commandKind ?? 'unknown'} (output masking cannot see through it: ${reshapers.join('; ')})`,
  });
}

const SEVERITY = ['destructive', 'privilege', 'exfiltration', 'unknown', 'write', 'read', 'secrets'];
