// One SSH session channel (RFC 4254 §6): its pty-req, env, window-change and signal requests, and the
// one exec, shell or subsystem it runs (with the terminal and environment asked for before it: later
// pty-req and env requests are refused). exec is decided on its exact command before anything runs on
// the host; shell and subsystems are decided as what they are. A refusal is a message on stderr and
// exit status 126; a held request says on stderr that it waits and where to approve. Agent forwarding
// and X11 are refused. Nothing reaches the host before the gate has admitted it.

import type { Writable } from 'node:stream';
import type ssh2 from 'ssh2';
import { sshAction, type SshAction } from '../../core/action.js';
import type { Logger } from '../../core/ports.js';
import type { ShellLineClassifier } from '../../core/shell-command.js';
import { holdSignal, type Admission, type GateSession } from '../../gate/gate.js';
import { holdForRoom, pipeBytes, type BytePipeCounts } from './byte-pipe.js';
import { pipeSftp } from './sftp-gate.js';
import { sftpExec, sftpInitStart } from './sftp-exec.js';
import { deny } from '../../core/decision.js';
import { COMMAND_LOOKUP_VARIABLES, localeChange } from '../../shell/command-rules.js';
import { commandAction } from './exec-action.js';
import { ShellLineGate } from './shell-lines.js';
import { startTerminalRelay, type TerminalRelay } from './terminal-relay.js';
import type { Refusal } from '../refusal-cap.js';
import type { SshConnectionSettings } from './ssh-settings.js';
import type { UpstreamClient } from './upstream-login.js';
import type { HostPaths } from './host-paths.js';
import { withLandings, withOutputShapes } from './exec-action.js';
import { outputReshapers } from '../../shell/output-shapes.js';

/** Rule id of an sftp request refused before any policy (a path the host would read otherwise). */
export const SFTP_PATH_RULE = 'ssh-sftp-path';
/** Rule id of an exec that runs an sftp server in a form Gatehouse does not serve, or feeds one. */
export const SFTP_EXEC_RULE = 'ssh-sftp-exec';
/** Exit status of a command Gatehouse refused (as a shell does for a command it cannot execute). */
export const REFUSED_EXIT = 126;
/** Exit status when Gatehouse itself ends the channel (as ssh does for its own errors). */
export const GATEHOUSE_EXIT = 255;
const MAX_ENV = 64;
const MAX_ENV_BYTES = 16 * 1024;
/** A variable name bash would import as a variable (not `BASH_FUNC_f%%`, not `A-B`). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * What an env value may not hold: `$` or a backquote (bash runs a command substitution held in a
 * value it evaluates as arithmetic or as a name: `LC_X='a[$(cmd)]'` then `echo $((LC_X))`, a line the
 * classifier reads as harmless), and control characters.
 */
