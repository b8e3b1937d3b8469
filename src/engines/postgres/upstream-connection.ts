// Opens the gateway's own connection to an upstream PostgreSQL and logs in with the credential the
// gateway holds (SCRAM-SHA-256, MD5 or cleartext; TLS with verify-full when configured).
// The password never leaves this module except inside the authentication exchange.

import net from 'node:net';
import type { Identity } from '../../core/identity.js';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { UpstreamDialer, UpstreamVia } from '../../core/ports.js';
import {
  BackendCode,
  FrameReader,
  ScramSha256Client,
  decodeAuthentication,
  decodeBackendKeyData,
  decodeDataRow,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  encode,
  md5PasswordResponse,
  type ErrorFields,
  type Frame,
  type TransactionStatus,
} from '../../wire/postgres/index.js';
import type { ReadOnlyReadsSetting } from './read-only-reads.js';

/** An upstream role the gateway logs in as (docs/security.md, per-principal upstream logins). */
export interface UpstreamLogin {
  readonly user: string;
  /** Reveals the upstream password only when the server asks for it. */
  readonly password?: () => string;
}

export interface UpstreamTarget extends UpstreamLogin {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Logins for some principals (first match wins); everyone else logs in as `user`. */
  readonly logins?: readonly (UpstreamLogin & { readonly matches: (identity: Identity) => boolean })[];
  readonly tls: {
    readonly mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
    readonly ca?: string;
    readonly serverName?: string;
  };
  readonly connectTimeoutMs: number;
  /** Opens the upstream socket (directly, or through an agent: docs/agent.md); default plain TCP. */
  readonly dialer?: UpstreamDialer;
  readonly via?: UpstreamVia;
  /** The Gatehouse connection name (for the dialer's logs). */
  readonly connection?: string;
  /** What masking does where column lineage cannot protect a value (docs/masking.md). */
  readonly lineage?: LineageSettings;
  /** Whose reads run in read-only transactions (docs/security.md); default `agents`. */
  readonly readOnlyReads?: ReadOnlyReadsSetting;
  /** Longest an agent's transaction block may stay open, in ms (0 or absent: no bound; class 100). */
  readonly agentTransactionTimeoutMs?: number;
}

/** Per-connection lineage choices, for agents and for people. */
export interface LineageSettings {
  readonly unprovenLineage: { readonly agents: 'refuse' | 'mask'; readonly people: 'refuse' | 'mask' };
  readonly maskedPredicates: {
    readonly agents: 'allow' | 'review' | 'deny';
    readonly people: 'allow' | 'review' | 'deny';
  };
}

export interface UpstreamSession {
  readonly socket: net.Socket;
  /** Frames already received after ReadyForQuery (normally none), and the reader to continue with. */
  readonly reader: FrameReader;
  readonly parameters: ReadonlyMap<string, string>;
  readonly processId: number;
  readonly secretKey: Buffer;
  readonly transactionStatus: TransactionStatus;
}

/** An error from the upstream login; `fields` holds the server's ErrorResponse when there was one. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly fields?: ErrorFields,
  ) {
    super(message);
  }
}

async function connectTcp(target: UpstreamTarget): Promise<net.Socket> {
  if (target.dialer) {
    try {
      // A dialed stream has the net.Socket surface this engine uses (setNoDelay, unref, destroySoon:
      // see src/tunnel/gateway/tunnel-socket.ts), and tls.connect wraps it like any socket.
      return (await target.dialer.dial({ host: target.host, port: target.port }, target.via, {
        ...(target.connection ? { connection: target.connection } : {}),
      })) as net.Socket;
    } catch (err) {
      throw new UpstreamError(
        `could not connect to upstream: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const onError = (err: Error) => {
      socket.destroy();
      reject(new UpstreamError(`could not connect to upstream: ${err.message}`));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function readOneByte(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      cleanup();
      if (d.length !== 1) reject(new UpstreamError('unexpected answer to SSLRequest'));
      else resolve(d[0]!);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new UpstreamError(`upstream closed during TLS negotiation: ${e.message}`));
    };
    const onClose = () => {
      cleanup();
      reject(new UpstreamError('upstream closed during TLS negotiation'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

async function negotiateTls(socket: net.Socket, target: UpstreamTarget): Promise<net.Socket> {
  if (target.tls.mode === 'disable') return socket;
  socket.write(encode.sslRequest());
  const answer = await readOneByte(socket);
  if (answer !== 0x53 /* 'S' */) {
    socket.destroy();
    throw new UpstreamError('upstream does not support TLS but the connection requires it');
  }
  const verify = target.tls.mode === 'verify-ca' || target.tls.mode === 'verify-full';
  const servername = target.tls.serverName ?? (net.isIP(target.host) ? undefined : target.host);
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      servername,
      ca: target.tls.ca ? readFileSync(target.tls.ca) : undefined,
      rejectUnauthorized: verify,
      // verify-ca checks the chain only; verify-full also checks the host name (libpq semantics).
      checkServerIdentity:
        target.tls.mode === 'verify-full'
          ? (_host, cert) => tls.checkServerIdentity(target.tls.serverName ?? target.host, cert)
          : () => undefined,
    });
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (err: Error) => {
      socket.destroy();
      reject(new UpstreamError(`TLS to upstream failed: ${err.message}`));
    });
  });
}

