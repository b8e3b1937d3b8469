// The action an SSH command line is decided as: an `exec` request (or a `line` reconstructed in a
// shell), carrying the shell classifier's categories and kind. The engine, the MCP `ssh_exec` tool (by
// way of the engine) and `gatehouse policy test --ssh` all build it here, so they decide alike.

import { sshAction, type SshAction } from '../../core/action.js';
import type { ShellClassification } from '../../core/shell-command.js';

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