function envValueRefused(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x24 || c === 0x60 || c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
/**
 * The terminal modes (RFC 4254 §8) the host's terminal is opened with, whatever the client's pty-req
 * asked: the shell-line gate reads typed keys as readline does on a terminal with these settings (CR
 * ends a line and is not dropped or mapped, Ctrl-C/U/W/V/D are what they always are, no other byte
 * ends a line, letters are text). A client's modes that read the same bytes otherwise (IGNCR, INLCR,
 * VEOL, VKILL or VLNEXT rebound to a letter, ICANON or ISIG off) would let a line run that the gate
 * decided as another (class 403), so they are never relayed. 255 is "no character".
 */
export const HOST_TERMINAL_MODES: Readonly<ssh2.TerminalModes> = Object.freeze({
  VINTR: 3,
  VQUIT: 28,
  VERASE: 127,
  VKILL: 21,
  VEOF: 4,
  VEOL: 255,
  VEOL2: 255,
  VSTART: 17,
  VSTOP: 19,
  VSUSP: 26,
  VREPRINT: 18,
  VWERASE: 23,
  VLNEXT: 22,
  VDISCARD: 15,
  ISTRIP: 0,
  INLCR: 0,
  IGNCR: 0,
  ICRNL: 1,
  IUCLC: 0,
  IXON: 1,
  ISIG: 1,
  ICANON: 1,
  XCASE: 0,
  ECHO: 1,
  ECHOE: 1,
  ECHOK: 1,
  ECHONL: 0,
  NOFLSH: 0,
  TOSTOP: 0,
  IEXTEN: 1,
  ECHOCTL: 1,
  ECHOKE: 1,
  PENDIN: 0,
  OPOST: 1,
  OLCUC: 0,
  ONLCR: 1,
  OCRNL: 0,
  ONOCR: 0,
  ONLRET: 0,
  CS8: 1,
  PARENB: 0,
});
/** A terminal type is a name (`xterm-256color`): it becomes $TERM on the host. */
const TERM_NAME = /^[A-Za-z0-9._+-]{1,64}$/;

export interface ChannelDeps {
  readonly settings: SshConnectionSettings;
  readonly session: GateSession;
  readonly upstream: UpstreamClient;
  /** Asks the host where a command's writes land (host-paths.ts). */
  readonly hostPaths: HostPaths;
  readonly logger: Logger;
  readonly classify: ShellLineClassifier;
  /** Registers a live relay so the connection can end it; returns the function that unregisters it. */
  readonly track: (end: (message: string) => void) => () => void;
  /** The client's TCP socket under its channels: output waits while it is full (byte-pipe.ts). */
  readonly clientSocket?: Writable;
  /** Watches a channel whose output the client must take (write-stall.ts): a stall closes the connection. */
  readonly watchStall: (channel: Writable) => void;
  /** Records a refusal that is not an action, under the connection's cap (refusal-cap.ts). */
  readonly refused: (refusal: Refusal) => void;
}

interface PtyRequest {
  readonly cols: number;
  readonly rows: number;
  readonly width: number;
  readonly height: number;
  readonly term: string;
}

/** Writes `gatehouse: message` on the channel's stderr, the exit status, and ends it. */
export function refuseChannel(channel: ssh2.ServerChannel, message: string, status: number): void {
  try {
    channel.stderr.write(`gatehouse: ${message}\r\n`);
    channel.exit(status);
    channel.end();
  } catch {
    // The client already went away.
  }
}

export function serveSessionChannel(deps: ChannelDeps, session: ssh2.Session): void {
  let pty: PtyRequest | undefined;
  const env: Record<string, string> = {};
  let envBytes = 0;
  const notes: string[] = [];
  let relay: TerminalRelay | undefined;
  let started = false;
  const { settings } = deps;

  session.on('pty', (accept, reject, info) => {
    // The terminal is part of what is decided: once an exec, shell or subsystem has begun, it is fixed.
    if (started) return reject?.();
    pty = {
      cols: info.cols,
      rows: info.rows,
      width: info.width,
      height: info.height,
      term: TERM_NAME.test(String(info.term ?? '')) ? String(info.term) : 'xterm',
      // The client's modes are not kept: the host's terminal gets HOST_TERMINAL_MODES (class 403).
    };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) pty = { ...pty, cols: info.cols, rows: info.rows, width: info.width, height: info.height };
    relay?.resize({ cols: info.cols, rows: info.rows, width: info.width, height: info.height });
    accept?.();
  });
  session.on('env', (accept, reject, info) => {
    const key = String(info.key);
    const val = String(info.val);
    const size = key.length + val.length;
    if (!started && ENV_NAME.test(key) && settings.envAllowed(key) && envValueRefused(val)) {
      notes.push(
        `environment variable ${key.slice(0, 64)} is not passed (its value holds $, a backquote or a control character)`,
      );
      reject?.();
      return;
    }
    // A locale bash would read the command in otherwise than as UTF-8, as it was decided (class 139).
    if (!started && settings.envAllowed(key) && localeChange(key, val) !== undefined) {
      notes.push(
        `environment variable ${key.slice(0, 64)} is not passed (a locale whose character set is not UTF-8 would make the host read the command otherwise than it was decided; use C, POSIX or a .UTF-8 locale)`,
      );
      reject?.();
      return;
    }
    if (
      !started &&
      ENV_NAME.test(key) &&
      !COMMAND_LOOKUP_VARIABLES.has(key) &&
      settings.envAllowed(key) &&
      Object.keys(env).length < MAX_ENV &&
      envBytes + size <= MAX_ENV_BYTES
    ) {
      env[key] = val;
      envBytes += size;
      accept?.();
    } else {
      notes.push(`environment variable ${key.slice(0, 64)} is not passed (not in the connection's env list)`);
      reject?.();
    }
  });
  session.on('auth-agent', (_accept, reject) => {
    notes.push('agent forwarding is refused: Gatehouse holds the key the host sees');
    reject?.();
    deps.refused({
      request: 'auth-agent-req@openssh.com',
      ruleId: 'ssh-agent-forwarding',
      message: 'agent forwarding is refused: Gatehouse holds the key the host sees',
    });
  });
  session.on('x11', (_accept, reject) => {
    notes.push('X11 forwarding is refused');
    reject?.();
    deps.refused({
      request: 'x11-req',
      ruleId: 'ssh-x11-forwarding',
      message: 'X11 forwarding is refused',
    });
  });
  session.on('signal', (accept, _reject, info) => {
    relay?.signal(String(info.name));
    accept?.();
  });

  /** False (the request is refused, and recorded) when the channel already runs something. */
  const begin = (request: string): boolean => {
    if (started) {
      deps.refused({
        request,
        ruleId: 'ssh-channel-reused',
        message: 'the session channel already runs a command, shell or subsystem',
      });
      return false;
    }
    started = true;
    return true;
  };

  session.on('exec', (accept, reject, info) => {
    if (!begin('exec')) return reject?.();
    const command = String(info.command);
    const action = commandAction(settings.name, command, deps.classify, { tty: pty !== undefined, env });
    const options = execOptions();
    const channel = accept();
    const classified = deps.classify(command);
    // sftp over an exec (`sftp -s /usr/lib/openssh/sftp-server`): served as the sftp subsystem, or
    // refused when it runs a server in another form (sftp-exec.ts).
    const sftp = sftpExec(command, classified);
    if (sftp.kind === 'serve' && pty === undefined) {
      const served = sshAction({ connection: settings.name, request: 'sftp', subsystem: 'sftp' });
      void runSubsystem(channel, served, 'sftp', (cb) => deps.upstream.exec(command, options, cb));
      return;
    }
    if (sftp.kind !== 'none') {
      const reason = sftp.kind === 'refuse' ? sftp.reason : 'it runs an sftp server on a terminal';
      void refuseAction(
        channel,
        action,
        SFTP_EXEC_RULE,
        `exec: ${command.slice(0, 200)} is refused: ${reason}, and an sftp server's requests are decided only through the sftp subsystem. Use sftp without -s (or -s sftp).`,
      );
      return;
    }
    // Where its writes land on the host (a link may carry them elsewhere) is part of its decision.
    channel.pause();
    let gone = false;
    channel.once('close', () => (gone = true));
    void (async () => {
      const landings = await deps.hostPaths.judge(classified.writePaths ?? []);
      if (gone) return; // the client left while the host was asked: nothing was decided or run
      await run(
        channel,
        withOutputShapes(withLandings(action, landings), outputReshapers(classified), (a) =>
          deps.session.decide(a),
        ),
        (up) => deps.upstream.exec(command, options, up),
        command,
        false,
        true,
      );
    })();
  });
  session.on('shell', (accept, reject) => {
    if (!begin('shell')) return reject?.();
    const action = sshAction({ connection: settings.name, request: 'shell', tty: pty !== undefined });
    const terminal = ptyOptions();
    const channel = accept();
    void run(
      channel,
      action,
      (up) => deps.upstream.shell(terminal ?? false, { env } as ssh2.ShellOptions, up),
      undefined,
      true,
    );
  });
  session.on('subsystem', (accept, reject, info) => {
    if (!begin('subsystem')) return reject?.();
    const name = String(info.name).slice(0, 200);
    const action = sshAction({
      connection: settings.name,
      request: name === 'sftp' ? 'sftp' : 'subsystem',
      subsystem: name,
    });
    const channel = accept();
    void runSubsystem(channel, action, name);
  });

  function ptyOptions(): ssh2.PseudoTtyOptions | undefined {
    return pty
      ? {
          rows: pty.rows,
          cols: pty.cols,
          height: pty.height,
          width: pty.width,
          term: pty.term,
          modes: { ...HOST_TERMINAL_MODES },
        }
      : undefined;
  }
  function execOptions(): ssh2.ExecOptions {
    const p = ptyOptions();
    return { env, ...(p ? { pty: p } : {}) };
  }

  /** Admits the action, telling the client on stderr while it is held; undefined when refused. */
  async function admit(
    channel: ssh2.ServerChannel,
    action: SshAction,
  ): Promise<(Admission & { allowed: true }) | undefined> {
    channel.pause(); // the client's input waits until the host is there to read it
    for (const n of notes.splice(0)) channel.stderr.write(`gatehouse: ${n}\r\n`);
    const gone = new AbortController();
    channel.once('close', () => gone.abort());
    const signal = holdSignal(settings.holdTimeoutMs, gone.signal, deps.session.ended);
    const admission = await deps.session.admit(action, {
      signal,
      onHeld: (n) => channel.stderr.write(`gatehouse: held for approval: ${n.message}\r\n`),
      onHoldSettled: (n) => channel.stderr.write(`gatehouse: ${n.message}\r\n`),
    });
    if (!admission.allowed) {
      refuseChannel(channel, admission.error.message, REFUSED_EXIT);
      return undefined;
    }
    if (gone.signal.aborted) {
      deps.session.settle(admission, {
        error: { code: 'client_gone', message: 'the client went away before the command started' },
      });
      return undefined;
    }
    return admission;
  }

  /** Records the action as refused by a rule of the engine's own, and tells the client. */
  async function refuseAction(
    channel: ssh2.ServerChannel,
    action: SshAction,
    ruleId: string,
    message: string,
  ): Promise<void> {
    channel.pause();
    for (const n of notes.splice(0)) channel.stderr.write(`gatehouse: ${n}\r\n`);
    await deps.session.admit(action, { decision: deny(ruleId, message) });
    refuseChannel(channel, message, REFUSED_EXIT);
  }

  async function run(
    channel: ssh2.ServerChannel,
    action: SshAction,
    open: (cb: (err: Error | undefined, up: ssh2.ClientChannel) => void) => void,
    command?: string,
    shellLines = false,
    watchForSftp = false,
  ): Promise<void> {
    const admission = await admit(channel, action);
    if (!admission) return;
    const gone = new AbortController();
    channel.once('close', () => gone.abort());
    open((err, up) => {
      if (err) {
        deps.session.settle(admission, {
          error: { code: 'upstream_refused', message: 'the host refused the request' },
        });
        refuseChannel(channel, `the host refused the request (${err.message.slice(0, 200)})`, GATEHOUSE_EXIT);
        return;
      }
      let untrack = (): void => undefined;
      const lines = shellLines
        ? new ShellLineGate({
            session: deps.session,
            connection: settings.name,
            classify: deps.classify,
            landings: (paths) => deps.hostPaths.judge(paths),
            terminal: pty,
            forward: (d) => relay?.input.write(d) ?? false,
            endInput: () => relay?.input.end(),
            note: (text) => channel.write(`\r\ngatehouse: ${text}\r\n`),
            refuse: (message) => relay?.end(message),
            pause: () => channel.pause(),
            resume: () => channel.resume(),
            signal: gone.signal,
            holdTimeoutMs: settings.holdTimeoutMs,
          })
        : undefined;
      deps.watchStall(channel);
      const sniff = watchForSftp ? sftpInitWatch(() => relay, deps.refused, command ?? '') : undefined;
      relay = startTerminalRelay({
        session: deps.session,
        admission,
        client: channel,
        ...(deps.clientSocket ? { clientSocket: deps.clientSocket } : {}),
        upstream: up,
        size: pty,
        title: `${settings.name}: ${settings.user}@${settings.host}`,
        ...(command !== undefined ? { command } : {}),
        recordMaxBytes: settings.recordMaxBytes,
        detectors: settings.detectors,
        ...(lines
          ? {
              tap: {
                input: (d: Buffer) => lines.input(d),
                output: (text: string) => lines.output(text),
                end: () => lines.end(),
              },
              onResize: (cols: number, rows: number) => lines.resize(cols, rows),
            }
          : sniff
            ? { tap: sniff }
            : {}),
        onEnd: () => {
          lines?.stop();
          untrack();
        },
      });
      const r = relay;
      untrack = deps.track((message) => r.end(message));
      channel.resume();
    });
  }

  /**
   * One sftp request that changes something: decided (held for a person if the policy says so, with
   * a note on the channel's stderr) and recorded as a statement of its own; the reason when refused.
   */
  async function decideSftp(channel: ssh2.ServerChannel, action: SshAction): Promise<true | string> {
    const gone = new AbortController();
    channel.once('close', () => gone.abort());
    const admission = await deps.session.admit(action, {
      signal: holdSignal(settings.holdTimeoutMs, gone.signal, deps.session.ended),
      onHeld: (n) => channel.stderr.write(`gatehouse: held for approval: ${n.message}\r\n`),
      onHoldSettled: (n) => channel.stderr.write(`gatehouse: ${n.message}\r\n`),
    });
    if (!admission.allowed) return admission.error.message;
    deps.session.settle(admission, { durationMs: 0 });
    return true;
  }

  /**
   * sftp and other subsystems: a binary protocol Gatehouse relays as it is, so it cannot be masked.
   * `open` opens it on the host (the subsystem by name, or the system's sftp server run by exec).
   */
  async function runSubsystem(
    channel: ssh2.ServerChannel,
    action: SshAction,
    name: string,
    open: (cb: (err: Error | undefined, up: ssh2.ClientChannel) => void) => void = (cb) =>
      deps.upstream.subsys(name, cb),
  ): Promise<void> {
    const admission = await admit(channel, action);
    if (!admission) return;
    if (admission.decision.effect !== 'deny' && admission.decision.obligations.mask) {
      deps.session.settle(admission, {
        error: { code: 'mask_unavailable', message: 'a subsystem cannot be masked' },
      });
      refuseChannel(
        channel,
        `the ${name} subsystem is refused: your policy masks what you see, and a binary protocol cannot be masked.`,
        REFUSED_EXIT,
      );
      return;
    }
    open((err, up) => {
      if (err) {
        deps.session.settle(admission, {
          error: { code: 'upstream_refused', message: 'the host refused the subsystem' },
        });
        refuseChannel(channel, `the host refused the ${name} subsystem`, GATEHOUSE_EXIT);
        return;
      }
      const started = performance.now();
      up.stderr.on('data', (d: Buffer) =>
        holdForRoom(channel.stderr.write(d), up.stderr, channel.stderr, deps.clientSocket),
      );
      deps.watchStall(channel);
      let untrack = (): void => undefined;
      const closed = ({ toHost, toClient }: BytePipeCounts): void => {
        untrack();
        deps.logger.info(
          { session: deps.session.id, connection: settings.name, subsystem: name, toHost, toClient },
          'ssh subsystem closed',
        );
        deps.session.settle(admission, {
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        });
      };
      // sftp: each request that changes something is decided and recorded on its own (sftp-gate.ts).
      const pipe =
        name === 'sftp'
          ? pipeSftp(channel, up, {
              connection: settings.name,
              decide: (op) => decideSftp(channel, op),
              refused: (request, message) => deps.refused({ request, ruleId: SFTP_PATH_RULE, message }),
              ...(deps.clientSocket ? { clientSocket: deps.clientSocket } : {}),
              onClose: closed,
            })
          : pipeBytes(channel, up, closed, deps.clientSocket);
      untrack = deps.track((message) => {
        channel.stderr.write(`gatehouse: ${message}\r\n`);
        pipe.close();
      });
      channel.resume();
    });
  }
}