/** The login a principal gets on this target: the first matching per-principal login, or the default. */
export function loginFor(target: UpstreamTarget, identity: Identity | undefined): UpstreamLogin {
  const found = identity === undefined ? undefined : target.logins?.find((l) => l.matches(identity));
  return found ?? target;
}

/** Connects and authenticates; resolves at the first ReadyForQuery. */
export async function openUpstream(
  target: UpstreamTarget,
  startupParams: Readonly<Record<string, string>>,
  maxMessageBytes: number,
  login: UpstreamLogin = target,
): Promise<UpstreamSession> {
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(
      () => reject(new UpstreamError('timed out connecting to upstream')),
      target.connectTimeoutMs,
    );
    t.unref();
  });
  let socket: net.Socket | undefined;
  try {
    return await Promise.race([
      (async () => {
        socket = await connectTcp(target);
        socket = await negotiateTls(socket, target);
        return await logIn(socket, target, login, startupParams, maxMessageBytes);
      })(),
      timeout,
    ]);
  } catch (e) {
    socket?.destroy();
    throw e instanceof UpstreamError ? e : new UpstreamError(e instanceof Error ? e.message : String(e));
  }
}

function logIn(
  socket: net.Socket,
  target: UpstreamTarget,
  login: UpstreamLogin,
  startupParams: Readonly<Record<string, string>>,
  maxMessageBytes: number,
): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader(maxMessageBytes);
    const parameters = new Map<string, string>();
    let processId = 0;
    let secretKey: Buffer = Buffer.alloc(4);
    let scram: ScramSha256Client | undefined;
    const password = (): string => {
      const p = login.password?.();
      if (p === undefined)
        throw new UpstreamError('upstream asked for a password but the connection has none configured');
      return p;
    };
    const fail = (err: unknown) => {
      cleanup();
      reject(
        err instanceof UpstreamError
          ? err
          : new UpstreamError(err instanceof Error ? err.message : String(err)),
      );
    };
    const onFrame = (f: Frame): boolean => {
      switch (f.type) {
        case BackendCode.Authentication: {
          const auth = decodeAuthentication(f.body);
          switch (auth.kind) {
            case 'ok':
              break;
            case 'cleartext':
              // Through an agent, whatever answers at the far end of the tunnel (the agent itself, if
              // it is compromised, or anything on its path) would read the password — and could then
              // log in without Gatehouse. Only a TLS session this gateway verified keeps it private.
              if (target.via && target.tls.mode !== 'verify-full' && target.tls.mode !== 'verify-ca')
                throw new UpstreamError(
                  `the upstream asked for the password in clear through agent "${target.via.agent}" without verified TLS: refused (set upstream.tls.mode verify-full, or SCRAM on the server)`,
                );
              socket.write(encode.passwordMessage(password()));
              break;
            case 'md5':
              socket.write(encode.passwordMessage(md5PasswordResponse(login.user, password(), auth.salt)));
              break;
            case 'sasl':
              if (!auth.mechanisms.includes('SCRAM-SHA-256')) {
                throw new UpstreamError(
                  `upstream offers no supported SASL mechanism (${auth.mechanisms.join(', ')})`,
                );
              }
              scram = new ScramSha256Client(password());
              socket.write(encode.saslInitialResponse(scram.mechanism, scram.clientFirst()));
              break;
            case 'sasl-continue':
              if (!scram) throw new UpstreamError('unexpected SASL continue');
              socket.write(encode.saslResponse(scram.clientFinal(auth.data)));
              break;
            case 'sasl-final':
              if (!scram) throw new UpstreamError('unexpected SASL final');
              scram.verifyServerFinal(auth.data);
              break;
            case 'unsupported':
              throw new UpstreamError(`upstream requested unsupported authentication method ${auth.code}`);
          }
          return false;
        }
        case BackendCode.ParameterStatus: {
          const p = decodeParameterStatus(f.body);
          parameters.set(p.name, p.value);
          return false;
        }
        case BackendCode.BackendKeyData: {
          const k = decodeBackendKeyData(f.body);
          processId = k.processId;
          secretKey = k.secretKey;
          return false;
        }
        case BackendCode.ErrorResponse: {
          const fields = decodeErrorFields(f.body);
          throw new UpstreamError(`upstream refused the gateway's login: ${fields.M ?? 'error'}`, fields);
        }
        case BackendCode.NoticeResponse:
        case BackendCode.NegotiateProtocolVersion:
          return false;
        case BackendCode.ReadyForQuery: {
          const transactionStatus = decodeReadyForQuery(f.body);
          cleanup();
          resolve({ socket, reader, parameters, processId, secretKey, transactionStatus });
          return true;
        }
        default:
          throw new UpstreamError(`unexpected message ${String.fromCharCode(f.type)} during upstream login`);
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        reader.push(chunk);
        for (let f = reader.next(); f; f = reader.next()) if (onFrame(f)) return;
      } catch (e) {
        fail(e);
      }
    };
    const onError = (e: Error) => fail(new UpstreamError(`upstream connection error: ${e.message}`));
    const onClose = () => fail(new UpstreamError('upstream closed the connection during login'));
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(encode.startupMessage({ ...startupParams, user: login.user, database: target.database }));
  });
}

