// The `ssh_exec` MCP tool: one command on an ssh connection, sent to the gateway's own SSH listener over
// loopback as the caller (its token answers the listener's password authentication), so it passes the
// same gate as `ssh connection@gateway 'command'`: decided on its exact text, held for a person, masked,
// recorded as a statement with its terminal recording — by the engine's code, not a copy. The command
// runs without a terminal or input; its output and exit status come back. The listener's host key is
// pinned. The caller's reason travels in the SSH identification's comments, which the listener records
// as the session's application (as the kubernetes tool's user agent).

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import ssh2 from 'ssh2';
import { z } from 'zod';
import type { ProgressSink } from './approval-wait.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { textResult, toolError } from './tool-text.js';

export const sshExecInputShape = {
  connection: z.string().min(1).max(200).describe('an ssh connection (see list_connections)'),
  command: z
    .string()
    .min(1)
    .max(16 * 1024)
    .describe(
      'one shell command line, run by the host\'s shell without a terminal: "df -h", "journalctl -u app -n 50"',
    ),
  reason: z.string().min(3).max(500).describe('why you run it; recorded with the session'),
};

/** Where the gateway's SSH listener is, for loopback calls, and its host key (the blob) to pin. */
export interface SshLoopback {
  readonly host: string;
  readonly port: number;
  readonly hostKey: Buffer;
}

const MAX_TEXT = 32 * 1024;
/** Exit status of a command Gatehouse refused; 255: Gatehouse ended the channel (session-channel.ts). */
const REFUSED_EXIT = 126;
const GATEHOUSE_EXIT = 255;

/** The identification's comment: printable ASCII only, short enough for the 255-byte line. */
function identComment(reason: string): string {
  const clean = reason.replace(/[^\x20-\x7e]/g, '?').replace(/"/g, "'");
  return `reason="${clean.slice(0, 150)}"`;
}

function cap(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (cut at ${MAX_TEXT} characters)` : text;
}

interface ExecOutcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode?: number;
  readonly signal?: string;
  /** The listener refused the login (the token) or could not be reached. */
  readonly loginError?: string;
}

function execOverLoopback(
  lb: SshLoopback,
  connection: string,
  token: string,
  reason: string,
  command: string,
  progress: ProgressSink,
): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let stdout = '';
    let stderr = '';
    let exitCode: number | undefined;
    let signal: string | undefined;
    let done = false;
    const finish = (o: ExecOutcome) => {
      if (done) return;
      done = true;
      progress.signal.removeEventListener('abort', onAbort);
      client.end();
      resolve(o);
    };
    const onAbort = () => finish({ stdout, stderr, loginError: 'the tool call was cancelled' });
    progress.signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', (err: Error & { level?: string }) =>
      finish({
        stdout,
        stderr,
        loginError:
          err.level === 'client-authentication'
            ? 'the gateway refused your credentials for this ssh connection'
            : `the gateway's SSH listener could not be reached (${err.message.slice(0, 200)})`,
      }),
    );
    client.on('ready', () => {
      client.exec(command, (err, ch) => {
        if (err) return finish({ stdout, stderr, loginError: 'the gateway refused the channel' });
        ch.end(); // no input
        ch.on('data', (d: Buffer) => {
          if (stdout.length <= MAX_TEXT) stdout += d.toString('utf8');
        });
        ch.stderr.on('data', (d: Buffer) => {
          const text = d.toString('utf8');
          if (stderr.length <= MAX_TEXT) stderr += text;
          // A held command waits for a person: say so while the call waits.
          const held = /gatehouse: (held for approval: [^\r\n]*)/.exec(text);
          if (held?.[1]) void progress.progress(0, undefined, held[1]).catch(() => undefined);
        });
        ch.on('exit', (code: number | null, sig?: string) => {
          if (code !== null && code !== undefined) exitCode = code;
          else signal = sig ?? 'KILL';
        });
        ch.on('close', () =>
          finish({
            stdout,
            stderr,
            ...(exitCode !== undefined ? { exitCode } : {}),
            ...(signal !== undefined ? { signal } : {}),
          }),
        );
      });
    });
    client.connect({
      host: lb.host,
      port: lb.port,
      username: connection,
      password: token,
      tryKeyboard: false,
      ident: `gatehouse_mcp/ssh_exec ${identComment(reason)}`,
      readyTimeout: 20_000,
      // Without hostHash, ssh2 hands the verifier the raw key blob.
      hostVerifier: (key: Buffer) => key.equals(lb.hostKey),
    });
  });
}

/** The gateway's own messages (`gatehouse: …` lines) without the prefix. */
function gatehouseLines(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .filter((l) => l.startsWith('gatehouse: '))
    .map((l) => l.slice('gatehouse: '.length))
    .join('\n');
}

export async function sshExecTool(
  deps: McpToolDeps,
  caller: Caller,
  args: { connection: string; command: string; reason: string },
  progress: ProgressSink,
): Promise<CallToolResult> {
  const conn = deps.connections().find((c) => c.name === args.connection);
  const lb = conn?.protocol === 'ssh' ? deps.ssh?.(args.connection) : undefined;
  if (!lb) return toolError(`There is no ssh connection ${args.connection} on this gateway.`);
  const r = await execOverLoopback(lb, args.connection, caller.token, args.reason, args.command, progress);
  if (r.loginError !== undefined) return toolError(`Nothing was run: ${r.loginError}.`);
  const said = gatehouseLines(r.stderr);
  // Refused by the gate (126), or the gateway ended the channel (255): its own words, nothing ran or
  // the run was cut short.
  if ((r.exitCode === REFUSED_EXIT || r.exitCode === GATEHOUSE_EXIT) && said !== '' && r.stdout === '')
    return toolError(said, { exitCode: r.exitCode });
  const parts = [
    r.stdout === '' ? '(no output)' : cap(r.stdout),
    ...(r.stderr !== '' ? [`stderr:\n${cap(r.stderr)}`] : []),
    r.exitCode !== undefined ? `exit code: ${r.exitCode}` : `killed by signal ${r.signal ?? 'unknown'}`,
  ];
  return textResult(parts.join('\n'), { exitCode: r.exitCode ?? null });
}
