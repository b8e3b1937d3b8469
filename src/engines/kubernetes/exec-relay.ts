// exec and attach over WebSockets (KEP-4006): the upgrade is classified and admitted like any request
// (verb create on pods/exec|attach, with the command, container, tty and stdin); then Gatehouse opens the
// upstream WebSocket with the client's subprotocol (v5.channel.k8s.io, else v4), and only once the API
// server has accepted it completes the client's handshake; the upstream URL carries only the decided
// options (classify-request.ts). Channels are relayed message by message: stdin up only when decided
// with stdin, resizes only when decided with a terminal (any other client message ends the session);
// stdout/stderr (masked for masked principals), the status channel and v5 close signals down. The
// session is recorded as an asciicast v2 terminal recording with its exit code.
// SPDY upgrades are refused with how to switch (docs/kubernetes.md §Streams).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { kubernetesAction, withPodSecrets, type KubernetesAction } from '../../core/action.js';
import { classifyShellCommand } from '../../shell/index.js';
import { outputReshapers } from '../../shell/output-shapes.js';
import { deny } from '../../core/decision.js';
import { holdSignal, type Admission, type GateSession } from '../../gate/gate.js';
import { AsciicastWriter } from '../../wire/asciicast/asciicast-writer.js';
import {
  CHANNEL,
  chooseSubprotocol,
  decodeChannelMessage,
  decodeResize,
  encodeChannelMessage,
  type ChannelSubprotocol,
} from '../../wire/kubernetes/channel-protocol.js';
import {
  exitCodeOf,
  failureChannelStatus,
  failureStatus,
  type RemoteCommandStatus,
} from '../../wire/kubernetes/status.js';
import { REQUEST_LIMIT_RULE, socketEnd, tooManyRequestsMessage } from '../http/client-limits.js';
import { classifyRequest } from './classify-request.js';
import { podSecretSources } from './pod-secrets.js';
import { forwardHeaders, impersonationHeader } from './kube-headers.js';
import { TerminalMasker } from '../../masking/index.js';
import { maskKubeJson, maskKubeText, outputFieldNames, type KubeMaskOptions } from './kube-masking.js';
import {
  IMPERSONATION_RULE,
  overLimitStatus,
  recordKubeRefusal,
  sessionFor,
  STREAM_RULE,
  UNCLASSIFIABLE_RULE,
  unclassifiedAction,
  upstreamUrl,
  type KubeRequestDeps,
} from './kube-request.js';
import { reasonFor, refuseUpgrade } from './kube-responses.js';
import type { KubeConnectionSettings } from './kube-settings.js';
import { STALLED_ERROR, wasStalled } from '../write-stall.js';

const MAX_MESSAGE = 16 * 1024 * 1024;
/** Pause a side once this many sends to the other are unacknowledged (backpressure). */
const HIGH_WATER = 64;
/** An unfinished output line is sent (masked) after this much quiet, so prompts still show. */
const MASK_FLUSH_MS = 40;

/**
 * kubectl ≥ 1.31 tunnels SPDY port-forward inside a WebSocket (`SPDY/3.1+portforward.k8s.io`): the
 * ports it forwards are asked for inside the tunnel, per stream, where Gatehouse does not read them
 * (a `ports` query parameter, which Gatehouse could decide, is not what the tunnel forwards). Relayed,
 * a port-forward decided on the pod (or on query ports) would reach any port of it; so none is.
 */
export const PORT_FORWARD_REFUSAL =
  'Gatehouse does not relay port-forward: the ports kubectl forwards are asked for inside the tunnel, ' +
  'where Gatehouse cannot decide them. Use exec for what you need in the pod, or ask a person with ' +
  'direct access to the cluster.';

export const SPDY_REFUSAL =
  'Gatehouse relays exec, attach and port-forward over WebSockets only, and this client asked for SPDY. ' +
  'Use kubectl 1.31 or later and leave KUBECTL_REMOTE_COMMAND_WEBSOCKETS unset (or set it to true); ' +
  'for port-forward also leave KUBECTL_PORT_FORWARD_WEBSOCKETS unset.';

// The client's handshake answers the subprotocol the relay speaks (chooseSubprotocol), not the first
// the client offered (ws's default), which could be one the relay does not speak (base64.channel.k8s.io).
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: MAX_MESSAGE,
  handleProtocols: (protocols) => chooseSubprotocol(protocols) ?? false,
});