/** Sends a CancelRequest for an upstream backend on a new connection (55.2.7). */
export async function cancelUpstream(
  target: UpstreamTarget,
  processId: number,
  secretKey: Buffer,
): Promise<void> {
  const socket = await connectTcp(target);
  try {
    const s = await negotiateTls(socket, target);
    await new Promise<void>((resolve) => {
      s.end(encode.cancelRequest(processId, secretKey), () => resolve());
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Runs one simple query of the gateway's own on a session just logged in, before any client byte is
 * relayed (the session limits an agent starts with, class 131), and returns its rows as text.
 * Rejects on an error, a timeout or a closed socket; the caller then ends the session.
 */
export function queryOnce(up: UpstreamSession, sql: string, timeoutMs: number): Promise<(string | null)[][]> {
  return new Promise((resolve, reject) => {
    const rows: (string | null)[][] = [];
    let error: string | undefined;
    const done = (err?: Error) => {
      clearTimeout(timer);
      up.socket.off('data', onData);
      up.socket.off('close', onClose);
      if (err) reject(err);
      else resolve(rows);
    };
    const drain = () => {
      for (let f = up.reader.next(); f; f = up.reader.next()) {
        if (f.type === BackendCode.DataRow)
          rows.push(decodeDataRow(f.body).map((c) => (c === null ? null : c.toString('utf8'))));
        else if (f.type === BackendCode.ErrorResponse) error = decodeErrorFields(f.body).M ?? 'error';
        else if (f.type === BackendCode.ReadyForQuery) {
          done(error === undefined ? undefined : new UpstreamError(`the gateway's query failed: ${error}`));
          return;
        }
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        up.reader.push(chunk);
        drain();
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const onClose = () => done(new UpstreamError('upstream closed the connection'));
    const timer = setTimeout(
      () => done(new UpstreamError("timed out waiting for the gateway's query")),
      timeoutMs,
    );
    timer.unref();
    up.socket.on('data', onData);
    up.socket.on('close', onClose);
    up.socket.write(encode.query(sql));
  });
}
