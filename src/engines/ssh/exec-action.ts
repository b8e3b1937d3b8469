// The action an SSH command line is decided as: an `exec` request (or a `line` reconstructed in a
// shell), carrying the shell classifier's categories and kind. The engine, the MCP `ssh_exec` tool (by
// way of the engine) and `gatehouse policy test --ssh` all build it here, so they decide alike.

import { sshAction, type SshAction } from '../../core/action.js';
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

const SEVERITY = ['destructive', 'privilege', 'exfiltration', 'unknown', 'write', 'read', 'secrets'];