function offeredProtocols(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

export async function handleKubeUpgrade(
  deps: KubeRequestDeps,
  settings: KubeConnectionSettings,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  socket.on('error', () => socket.destroy());
  const refuse = (reason: Parameters<typeof failureStatus>[0], message: string): void =>
    refuseUpgrade(socket, failureStatus(reason, message));
  const method = (req.method ?? 'GET').toUpperCase();
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const session = await sessionFor(deps, req, refuse);
  if (!session) return;
  // From here the caller is known: every refusal is recorded against it before it is answered.
  const refuseRecorded = async (
    a: KubernetesAction,
    ruleId: string,
    reason: Parameters<typeof failureStatus>[0],
    message: string,
  ): Promise<void> => {
    await recordKubeRefusal(session, a, ruleId, message);
    refuse(reason, message);
  };
  // An upgraded connection is a request in flight for as long as its socket is open.
  const max = settings.clientLimits.requestsPerPrincipal;
  if (!deps.requests.take(session.identity, max, socketEnd(socket))) {
    const over = overLimitStatus(session.identity.subject, max);
    await recordKubeRefusal(
      session,
      unclassifiedAction(deps.connection, method, req.url),
      REQUEST_LIMIT_RULE,
      tooManyRequestsMessage(session.identity.subject, max),
    );
    return refuseUpgrade(socket, over.status, over.headers);
  }
  const classified = classifyRequest(deps.connection, method, req.url, deps.classifyCommand);
  if (!classified.ok)
    return refuseRecorded(
      unclassifiedAction(deps.connection, method, req.url),
      UNCLASSIFIABLE_RULE,
      'BadRequest',
      classified.message,
    );
  const { action, info } = classified;
  if (impersonationHeader(req.headers) !== undefined)
    return refuseRecorded(
      action,
      IMPERSONATION_RULE,
      'Forbidden',
      'Gatehouse does not pass impersonation headers (kubectl --as).',
    );
  const streaming =
    info.apiGroup === '' &&
    info.resource === 'pods' &&
    ['exec', 'attach', 'portforward'].includes(info.subresource);
  if (!streaming)
    return refuseRecorded(
      action,
      STREAM_RULE,
      'BadRequest',
      'Gatehouse accepts upgrades only for pods/exec, pods/attach and pods/portforward.',
    );

  const gone = new AbortController();
  socket.once('close', () => gone.abort());
  const signal = holdSignal(settings.holdTimeoutMs, gone.signal);

  if (upgrade.startsWith('spdy/') || info.subresource === 'portforward') {
    // Decide first, so a policy refusal (also what kubectl falls back to SPDY after) names its rule.
    const decision = session.decide(action);
    const refusal =
      decision.effect === 'deny'
        ? decision
        : info.subresource === 'portforward'
          ? deny(STREAM_RULE, PORT_FORWARD_REFUSAL)
          : deny('spdy-unsupported', SPDY_REFUSAL);
    const admission = await session.admit(action, { signal, decision: refusal });
    if (!admission.allowed) {
      const ownPortForwardRefusal = refusal !== decision && info.subresource === 'portforward';
      refuse(ownPortForwardRefusal ? 'BadRequest' : reasonFor(admission.error.code), admission.error.message);
    }
    return;
  }
  if (upgrade !== 'websocket' || method !== 'GET')
    return refuseRecorded(
      action,
      STREAM_RULE,
      'BadRequest',
      'Gatehouse accepts WebSocket upgrades (GET with Upgrade: websocket).',
    );

  const subprotocol = chooseSubprotocol(offeredProtocols(req));
  if (subprotocol === undefined)
    return refuseRecorded(
      action,
      STREAM_RULE,
      'BadRequest',
      'exec and attach need the v5.channel.k8s.io or v4.channel.k8s.io WebSocket subprotocol (kubectl ≥ 1.31).',
    );

  // What the exec can read of Secrets (its container's env and volumes) is part of its decision.
  const decided =
    info.subresource === 'exec'
      ? withPodSecrets(
          action,
          await podSecretSources(
            settings,
            info.namespace,
            info.name,
            info.exec?.container ?? '',
            gone.signal,
          ),
        )
      : action;
  const admission = await session.admit(withKubeOutputShapes(session, decided, info.exec?.command), {
    signal,
  });
  if (!admission.allowed) return refuse(reasonFor(admission.error.code), admission.error.message);
  if (socket.destroyed) {
    session.settle(admission, {
      error: { code: 'client_gone', message: 'the client went away before the upgrade' },
    });
    return;
  }
  await relaySession({
    deps,
    settings,
    req,
    socket,
    head,
    session,
    admission,
    action,
    subprotocol,
    query: classified.query,
    path: classified.path.path,
  });
}

interface RelayContext {
  readonly deps: KubeRequestDeps;
  readonly settings: KubeConnectionSettings;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly session: GateSession;
  readonly admission: Admission & { allowed: true };
  readonly action: KubernetesAction;
  readonly subprotocol: string;
  readonly path: string;
  readonly query: string;
}

async function relaySession(c: RelayContext): Promise<void> {
  const { settings, session, admission } = c;
  const url = upstreamUrl(settings.server, c.path, c.query);
  url.protocol = 'wss:';
  const masking = admission.decision.effect !== 'deny' && Boolean(admission.decision.obligations.mask);
  const upstream = new WebSocket(url, [c.subprotocol], {
    headers: {
      ...forwardHeaders(c.req.headers, { masking: false, auditId: admission.statementId }),
      ...(await settings.authHeaders()),
    },
    ...(settings.tls.ca ? { ca: settings.tls.ca } : {}),
    ...(settings.tls.cert ? { cert: settings.tls.cert, key: settings.tls.key } : {}),
    ...(settings.tls.servername ? { servername: settings.tls.servername } : {}),
    rejectUnauthorized: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE,
    handshakeTimeout: settings.upstreamTimeoutMs,
  });
  const started = performance.now();
  let settled = false;
  const done = (extra: {
    error?: { code: string; message: string };
    recording?: AsciicastWriter;
    masked?: Record<string, number>;
  }): void => {
    if (settled) return;
    settled = true;
    const r = extra.recording;
    // The client stopped reading and its socket was closed for it (write-stall.ts): that is why it ended.
    const error = wasStalled(c.socket) ? STALLED_ERROR : extra.error;
    session.settle(admission, {
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(error ? { error } : {}),
      ...(extra.masked && Object.keys(extra.masked).length > 0 ? { masked: extra.masked } : {}),
      ...(r
        ? { terminal: { format: 'asciicast-v2', text: r.text(), events: r.events, truncated: r.truncated } }
        : {}),
    });
  };

  upstream.once('unexpected-response', (_req, res) => {
    // The API server refused the upgrade (pod not found, container not running…): relay its answer.
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= 64 * 1024) chunks.push(b);
    });
    res.on('end', () => {
      // For a masked principal the API server's answer is masked as its other answers are (its
      // Status quotes what it was given; an aggregated API or a webhook may put anything there); a
      // body cut at the bound, or not UTF-8, cannot be masked whole and is withheld.
      const body = masking
        ? maskedDeclineBody(Buffer.concat(chunks), size > 64 * 1024, {
            detectors: settings.masking.detectors,
            envNames: settings.masking.envNames,
            fieldNames: settings.masking.fieldNames,
          })
        : Buffer.concat(chunks);
      const status = res.statusCode ?? 502;
      done({ error: { code: `http_${status}`, message: 'the API server refused the upgrade' } });
      if (!c.socket.destroyed) {
        c.socket.write(
          `HTTP/1.1 ${status} ${masking ? '' : (res.statusMessage ?? '')}\r\ncontent-type: ${String(res.headers['content-type'] ?? 'application/json')}\r\n` +
            `content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
        );
        c.socket.end(body);
      }
      upstream.terminate();
    });
  });
  upstream.once('error', (err) => {
    c.deps.logger.warn(
      { err: String(err), connection: c.deps.connection, session: session.id },
      'kubernetes upstream websocket failed',
    );
    if (settled) return;
    done({
      error: { code: 'upstream_unavailable', message: 'the API server could not be reached for the upgrade' },
    });
    refuseUpgrade(
      c.socket,
      failureStatus('ServiceUnavailable', 'Gatehouse: the Kubernetes API server could not be reached.'),
    );
  });
  upstream.once('open', () => {
    if (c.socket.destroyed) {
      upstream.terminate();
      done({ error: { code: 'client_gone', message: 'the client went away before the upgrade' } });
      return;
    }
    upstream.removeAllListeners('error');
    c.deps.sessions.markRelaying(c.req.socket);
    wss.handleUpgrade(c.req, c.socket, c.head, (client) => {
      relayChannels(c, client, upstream, c.subprotocol as ChannelSubprotocol, masking, done);
    });
  });
}

type Done = (extra: {
  error?: { code: string; message: string };
  recording?: AsciicastWriter;
  masked?: Record<string, number>;
}) => void;

/** Relays messages one way with backpressure: the source pauses while too many sends are in flight. */
function sender(to: WebSocket, from: WebSocket): (data: Buffer) => void {
  let inFlight = 0;
  return (data) => {
    if (to.readyState !== WebSocket.OPEN) return;
    inFlight++;
    if (inFlight >= HIGH_WATER) from.pause();
    to.send(data, { binary: true }, () => {
      inFlight--;
      if (inFlight < HIGH_WATER / 2) from.resume();
    });
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A close reason of at most 120 bytes, cut at a character boundary (a close reason must be UTF-8). */
function closeReason(text: string): Buffer {
  let chars = text;
  while (Buffer.byteLength(chars, 'utf8') > 120) chars = chars.slice(0, -1);
  return Buffer.from(chars, 'utf8');
}

function closeBoth(client: WebSocket, upstream: WebSocket, code: number, reason: Buffer): void {
  const safe = code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000;
  if (client.readyState === WebSocket.OPEN) client.close(safe, reason.subarray(0, 120));
  if (upstream.readyState === WebSocket.OPEN) upstream.close(safe, reason.subarray(0, 120));
  setTimeout(() => {
    client.terminate();
    upstream.terminate();
  }, 5_000).unref();
}

function relayChannels(
  c: RelayContext,
  client: WebSocket,
  upstream: WebSocket,
  subprotocol: ChannelSubprotocol,
  masking: boolean,
  done: Done,
): void {
  const { action, settings } = c;
  const startMs = performance.now();
  const recording = new AsciicastWriter(
    {
      width: 80,
      height: 24,
      timestamp: Math.floor(Date.now() / 1000),
      title: `${action.namespace}/${action.name}${action.container ? ` (${action.container})` : ''}`,
      ...(action.command && action.command.length > 0 ? { command: action.command.join(' ') } : {}),
    },
    { maxBytes: settings.recordMaxBytes, startMs },
  );
  const maskOptions = { detectors: settings.masking.detectors, envNames: settings.masking.envNames };
  // The status channel is a Status object, masked as the engine's JSON answers are.
  const statusMaskOptions: KubeMaskOptions = { ...maskOptions, fieldNames: settings.masking.fieldNames };
  /** What masking the status and the close reason found (added to the output maskers' counts). */
  const extraCounts: Record<string, number> = {};
  // Values under sensitive field names in the output (`env`, `cat .env`, a YAML file) are masked whole.
  const keys = outputFieldNames(maskOptions);
  const maskers = masking
    ? new Map([
        // Without a terminal nothing is typed back: a trailing token waits for the rest of its line.
        [CHANNEL.stdout, new TerminalMasker(maskOptions.detectors, undefined, action.tty !== true, keys)],
        [CHANNEL.stderr, new TerminalMasker(maskOptions.detectors, undefined, action.tty !== true, keys)],
      ])
    : undefined;
  const toClient = sender(client, upstream);
  const toUpstream = sender(upstream, client);
  let ended = false;
  let exitCode: number | undefined;
  let failure: string | undefined;
  let flushTimer: NodeJS.Timeout | undefined;

  const emit = (channel: number, text: string): void => {
    if (text === '') return;
    recording.event(performance.now(), 'o', text);
    toClient(encodeChannelMessage(channel, text));
  };
  const flushMaskers = (): void => {
    flushTimer = undefined;
    for (const [channel, m] of maskers ?? []) emit(channel, m.flush());
  };
  // Output went quiet: an unfinished line is sent as far as it can be before it ends (a prompt shows;
  // a trailing token waits for the rest of its line, so a secret written in pieces is masked whole).
  const quietMaskers = (): void => {
    flushTimer = undefined;
    for (const [channel, m] of maskers ?? []) emit(channel, m.quiet());
  };

  upstream.on('message', (data) => {
    let msg;
    try {
      msg = decodeChannelMessage(toBuffer(data), subprotocol);
    } catch {
      return; // An upstream message Gatehouse cannot read is dropped, not relayed blind.
    }
    if (msg.type === 'close') {
      if (maskers?.get(msg.channel as 1 | 2)) emit(msg.channel, maskers.get(msg.channel as 1 | 2)!.flush());
      toClient(toBuffer(data));
      return;
    }
    if (msg.channel === CHANNEL.stdout || msg.channel === CHANNEL.stderr) {
      const m = maskers?.get(msg.channel);
      if (!m) {
        recording.event(performance.now(), 'o', msg.payload);
        toClient(toBuffer(data));
        return;
      }
      emit(msg.channel, m.push(msg.payload));
      if (m.pending && flushTimer === undefined) flushTimer = setTimeout(quietMaskers, MASK_FLUSH_MS);
      return;
    }
    if (msg.channel === CHANNEL.status) {
      flushMaskers();
      // The status is the API server's text (a runtime error can quote a file or the command's
      // output): for a masked principal it is masked as the engine's other answers are, and sent as
      // the text that was masked, never the bytes as they came (docs/security.md class 230).
      const received = msg.payload.toString('utf8');
      const masked = maskers ? maskKubeJson(received, statusMaskOptions) : null;
      if (masked)
        for (const [k, n] of Object.entries(masked.counts)) extraCounts[k] = (extraCounts[k] ?? 0) + n;
      const text = masked?.text ?? received;
      try {
        const status = JSON.parse(text) as RemoteCommandStatus;
        exitCode = exitCodeOf(status);
        if (exitCode === undefined && status.status === 'Failure')
          failure = String(status.message ?? 'the command failed').slice(0, 300);
      } catch {
        failure = 'the API server sent an unreadable status';
      }
      toClient(maskers ? encodeChannelMessage(CHANNEL.status, text) : toBuffer(data));
      return;
    }
    // Other channels from the server are not part of the protocol: dropped.
  });

  // Only what was decided goes up: stdin when the session was decided with stdin, resizes when with a
  // terminal. A message on any other channel (stdin or resize not decided, stdout, stderr, status, an
  // unknown or malformed one) ends the session with a status saying why; nothing of it is relayed.
  const decided = { stdin: action.stdin === true, tty: action.tty === true };
  let violation: string | undefined;
  /** The client's WebSocket failed (a message past the size limit, a framing error): recorded as the result. */
  let clientError: { code: string; message: string } | undefined;
  const refuseMessage = (why: string): void => {
    if (violation !== undefined || ended) return;
    violation = `Gatehouse ended this session: ${why}`;
    c.deps.logger.warn(
      { connection: c.deps.connection, session: c.session.id, reason: why },
      'kubernetes exec message refused',
    );
    toClient(encodeChannelMessage(CHANNEL.status, JSON.stringify(failureChannelStatus(violation))));
    end(1008, Buffer.from('message on an undecided channel'));
  };
  client.on('message', (data) => {
    if (violation !== undefined) return;
    const raw = toBuffer(data);
    let msg;
    try {
      msg = decodeChannelMessage(raw, subprotocol);
    } catch (e) {
      return refuseMessage(
        `the client sent a message that is not on a ${subprotocol} channel (${(e as Error).message})`,
      );
    }
    if (msg.type === 'close') {
      // v5 close signal: stdin's is relayed when stdin was decided; a close of a stream that was not
      // opened (stdin without -i, resize, the output channels) carries nothing and is dropped.
      if (msg.channel > CHANNEL.resize)
        return refuseMessage(`the client sent a close signal for the unknown channel ${msg.channel}`);
      if (msg.channel === CHANNEL.stdin && decided.stdin) toUpstream(raw);
      return;
    }
    if (msg.channel === CHANNEL.stdin) {
      if (!decided.stdin)
        return refuseMessage(
          'the client sent input (channel 0), but the session was decided without stdin (use kubectl exec -i to send input)',
        );
      // On a terminal, keystrokes are kept as keys with their text hidden (the echo shows what was
      // typed where the terminal showed it; a password it did not show is not kept). Without one,
      // input is data, recorded masked for masked principals too.
      if (decided.tty) recording.keystrokes(performance.now(), msg.payload);
      else if (maskers) {
        const text = msg.payload.toString('utf8');
        recording.event(performance.now(), 'i', maskKubeText(text, maskOptions)?.text ?? text);
      } else recording.event(performance.now(), 'i', msg.payload);
      toUpstream(raw);
    } else if (msg.channel === CHANNEL.resize) {
      if (!decided.tty)
        return refuseMessage(
          'the client sent a terminal resize (channel 4), but the session was decided without a terminal (use kubectl exec -t for one)',
        );
      const size = decodeResize(msg.payload);
      if (!size) return refuseMessage('the client sent a resize that is not {"Width":…,"Height":…}');
      recording.resize(performance.now(), size.width, size.height);
      toUpstream(raw);
    } else {
      return refuseMessage(
        `the client wrote to channel ${msg.channel} (${msg.channel === CHANNEL.status ? 'status' : msg.channel === CHANNEL.stdout ? 'stdout' : 'stderr'}), which only the API server writes`,
      );
    }
  });

  const end = (code: number, reason: Buffer): void => {
    if (ended) return;
    ended = true;
    clearTimeout(flushTimer);
    if (maskers) flushMaskers();
    // A close reason is free text too (the API server's, or what it relays): masked as a line of output.
    let relayedReason = reason;
    if (maskers) {
      const r = maskKubeText(reason.toString('utf8'), maskOptions);
      if (r) for (const [k, n] of Object.entries(r.counts)) extraCounts[k] = (extraCounts[k] ?? 0) + n;
      relayedReason = closeReason(r?.text ?? reason.toString('utf8'));
    }
    closeBoth(client, upstream, code, relayedReason);
    const masked: Record<string, number> = { ...extraCounts };
    for (const m of maskers?.values() ?? [])
      for (const [k, n] of Object.entries(m.counts)) masked[k] = (masked[k] ?? 0) + n;
    done({
      recording,
      masked,
      ...(violation !== undefined
        ? { error: { code: 'undecided_channel', message: violation } }
        : clientError !== undefined
          ? { error: clientError }
          : exitCode !== undefined && exitCode !== 0
            ? { error: { code: `exit_${exitCode}`, message: `the command exited with code ${exitCode}` } }
            : failure !== undefined
              ? { error: { code: 'failure', message: failure } }
              : {}),
    });
  };
  upstream.on('close', (code, reason) => end(code, reason));
  client.on('close', (code, reason) => end(code, reason));
  upstream.on('error', () => end(1011, Buffer.from('upstream error')));
  client.on('error', (err) => {
    clientError ??= clientErrorOf(err);
    end(1011, Buffer.from('client error'));
  });
  endWithSession(c, client, () => {
    failure = `Gatehouse ended this session: ${c.session.endReason ?? 'session ended'}`;
    toClient(encodeChannelMessage(CHANNEL.status, JSON.stringify(failureChannelStatus(failure))));
    end(1000, Buffer.from('session ended'));
  });
}

/**
 * What the record says of a client WebSocket that failed: ws refuses a message past MAX_MESSAGE or a
 * malformed frame (and closes with 1009/1002); the session ends, and its result says why.
 */
function clientErrorOf(err: Error): { code: string; message: string } {
  const code = (err as Error & { code?: string }).code;
  return {
    code: code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'message_too_large' : 'client_protocol_error',
    message: `the client's WebSocket was closed: ${err.message}`.slice(0, 300),
  };
}

/** When the gate ends the session (token revoked or expired, an admin), the relay ends too. */
function endWithSession(c: RelayContext, client: WebSocket, end: () => void): void {
  const signal = c.session.ended;
  if (signal.aborted) return end();
  const onEnd = () => end();
  signal.addEventListener('abort', onEnd, { once: true });
  client.once('close', () => signal.removeEventListener('abort', onEnd));
}

/**
 * An exec whose output may show what it reads in a form masking cannot see (`xxd`, `rev`, `cut`…:
 * src/shell/output-shapes.ts), which the policy would allow with masking: decided again with
 * `unknown` among its command's categories (docs/security.md class 221), as the SSH engine does.
 */
function withKubeOutputShapes(
  session: GateSession,
  action: KubernetesAction,
  command: readonly string[] | undefined,
): KubernetesAction {
  if (action.subresource !== 'exec' || command === undefined || command.length === 0) return action;
  const reshapers = outputReshapers(classifyShellCommand({ argv: [...command] }));
  if (reshapers.length === 0) return action;
  const decision = session.decide(action);
  if (decision.effect !== 'allow' || !decision.obligations.mask) return action;
  const { kind: _kind, describe: _describe, ...rest } = action;
  const cats = [...(action.commandCategories ?? ['unknown'])];
  if (!cats.includes('unknown')) cats.push('unknown');
  return kubernetesAction({ ...rest, commandCategories: cats });
}

/** A declined upgrade's body for a masked principal: masked, or a Status saying it was withheld. */
function maskedDeclineBody(body: Buffer, cut: boolean, o: KubeMaskOptions): Buffer {
  const text = cut ? undefined : new TextDecoder('utf-8', { fatal: false }).decode(body);
  if (text === undefined || text.includes('\uFFFD'))
    return Buffer.from(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: "Gatehouse withheld the API server's answer: it could not be masked whole.",
      }),
    );
  const masked = maskKubeJson(text, o);
  return masked === null ? body : Buffer.from(masked.text);
}
