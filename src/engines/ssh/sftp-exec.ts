// sftp spoken over an `exec` instead of the sftp subsystem (docs/ssh.md, "sftp over exec"). `sftp -s
// /usr/lib/openssh/sftp-server` asks the host to exec the server; any program that speaks sftp can
// be run so (a renamed copy, a link to it, `sh -c 'exec …'`, `exec -a`, a multi-call binary). Relayed
// as an exec's bytes, its requests would reach the host undecided. So:
//
//   - an exec that is exactly the system's sftp server (one command, from a system directory, no
//     option that changes where relative paths lead) is served as the sftp subsystem is: decided as
//     `sftp`, each request that changes something decided on its own (sftp-gate.ts);
//   - any other line that runs a program named like an sftp server is refused;
//   - whatever the line names, an exec whose input starts with an sftp INIT packet is ended before that
//     packet reaches the host: OpenSSH's sftp-server (and internal-sftp) read nothing else first, so a
//     server under any name, fed by an sftp client, is stopped there.

import type { ShellClassification } from '../../core/shell-command.js';

/** Where an sftp server run by its path is the system's own (only root can put a file there). */
const SERVER_DIRS = new Set([
  '/usr/lib/openssh',
  '/usr/libexec/openssh',
  '/usr/lib/ssh',
  '/usr/libexec',
  '/usr/lib',
  '/usr/sbin',
  '/usr/bin',
  '/bin',
  '/sbin',
]);

/** sftp-server options that change nothing a decision reads (logging, read-only, listing what it knows). */
const PLAIN_OPTIONS = new Set(['-e', '-R']);
const OPTIONS_WITH_VALUE = new Set(['-l', '-f']);

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** A program name that says it is an sftp server (`sftp-server`, `gsftp-server`, `internal-sftp`…). */
function sftpServerName(word: string): boolean {
  const b = basename(word).toLowerCase();
  return b.includes('sftp-server') || b.includes('internal-sftp') || b === 'sftp_server';
}

export type SftpExec =
  /** Not an sftp server by name (its input is still watched for an INIT). */
  | { readonly kind: 'none' }
  /** The system's sftp server, alone: served as the sftp subsystem. */
  | { readonly kind: 'serve' }
  /** Runs an sftp server in a form Gatehouse does not serve: refused, with why. */
  | { readonly kind: 'refuse'; readonly reason: string };

/** What an exec's command line is, as to sftp. */
export function sftpExec(command: string, cls: ShellClassification): SftpExec {
  const named = cls.commands.filter(
    (c) => c.argv.some((w, i) => i === 0 && sftpServerName(w)) || sftpServerName(c.name),
  );
  if (named.length === 0) {
    // A program Gatehouse does not know given an sftp server as an operand (a wrapper that runs it).
    if (cls.commands.some((c) => c.categories.includes('unknown') && c.argv.some((w) => sftpServerName(w))))
      return { kind: 'refuse', reason: 'it names an sftp server as an operand' };
    return { kind: 'none' };
  }
  const only = cls.commands.length === 1 ? cls.commands[0]! : undefined;
  if (only === undefined || named.length !== 1 || only.via.length > 0 || only.dynamic.length > 0)
    return { kind: 'refuse', reason: 'it runs an sftp server with or inside other commands' };
  const [program, ...args] = only.argv;
  if (command.trim() !== only.argv.join(' '))
    return { kind: 'refuse', reason: 'it runs an sftp server with redirections or quoting' };
  const dir = program!.includes('/') ? program!.slice(0, program!.lastIndexOf('/')) : undefined;
  if (dir === undefined || !SERVER_DIRS.has(dir) || !basename(program!).startsWith('sftp-server'))
    return {
      kind: 'refuse',
      reason:
        "it runs an sftp server that is not the system's own (give its full path under /usr/lib/openssh or /usr/libexec/openssh)",
    };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (PLAIN_OPTIONS.has(a)) continue;
    if (OPTIONS_WITH_VALUE.has(a) && i + 1 < args.length) {
      i++;
      continue;
    }
    return {
      kind: 'refuse',
      reason: `it gives the sftp server the option ${a.slice(0, 40)}, which Gatehouse does not serve`,
    };
  }
  return { kind: 'serve' };
}

/** The largest packet OpenSSH's sftp-server reads (SFTP_MAX_MSG_LENGTH). */
const MAX_SFTP_PACKET = 256 * 1024;
/** SSH_FXP_INIT. */
const FXP_INIT = 1;

/**
 * Watches the first bytes an exec's client sends: 'sftp' once they are an sftp INIT packet's header
 * (a length an sftp server takes, then type 1), 'other' as soon as they cannot be, undefined while
 * it cannot tell yet (fewer than five bytes that could still be one).
 */
export function sftpInitStart(head: Buffer): 'sftp' | 'other' | undefined {
  if (head.length === 0) return undefined;
  // A length of at most 256 KiB: its first byte is 0 and its second at most 4.
  if (head[0] !== 0) return 'other';
  if (head.length >= 2 && head[1]! > 4) return 'other';
  if (head.length < 5) return undefined;
  const length = head.readUInt32BE(0);
  return length >= 5 && length <= MAX_SFTP_PACKET && head[4] === FXP_INIT ? 'sftp' : 'other';
}