/**
 * The input tap of an exec channel that is not an sftp server by name: its first bytes are held until
 * they cannot be an sftp INIT; when they are one, the channel is ended before they reach the host
 * (an sftp server under another name, whose requests would not be decided).
 */
function sftpInitWatch(
  relay: () => TerminalRelay | undefined,
  refused: (r: Refusal) => void,
  command: string,
): { input(d: Buffer): void; end(): void } {
  let head: Buffer | undefined = Buffer.alloc(0);
  let ended = false;
  return {
    input(d: Buffer) {
      const r = relay();
      if (r === undefined || ended) return;
      if (head === undefined) {
        r.input.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const seen = sftpInitStart(head);
      if (seen === undefined) return;
      if (seen === 'sftp') {
        ended = true;
        const message = `the input of exec ${command.slice(0, 200)} is an sftp session, whose requests are decided only through the sftp subsystem: use sftp without -s`;
        refused({ request: 'exec', ruleId: SFTP_EXEC_RULE, message });
        r.end(message);
        return;
      }
      const held = head;
      head = undefined;
      r.input.write(held);
    },
    end() {
      const r = relay();
      if (r === undefined || ended) return;
      if (head !== undefined && head.length > 0) r.input.write(head);
      head = undefined;
      r.input.end();
    },
  };
}
