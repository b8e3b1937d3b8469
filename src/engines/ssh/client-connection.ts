// One SSH client connection: authentication with the client's Gatehouse token (keyboard-interactive or
// password; the user name picks the connection), the gate session, the gateway's own login to the host
// — done before the client's authentication is accepted — and the channels the client opens. When the
// gate ends the session (token revoked or expired, an admin), every channel gets a message on stderr
// and the connection closes. A connection that authenticated but cannot be served (connection refused
// by policy, a limit, the host unreachable or its key not the pinned one) answers every channel with
// the reason on stderr and exit status 255, so the client sees why.

import type { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { sshAction } from '../../core/action.js';
import { ERROR_CODES, isGatewayError } from '../../core/errors.js';
import type { Logger, UpstreamDialer } from '../../core/ports.js';
import { noPreauthSignals, type PreauthReason, type PreauthSignals } from '../../core/preauth.js';
import type { ShellLineClassifier } from '../../core/shell-command.js';
import { holdSignal, type Gate, type GateSession } from '../../gate/gate.js';
import { pipeBytes } from './byte-pipe.js';
import { canonicalForwardHost } from './forward-destination.js';
import type { SshKeyLogin } from './key-registry.js';
import { GATEHOUSE_EXIT, refuseChannel, serveSessionChannel } from './session-channel.js';
import type { SshConnectionSettings } from './ssh-settings.js';
import { loginUpstream, type UpstreamClient } from './upstream-login.js';
import { HostPaths } from './host-paths.js';
import { CappedRefusals } from '../refusal-cap.js';
import { stallMessage, watchWriteStall } from '../write-stall.js';

/** Rule ids of refusals the SSH engine makes itself, recorded as `refusal` events (docs/recording.md). */
export const REMOTE_FORWARD_RULE = 'ssh-remote-forward';
export const CHANNEL_LIMIT_RULE = 'ssh-channel-limit';
export const FORWARD_DESTINATION_RULE = 'ssh-forward-destination';

export interface ClientConnectionDeps {
  readonly gate: Gate;
  readonly dialer: UpstreamDialer;
  readonly logger: Logger;
  readonly settings: (connection: string) => SshConnectionSettings | undefined;
  readonly classify: ShellLineClassifier;
  readonly authTimeoutMs: number;
  readonly maxChannels: number;
  /** A client that reads none of the output waiting for it this long is closed (write-stall.ts). */
  readonly writeStallTimeoutMs: number;
  /** Public keys registered to principals (`gatehouse ssh add-key`); absent: no publickey login. */
  readonly keys?: SshKeyLogin;
  /** How often a session that logged in with a key checks the key is still registered (default 5 s). */
  readonly keyRecheckMs?: number;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

const MAX_AUTH_FAILURES = 3;
/** Authentication requests of any outcome one connection may make (key queries answer "yes" freely). */
const MAX_AUTH_ATTEMPTS = 12;
const TOKEN_METHODS: ssh2.AuthenticationType[] = ['keyboard-interactive', 'password'];
const KEY_AND_TOKEN_METHODS: ssh2.AuthenticationType[] = ['publickey', ...TOKEN_METHODS];

export class SshClientConnection {
  private session: GateSession | undefined;
  /** Refusals on this connection: the first under each rule recorded, the rest counted (refused()). */
  private readonly refusals = new CappedRefusals();
  private upstream: UpstreamClient | undefined;
  /** Where writes land on the host, asked on a side channel of the upstream (host-paths.ts). */
  private hostPaths: HostPaths | undefined;
  private settings: SshConnectionSettings | undefined;
  /** Why this authenticated connection cannot be served, told on every channel. */
  private failure: string | undefined;
  private authBusy = false;
  private failures = 0;
  private attempts = 0;
  private channels = 0;
  private readonly live = new Set<(message: string) => void>();
  private readonly gone = new AbortController();
  private closed = false;
  private readonly authTimer: NodeJS.Timeout;
  private keyTimer: NodeJS.Timeout | undefined;
  /** The client's TCP socket (ssh2's own), when it is one that can be watched. */
  private readonly socket: Writable | undefined;
  private readonly stallWatches: (() => void)[] = [];

  constructor(
    private readonly deps: ClientConnectionDeps,
    private readonly conn: ssh2.Connection,
    private readonly info: ssh2.ClientInfo,
    private readonly onClosed: () => void,
  ) {
    this.authTimer = setTimeout(() => {
      this.preauth.refused('ssh', 'auth_timeout', this.clientHost);
      this.close('authentication timed out');
    }, deps.authTimeoutMs);
    this.authTimer.unref();
    conn.on('authentication', (ctx) => this.authenticate(ctx));
    conn.on('ready', () => clearTimeout(this.authTimer));
    conn.on('session', (accept, reject) => this.openSession(accept, reject));
    conn.on('tcpip', (accept, reject, info) => void this.openTcpip(accept, reject, info));
    // Remote forwarding (-R) and Unix sockets are refused: the host would open doors past the gate.
    // A refusal once the client is known is in its session's record (its cancellations carry nothing).
    conn.on('request', (_accept, reject, name) => {
      reject?.();
      const asked = String(name);
      if (asked === 'tcpip-forward' || asked === 'streamlocal-forward@openssh.com')
        this.refused(
          asked,
          REMOTE_FORWARD_RULE,
          'remote forwarding (ssh -R) is not passed through Gatehouse',
        );
    });
    conn.on('openssh.streamlocal', (_accept, reject) => {
      reject();
      this.refused(
        'direct-streamlocal@openssh.com',
        REMOTE_FORWARD_RULE,
        'forwarding to a Unix socket on the host is not passed through Gatehouse',
      );
    });
    conn.on('error', (err) => {
      this.deps.logger.debug({ err: err.message, client: this.clientAddress }, 'ssh client connection error');
    });
    conn.on('close', () => this.close('client closed the connection'));
    // ssh2 writes to the client's socket without looking at its buffer: the relays look (byte-pipe.ts),
    // and a socket none of whose output is read for writeStallTimeout ends the connection.
    this.socket = (conn as unknown as { _sock?: Writable })._sock;
    if (this.socket) this.watchStall(this.socket);
  }

  /** Closes the whole connection (client_stalled) when output waits on `stream` with none of it read. */
  private watchStall(stream: Writable): void {
    if (this.closed) return;
    const ms = this.deps.writeStallTimeoutMs;
    const stop = watchWriteStall(stream, ms, () => {
      const message = stallMessage(ms);
      this.deps.logger.warn({ session: this.session?.id, client: this.clientAddress }, message);
      this.close(message);
      this.socket?.destroy();
    });
    this.stallWatches.push(stop);
  }

  get gateSession(): GateSession | undefined {
    return this.session;
  }

  private get methods(): ssh2.AuthenticationType[] {
    return this.deps.keys ? KEY_AND_TOKEN_METHODS : TOKEN_METHODS;
  }

  private get clientAddress(): string {
    return `${this.info.ip}:${this.info.port}`;
  }

  private get clientHost(): string | undefined {
    return this.info.ip || undefined;
  }

  private get preauth(): PreauthSignals {
    return this.deps.preauth ?? noPreauthSignals;
  }

  private authenticate(ctx: ssh2.AuthContext): void {
    if (this.authBusy || this.session || this.failure !== undefined) return ctx.reject();
    if (++this.attempts > MAX_AUTH_ATTEMPTS) {
      ctx.reject();
      return this.close('too many authentication attempts');
    }
    switch (ctx.method) {
      case 'password':
        void this.login(ctx, ctx.password);
        return;
      case 'keyboard-interactive':
        this.authBusy = true;
        ctx.prompt(
          [{ prompt: 'Gatehouse token: ', echo: false }],
          // No name or instruction: OpenSSH prints them on stderr before every command.
          '',
          '',
          (answers) => {
            this.authBusy = false;
            void this.login(ctx, answers[0] ?? '');
          },
        );
        return;
      case 'publickey':
        if (!this.deps.keys) return ctx.reject(this.methods);
        void this.keyLogin(ctx, this.deps.keys);
        return;
      default:
        ctx.reject(this.methods);
    }
  }

  /**
   * publickey: a key registered to a principal. Asked whether a key would do (no signature), the
   * answer is yes only for a registered key whose token is good; with a signature over the session,
   * checked against the key, the client logs in as the key's principal through the same gate.
   */
  private async keyLogin(ctx: ssh2.PublicKeyAuthContext, keys: SshKeyLogin): Promise<void> {
    this.authBusy = true;
    let handedOn = false;
    try {
      const blob = ctx.key.data;
      if (!this.deps.settings(ctx.username))
        return this.rejectAuth(ctx, 'no such ssh connection', 'credentials_unknown');
      if (ctx.signature === undefined || ctx.blob === undefined) {
        const known = await keys.resolve(blob).catch(() => undefined);
        if (!known) return this.rejectAuth(ctx, 'the key is not registered', 'credentials_unknown');
        return this.acceptAuth(ctx);
      }
      const key: ssh2.ParsedKey | Error = ssh2.utils.parseKey(blob);
      if (key instanceof Error || key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)
        return this.rejectAuth(ctx, 'the key signature does not verify', 'credentials_unknown');
      const found = await keys.resolve(blob, { tokenFor: true }).catch(() => undefined);
      if (!found?.token) return this.rejectAuth(ctx, 'the key is not registered', 'credentials_unknown');
      handedOn = true;
      await this.login(ctx, found.token, found.fingerprint);
    } finally {
      if (!handedOn) this.authBusy = false;
    }
  }

  /**
   * Refuses one authentication request. `reason`: reported as a refusal before authentication
   * (counted, and logged within the rate); absent where the gate already reported it (a token it
   * refused). No per-attempt log line of its own: a guessing client would write one per guess.
   */
  private rejectAuth(ctx: ssh2.AuthContext, why: string, reason?: PreauthReason): void {
    this.failures++;
    if (reason) this.preauth.refused('ssh', reason, this.clientHost);
    this.deps.logger.debug({ client: this.clientAddress, reason: why }, 'ssh authentication refused');
    ctx.reject(this.methods);
    if (this.failures >= MAX_AUTH_FAILURES) this.close('too many authentication failures');
  }

  private async login(ctx: ssh2.AuthContext, token: string, keyFingerprint?: string): Promise<void> {
    this.authBusy = true;
    try {
      const connection = ctx.username;
      const settings = this.deps.settings(connection);
      if (!settings) return this.rejectAuth(ctx, 'no such ssh connection', 'credentials_unknown');
      let session: GateSession;
      try {
        session = await this.deps.gate.openSession({
          token: token.trim(),
          connection,
          protocol: 'ssh',
          listener: 'ssh',
          clientAddress: this.clientAddress,
          ...(this.clientHost ? { clientHost: this.clientHost } : {}),
          clientUser: connection,
          application: this.application(keyFingerprint),
        });
      } catch (e) {
        // The gate reported an ERR_AUTH_FAILED refusal itself; anything else failed closed here.
        if (!isGatewayError(e) || e.code === ERROR_CODES.AUTH_FAILED)
          return isGatewayError(e)
            ? this.rejectAuth(ctx, e.message)
            : this.rejectAuth(ctx, 'authentication failed', 'auth_unavailable');
        // The token is good but the session cannot be had (policy, limits, recording): say why.
        this.failure = e.message;
        return this.acceptAuth(ctx);
      }
      if (this.closed) {
        await session.close('client closed the connection');
        return;
      }
      this.session = session;
      this.settings = settings;
      session.ended.addEventListener('abort', () => this.endSession(), { once: true });
      if (keyFingerprint !== undefined) this.watchKey(session, keyFingerprint);
      try {
        this.upstream = await loginUpstream(settings, this.deps.dialer, this.gone.signal);
      } catch (e) {
        this.failure = isGatewayError(e) ? e.message : 'Gatehouse could not log in to the host.';
        this.deps.logger.warn(
          { session: session.id, connection, err: this.failure },
          'ssh upstream login failed',
        );
        if (this.closed) return;
        return this.acceptAuth(ctx);
      }
      if (this.closed) {
        this.upstream.end();
        return;
      }
      this.upstream.on('close', () => this.close('the host closed the connection'));
      this.acceptAuth(ctx);
    } finally {
      this.authBusy = false;
    }
  }

  /**
   * What the record says the client is: its SSH software, the comments of its identification (the MCP
   * ssh_exec tool puts the caller's reason there) and, for a key login, the key's fingerprint.
   */
  private application(keyFingerprint: string | undefined): string {
    const h = this.info.header;
    const text = [h.versions.software, h.comments, keyFingerprint ? `ssh_key=${keyFingerprint}` : undefined]
      .filter((p) => p !== undefined && p !== '')
      .join(' ');
    return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
  }

  /** A session that logged in with a key ends when the key is removed (checked every few seconds). */
  private watchKey(session: GateSession, fp: string): void {
    const keys = this.deps.keys;
    if (!keys) return;
    let checking = false;
    this.keyTimer = setInterval(() => {
      if (checking || session.ended.aborted) return;
      checking = true;
      keys
        .isActive(fp)
        .then((active) => {
          if (!active) session.end(`the SSH key ${fp} was removed`);
        })
        // The store may be briefly unreachable: the next check decides.
        .catch(() => undefined)
        .finally(() => (checking = false));
    }, this.deps.keyRecheckMs ?? 5000);
    this.keyTimer.unref();
  }

  private acceptAuth(ctx: ssh2.AuthContext): void {
    try {
      ctx.accept();
    } catch {
      this.close('client went away during authentication');
    }
  }

  private reserveChannel(kind: string): boolean {
    if (this.channels >= this.deps.maxChannels) {
      this.refused(
        `channel ${kind}`,
        CHANNEL_LIMIT_RULE,
        `too many channels open on this connection (limit ${this.deps.maxChannels})`,
      );
      return false;
    }
    this.channels++;
    return true;
  }

  /**
   * Records a refusal made once the client is known (a request or channel that is not an action). A
   * client can ask again at once, thousands of times (channel opens past the limit): the first few
   * under each rule are recorded one by one, the rest counted and recorded as one event at the end.
   */
  private refused(request: string, ruleId: string, message: string): void {
    const session = this.session;
    if (session) this.refusals.record(session, { request, ruleId, message });
  }

  private openSession(accept: () => ssh2.Session, reject: () => void): void {
    if (!this.reserveChannel('session')) return reject();
    const s = accept();
    s.once('close', () => this.channels--);
    if (this.failure !== undefined || !this.session || !this.upstream || !this.settings) {
      const why = this.failure ?? 'the session is not available';
      const fail = (acc: () => unknown) => refuseChannel(acc() as ssh2.ServerChannel, why, GATEHOUSE_EXIT);
      s.on('exec', (a) => fail(a));
      s.on('shell', (a) => fail(a));
      s.on('subsystem', (a) => fail(a));
      s.on('pty', (a) => a?.());
      s.on('env', (_a, r) => r?.());
      return;
    }
    serveSessionChannel(
      {
        settings: this.settings,
        session: this.session,
        upstream: this.upstream,
        hostPaths: (this.hostPaths ??= new HostPaths(this.upstream)),
        logger: this.deps.logger,
        classify: this.deps.classify,
        track: (end) => {
          this.live.add(end);
          return () => this.live.delete(end);
        },
        ...(this.socket ? { clientSocket: this.socket } : {}),
        watchStall: (channel) => this.watchStall(channel),
        refused: (r) => this.refused(r.request, r.ruleId, r.message),
      },
      s,
    );
  }

  /** direct-tcpip (ssh -L / -W): a port forward from the host, decided as its own action. */
  private async openTcpip(
    accept: () => ssh2.ServerChannel,
    reject: () => void,
    info: ssh2.TcpipRequestInfo,
  ): Promise<void> {
    const session = this.session;
    const upstream = this.upstream;
    if (!session || !upstream || !this.settings || this.failure !== undefined) return reject();
    // Decided and forwarded as the host the upstream will reach (127.1 is 127.0.0.1).
    const destHost = canonicalForwardHost(String(info.destIP));
    const destPort = Number(info.destPort);
    if (destHost === undefined || !Number.isInteger(destPort) || destPort < 0 || destPort > 65535) {
      this.refused(
        'channel direct-tcpip',
        FORWARD_DESTINATION_RULE,
        'the port forward names no valid host and port',
      );
      return reject();
    }
    if (!this.reserveChannel('direct-tcpip')) return reject();
    let released = false;
    const release = () => {
      if (!released) this.channels--;
      released = true;
    };
    const action = sshAction({
      connection: this.settings.name,
      request: 'port-forward',
      destination: { host: destHost, port: destPort },
    });
    const admission = await session.admit(action, {
      signal: holdSignal(this.settings.holdTimeoutMs, this.gone.signal, session.ended),
    });
    if (!admission.allowed) {
      release();
      return reject();
    }
    if (admission.decision.effect !== 'deny' && admission.decision.obligations.mask) {
      session.settle(admission, {
        error: { code: 'mask_unavailable', message: 'a port forward cannot be masked' },
      });
      release();
      return reject();
    }
    upstream.forwardOut(info.srcIP, info.srcPort, destHost, destPort, (err, up) => {
      if (err) {
        session.settle(admission, {
          error: { code: 'upstream_refused', message: 'the host refused the forward' },
        });
        release();
        return reject();
      }
      const channel = accept();
      const started = performance.now();
      let untrack = (): void => undefined;
      this.watchStall(channel);
      const pipe = pipeBytes(
        channel,
        up,
        ({ toHost, toClient }) => {
          untrack();
          release();
          this.deps.logger.info(
            { session: session.id, destination: `${destHost}:${destPort}`, toHost, toClient },
            'ssh port forward closed',
          );
          session.settle(admission, { durationMs: Math.round((performance.now() - started) * 1000) / 1000 });
        },
        this.socket,
      );
      const end = () => pipe.close();
      this.live.add(end);
      untrack = () => this.live.delete(end);
    });
  }

  /** The gate ended the session: every channel hears why, then the connection closes. */
  private endSession(): void {
    const reason = this.session?.endReason ?? 'session ended';
    const message = `Gatehouse ended this session: ${reason}`;
    for (const end of [...this.live]) {
      try {
        end(message);
      } catch {
        // already closed
      }
    }
    this.live.clear();
    // Give the channels' last messages a moment to leave, then close.
    setTimeout(() => this.close(message), 200).unref();
  }

  /** Closes the client connection, the host connection and the gate session. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearInterval(this.keyTimer);
    for (const stop of this.stallWatches.splice(0)) stop();
    this.gone.abort();
    for (const end of [...this.live]) {
      try {
        end(reason);
      } catch {
        // already closed
      }
    }
    this.live.clear();
    try {
      this.conn.end();
    } catch {
      // already gone
    }
    this.hostPaths?.close();
    this.upstream?.end();
    const s = this.session;
    this.session = undefined;
    if (s) {
      const why = s.ended.aborted ? (s.endReason ?? reason) : reason;
      void this.refusals.closeSession(s, why);
    }
    this.onClosed();
  }
}
