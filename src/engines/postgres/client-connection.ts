// One client connection to the PostgreSQL listener: startup, token authentication, upstream login,
// then the relay, where every statement becomes an Action that goes through the gate before it is
// forwarded. Refusals are answered in PostgreSQL's own terms (ErrorResponse, SQLSTATE 42501).

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { type SqlAction, sqlAction } from '../../core/action.js';
import type { Decision } from '../../core/decision.js';
import { ERROR_CODES, GatewayError, isGatewayError, type ErrorCode } from '../../core/errors.js';
import type { ResultMasker } from '../../core/masking.js';
import type { Logger } from '../../core/ports.js';
import {
  COPY_WITHHELD,
  cellsToMask,
  nulledCells,
  sqlMaskerOf,
  type ResolvedColumnRef,
} from '../../masking/result-masker.js';
import type { SqlClassifier, SqlStatement } from '../../core/sql-statement.js';
import type { Gate, GateSession } from '../../gate/gate.js';
import {
  BackendCode,
  FrameReader,
  FrontendCode,
  ProtocolError,
  SqlState,
  bindParamsAsText,
  decodeBind,
  decodeDataRow,
  decodeErrorFields,
  decodeExecute,
  decodeFunctionCall,
  decodeParse,
  decodePassword,
  decodeQuery,
  decodeReadyForQuery,
  decodeRowDescription,
  decodeStartup,
  decodeTarget,
  encode,
  rowsFromCommandTag,
  type ColumnDescription,
  type ErrorFields,
  type Frame,
  type StartupPacket,
  type TransactionStatus,
} from '../../wire/postgres/index.js';
import { ResponseTracker, type Run } from './response-tracker.js';
import {
  UpstreamError,
  cancelUpstream,
  openUpstream,
  type UpstreamSession,
  type UpstreamTarget,
} from './upstream-connection.js';
import { OutputBatch } from './output-batch.js';
import { catalogResolverFor } from './catalog-resolver.js';
import {
  RowArena,
  copyDataFrame,
  gatehouseNotice,
  maskDataRow,
  maskFieldsMessage,
  maskFunctionResult,
  maskNotification,
  maskParameterStatus,
} from './masked-messages.js';

/** onUpstreamFrame's answer when relaying must wait for a catalog lookup (docs/masking.md). */
const STALL = true;
/** Command tags after which column names may have changed (the catalog cache is refreshed). */
const DDL_TAG = /^(CREATE|ALTER|DROP|COMMENT|IMPORT) /;

export interface ListenerSettings {
  readonly secureContext?: tls.SecureContext;
  readonly requireTls: boolean;
  readonly authTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxMessageBytes: number;
}

export interface ConnectionDeps {
  readonly gate: Gate;
  readonly classifier: SqlClassifier;
  readonly logger: Logger;
  readonly settings: () => ListenerSettings;
  readonly resolveConnection: (name: string) => UpstreamTarget | undefined;
  readonly cancels: CancelRegistry;
}

/** Maps the BackendKeyData Gatehouse gives clients to live connections (55.2.7). */
export class CancelRegistry {
  private readonly byPid = new Map<number, { key: Buffer; conn: ClientConnection }>();

  register(conn: ClientConnection): { processId: number; secretKey: Buffer } {
    let processId: number;
    do processId = randomInt(1, 0x7fffffff);
    while (this.byPid.has(processId));
    const secretKey = randomBytes(4);
    this.byPid.set(processId, { key: secretKey, conn });
    return { processId, secretKey };
  }

  unregister(processId: number): void {
    this.byPid.delete(processId);
  }

  find(processId: number, secretKey: Buffer): ClientConnection | undefined {
    const e = this.byPid.get(processId);
    if (!e || e.key.length !== secretKey.length || !timingSafeEqual(e.key, secretKey)) return undefined;
    return e.conn;
  }
}

/** Startup parameters passed on to the upstream. Anything else (notably `options`, which can set
 * search_path or session_replication_role) is dropped: the client does not configure the upstream. */
const FORWARDED_STARTUP_PARAMS = new Set([
  'application_name',
  'client_encoding',
  'DateStyle',
  'datestyle',
  'TimeZone',
  'timezone',
  'IntervalStyle',
  'intervalstyle',
  'extra_float_digits',
]);

/** A query text the upstream parser always rejects: sent in place of a refused message so the
 * upstream ends the transaction or pipeline exactly as it would after any error. */
const POISON_QUERY = 'GATEHOUSE REFUSED';
/** A portal name that never exists: Execute on it fails without side effects. */
const POISON_PORTAL = '\u0001gatehouse-refused';

const ERROR_SQLSTATE: Partial<Record<ErrorCode, string>> = {
  [ERROR_CODES.DENIED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.REVIEW_REQUIRED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.RECORD_FAILED]: SqlState.InternalError,
  [ERROR_CODES.MASK_FAILED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.AUTH_FAILED]: SqlState.InvalidPassword,
  [ERROR_CODES.CONNECTION_FORBIDDEN]: SqlState.InvalidAuthorizationSpecification,
  [ERROR_CODES.CONNECTION_UNKNOWN]: SqlState.InvalidCatalogName,
  [ERROR_CODES.UPSTREAM_UNAVAILABLE]: SqlState.ConnectionFailure,
  [ERROR_CODES.PROTOCOL_VIOLATION]: SqlState.ProtocolViolation,
  [ERROR_CODES.LIMIT_EXCEEDED]: SqlState.ProgramLimitExceeded,
};

/** DataRow cells as the record shows them: text cells as text, binary cells as `\\x` hex. */
function cellsAsText(
  cells: readonly (Buffer | null)[],
  formats: readonly number[] | undefined,
): (string | null)[] {
  return cells.map((c, i) =>
    c === null ? null : (formats?.[i] ?? 0) === 1 ? `\\x${c.toString('hex')}` : c.toString('utf8'),
  );
}

function errorMessageFor(e: GatewayError): Buffer {
  return encode.errorResponse({
    severity: 'ERROR',
    code: ERROR_SQLSTATE[e.code] ?? SqlState.InternalError,
    message: e.message,
    ...(e.ruleId ? { detail: `Gatehouse rule: ${e.ruleId}` } : {}),
  });
}

interface PreparedInfo {
  readonly statement: SqlStatement;
  readonly decision: Decision;
}

interface PortalInfo extends PreparedInfo {
  readonly params: (string | null)[];
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export class ClientConnection {
  private socket: net.Socket;
  private readonly reader: FrameReader;
  private phase: 'startup' | 'password' | 'connecting' | 'relay' | 'closed' = 'startup';
  private tlsActive = false;
  private authTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private startupParams: Readonly<Record<string, string>> = {};
  private session: GateSession | undefined;
  private upstream: UpstreamSession | undefined;
  private target: UpstreamTarget | undefined;
  private key: { processId: number; secretKey: Buffer } | undefined;
  private tracker: ResponseTracker | undefined;
  private processing = false;
  /** After refusing an extended-protocol message: ignore client messages until Sync (55.2.3). */
  private skipUntilSync = false;
  private readonly prepared = new Map<string, PreparedInfo>();
  private readonly sqlPrepared = new Map<string, PreparedInfo>();
  private readonly portals = new Map<string, PortalInfo>();
  private abort = new AbortController();
  private txStatus: TransactionStatus = 'I';
  /** The most recent active masker: applied to what no statement owns (notifications, late notices). */
  private lastMasker: ResultMasker | undefined;
  /** Relaying waits for a catalog lookup (at a RowDescription); frames stay in the reader meanwhile. */
  private stalled = false;
  /** DDL ran in the current transaction: refresh the catalog cache again when it ends. */
  private ddlInTx = false;
  /** COPY TO STDOUT in progress under a masker. */
  private copyOut: { mode: 'scan' | 'withhold'; masker: ResultMasker; withheld: number } | undefined;
  /**
   * Resolved columns of described portals, per Bind, so an Execute that is not preceded by its own
   * Describe (the next batch after PortalSuspended) is masked with the right plan.
   */
  private readonly portalColumns = new Map<string, { bind: number; columns: ResolvedColumnRef[] }>();
  private readonly portalBinds = new Map<string, number>();
  private bindSeq = 0;
  private readonly runPortal = new WeakMap<Run, { portal: string; bind: number }>();
  /** Rewritten DataRows are written side by side here, so a batch of them leaves as one slice. */
  private readonly rowArena = new RowArena();
  readonly remote: string;

  constructor(
    socket: net.Socket,
    private readonly deps: ConnectionDeps,
    private readonly onClosed: (c: ClientConnection) => void,
  ) {
    this.socket = socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const s = deps.settings();
    this.reader = new FrameReader(s.maxMessageBytes, true);
    socket.setNoDelay(true);
    this.attach(socket);
    this.authTimer = setTimeout(
      () => this.fatal(SqlState.CannotConnectNow, 'authentication timed out'),
      s.authTimeoutMs,
    );
    this.authTimer.unref();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('error', (err) => this.close(`client socket error: ${err.message}`));
    socket.on('close', () => this.close('client disconnected'));
    socket.on('drain', () => {
      if (!this.stalled) this.upstream?.socket.resume();
    });
  }

  // ---------------------------------------------------------------- client → gateway

  private onClientData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.touch();
    this.reader.push(chunk);
    if (!this.processing) void this.pump();
  }

  /**
   * Handles client frames one at a time, extracting each only after the previous one is handled
   * (the startup packet changes the framing). The socket is paused while a gate call is pending.
   */
  private async pump(): Promise<void> {
    this.processing = true;
    try {
      while (!this.isClosed) {
        const f = this.reader.next();
        if (!f) break;
        const pending = this.handleFrame(f);
        if (pending) {
          this.socket.pause();
          await pending;
          if (!this.isClosed) this.socket.resume();
        }
      }
    } catch (e) {
      this.protocolFailure(e);
    } finally {
      this.processing = false;
    }
  }

  /** Returns a promise only when the frame needs asynchronous work (gate, upstream drain). */
  private handleFrame(f: Frame): Promise<void> | undefined {
    switch (this.phase) {
      case 'startup':
        return this.onStartup(decodeStartup(f.body));
      case 'password':
        if (f.type !== FrontendCode.Password) {
          this.fatal(SqlState.ProtocolViolation, 'expected a password message');
          return undefined;
        }
        return this.onPassword(decodePassword(f.body));
      case 'relay':
        return this.onRelayFrame(f);
      default:
        return undefined;
    }
  }

  private async onStartup(packet: StartupPacket): Promise<void> {
    const s = this.deps.settings();
    switch (packet.kind) {
      case 'ssl': {
        if (this.tlsActive || !s.secureContext) {
          this.socket.write('N');
          return;
        }
        // Bytes after SSLRequest and before the handshake would be plaintext injected into the TLS
        // session (CVE-2021-23214): refuse them.
        if (this.reader.buffered > 0) {
          this.fatal(SqlState.ProtocolViolation, 'unexpected data after SSLRequest');
          return;
        }
        this.socket.write('S');
        this.socket.removeAllListeners('data');
        this.socket.removeAllListeners('error');
        this.socket.removeAllListeners('close');
        this.socket.removeAllListeners('drain');
        const secure = new tls.TLSSocket(this.socket, { isServer: true, secureContext: s.secureContext });
        this.socket = secure;
        this.tlsActive = true;
        this.attach(secure);
        return;
      }
      case 'gssenc':
        // GSSAPI encryption is not offered (55.2.10): answer 'N' and let the client go on.
        this.socket.write('N');
        return;
      case 'cancel': {
        const target = this.deps.cancels.find(packet.processId, packet.secretKey);
        this.close('cancel request handled');
        if (target) await target.cancel();
        return;
      }
      case 'startup':
        break;
    }
    this.startupParams = packet.params;
    if (packet.minor > 0 || Object.keys(packet.params).some((k) => k.startsWith('_pq_.'))) {
      // We speak 3.0 only and recognise no protocol options (55.2.1).
      this.socket.write(
        encode.negotiateProtocolVersion(
          0,
          Object.keys(packet.params).filter((k) => k.startsWith('_pq_.')),
        ),
      );
    }
    if (s.requireTls && !this.tlsActive && !isLoopback(this.socket.remoteAddress)) {
      this.fatal(
        SqlState.InvalidAuthorizationSpecification,
        'Gatehouse requires TLS for connections from this address (use sslmode=require)',
      );
      return;
    }
    if (!packet.params.user) {
      this.fatal(
        SqlState.InvalidAuthorizationSpecification,
        'no PostgreSQL user name specified in startup packet',
      );
      return;
    }
    if (packet.params.replication && packet.params.replication !== 'false') {
      this.fatal(SqlState.FeatureNotSupported, 'replication connections are not supported through Gatehouse');
      return;
    }
    this.reader.startupDone();
    this.phase = 'password';
    // The client's password is its Gatehouse token; cleartext is safe only over TLS or loopback,
    // which `requireTls` enforces for everything else.
    this.socket.write(encode.authenticationCleartextPassword());
  }

  private async onPassword(token: string): Promise<void> {
    this.phase = 'connecting';
    const connection = this.startupParams.database || this.startupParams.user || '';
    let session: GateSession;
    try {
      session = await this.deps.gate.openSession({
        token,
        connection,
        protocol: 'postgres',
        clientAddress: this.remote,
        clientUser: this.startupParams.user,
        application: this.startupParams.application_name,
      });
    } catch (e) {
      const ge = isGatewayError(e) ? e : new GatewayError(ERROR_CODES.INTERNAL, 'authentication failed');
      if (!isGatewayError(e))
        this.deps.logger.error({ err: String(e), client: this.remote }, 'authentication error');
      const code =
        ge.code === ERROR_CODES.AUTH_FAILED
          ? SqlState.InvalidPassword
          : ge.code === ERROR_CODES.LIMIT_EXCEEDED
            ? SqlState.TooManyConnections
            : (ERROR_SQLSTATE[ge.code] ?? SqlState.InvalidAuthorizationSpecification);
      this.deps.logger.info({ client: this.remote, connection, code: ge.code }, 'session refused');
      this.fatal(code, `Gatehouse: ${ge.message}`);
      return;
    }
    this.session = session;
    // A revoked or expired token (or an admin) ends the session: FATAL, like a terminated backend.
    session.ended.addEventListener('abort', () =>
      this.fatal(
        SqlState.InvalidAuthorizationSpecification,
        session.endReason
          ? `Gatehouse ended this session: ${session.endReason}`
          : 'Gatehouse ended this session',
      ),
    );
    const target = this.deps.resolveConnection(connection);
    if (!target) {
      await session.close('unknown connection');
      this.fatal(SqlState.InvalidCatalogName, `Gatehouse: connection "${connection}" is not configured`);
      return;
    }
    this.target = target;
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.startupParams))
      if (FORWARDED_STARTUP_PARAMS.has(k)) forwarded[k] = v;
    let upstream: UpstreamSession;
    try {
      upstream = await openUpstream(target, forwarded, this.deps.settings().maxMessageBytes);
    } catch (e) {
      const msg = e instanceof UpstreamError ? e.message : 'upstream unavailable';
      this.deps.logger.warn({ client: this.remote, connection, err: msg }, 'upstream login failed');
      await session.close(`upstream unavailable: ${msg}`);
      this.fatal(SqlState.ConnectionFailure, `Gatehouse: could not open connection "${connection}": ${msg}`);
      return;
    }
    if (this.isClosed) {
      upstream.socket.destroy();
      return;
    }
    this.upstream = upstream;
    this.tracker = new ResponseTracker((run) => this.settleNotExecuted(run));
    this.key = this.deps.cancels.register(this);
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    const hello: Buffer[] = [encode.authenticationOk()];
    for (const [k, v] of upstream.parameters) hello.push(encode.parameterStatus(k, v));
    hello.push(
      encode.backendKeyData(this.key.processId, this.key.secretKey),
      encode.readyForQuery(upstream.transactionStatus),
    );
    this.txStatus = upstream.transactionStatus;
    this.phase = 'relay';
    this.socket.write(Buffer.concat(hello));
    upstream.socket.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.socket.on('error', (err) => this.close(`upstream error: ${err.message}`));
    upstream.socket.on('close', () => this.close('upstream closed'));
    upstream.socket.on('drain', () => this.socket.resume());
    this.deps.logger.info(
      { session: session.id, subject: session.identity.subject, connection, client: this.remote },
      'session started',
    );
    this.touch();
  }

  private onRelayFrame(f: Frame): Promise<void> | undefined {
    if (this.skipUntilSync && f.type !== FrontendCode.Sync) return undefined;
    switch (f.type) {
      case FrontendCode.Query:
        return this.onQuery(decodeQuery(f.body), f.raw);
      case FrontendCode.Parse:
        return this.onParse(f);
      case FrontendCode.Bind:
        return this.onBind(f);
      case FrontendCode.Execute:
        return this.onExecute(f);
      case FrontendCode.Describe:
        this.tracker!.push({ kind: 'describe' });
        return this.forward(f.raw);
      case FrontendCode.Close: {
        const t = decodeTarget(f.body);
        if (t.target === 'S') this.prepared.delete(t.name);
        else {
          this.portals.delete(t.name);
          this.portalBinds.delete(t.name);
          this.portalColumns.delete(t.name);
        }
        this.tracker!.push({ kind: 'close' });
        return this.forward(f.raw);
      }
      case FrontendCode.Sync:
        this.skipUntilSync = false;
        this.tracker!.push({ kind: 'sync' });
        return this.forward(f.raw);
      case FrontendCode.Flush:
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        return this.forward(f.raw);
      case FrontendCode.FunctionCall:
        return this.onFunctionCall(f);
      case FrontendCode.Terminate:
        this.upstream?.socket.end(f.raw);
        this.close('client terminated');
        return undefined;
      default:
        throw new ProtocolError(`unexpected message type ${JSON.stringify(String.fromCharCode(f.type))}`);
    }
  }

  private sqlAction(statement: SqlStatement, via: SqlAction['via'], params?: (string | null)[]): SqlAction {
    return sqlAction({
      connection: this.session!.connection,
      via,
      statement,
      ...(params ? { params } : {}),
    });
  }

  private async onQuery(text: string, raw: Buffer): Promise<void> {
    const session = this.session!;
    const classification = this.deps.classifier.classify(text);
    const runs: Run[] = [];
    let refusal: GatewayError | undefined;
    for (const statement of classification.statements) {
      if (statement.kind === 'execute' && !this.sqlPrepared.has(statement.preparedName ?? '')) {
        // EXECUTE runs what PREPARE decided; a name Gatehouse never saw prepared is refused.
        refusal = new GatewayError(
          ERROR_CODES.DENIED,
          `EXECUTE ${statement.preparedName ?? ''} is refused: that prepared statement was not prepared through Gatehouse in this session`,
          { ruleId: 'unknown-prepared-statement' },
        );
        break;
      }
      const admission = await session.admit(this.sqlAction(statement, 'simple-query'), {
        signal: this.abort.signal,
      });
      if (!admission.allowed) {
        refusal = admission.error;
        break;
      }
      runs.push({ admission, rows: 0 });
      this.noteMasker(admission.masker);
      this.trackPrepare(statement, admission.decision);
    }
    if (this.isClosed) return;
    if (refusal) {
      for (const run of runs) this.settleNotExecuted(run);
      this.tracker!.push({ kind: 'query', runs: [], index: 0, refusal });
      return this.forward(encode.query(POISON_QUERY));
    }
    this.tracker!.push({ kind: 'query', runs, index: 0 });
    return this.forward(raw);
  }

  /** SQL-level PREPARE/DEALLOCATE: remember what EXECUTE may run (it reuses the PREPARE decision). */
  private trackPrepare(statement: SqlStatement, decision: Decision): void {
    const name = statement.preparedName;
    if (!name) return;
    if (statement.kind === 'prepare') this.sqlPrepared.set(name, { statement, decision });
    else if (statement.kind === 'deallocate') {
      if (name === '*') this.sqlPrepared.clear();
      else this.sqlPrepared.delete(name);
    }
  }

  private async onParse(f: Frame): Promise<void> {
    const msg = decodeParse(f.body);
    const classification = this.deps.classifier.classify(msg.text);
    const session = this.session!;
    let statement: SqlStatement;
    if (classification.statements.length > 1) {
      // PostgreSQL refuses this too (42601); refusing here keeps the decision one-to-one.
      return this.refuseExtended(
        new GatewayError(ERROR_CODES.DENIED, 'cannot insert multiple commands into a prepared statement'),
      );
    } else if (classification.statements.length === 1) {
      statement = classification.statements[0]!;
    } else {
      statement = { text: '', kind: 'empty', categories: [], tables: [], functions: [] };
    }
    // Decide at Parse; Bind/Execute of this statement reuse the decision.
    const decision: Decision =
      statement.kind === 'empty'
        ? { effect: 'allow', ruleId: 'empty-statement', obligations: {} }
        : session.decide(this.sqlAction(statement, 'parse'));
    if (decision.effect === 'deny') {
      const admission = await session.admit(this.sqlAction(statement, 'parse'), { decision });
      return this.refuseExtended(
        admission.allowed ? new GatewayError(ERROR_CODES.DENIED, decision.message) : admission.error,
      );
    }
    this.prepared.set(msg.name, { statement, decision });
    this.tracker!.push({ kind: 'parse' });
    return this.forward(f.raw);
  }

  private onBind(f: Frame): Promise<void> | undefined {
    const msg = decodeBind(f.body);
    const prep = this.prepared.get(msg.statement) ?? this.sqlPrepared.get(msg.statement);
    if (!prep) {
      return this.refuseExtended(
        new GatewayError(
          ERROR_CODES.DENIED,
          `prepared statement "${msg.statement}" was not prepared through Gatehouse in this session`,
        ),
      );
    }
    this.portals.set(msg.portal, { ...prep, params: bindParamsAsText(msg) });
    if (this.portalBinds.size > 1000) this.portalBinds.clear();
    this.portalBinds.set(msg.portal, ++this.bindSeq);
    this.tracker!.push({ kind: 'bind' });
    return this.forward(f.raw);
  }

  private async onExecute(f: Frame): Promise<void> {
    const msg = decodeExecute(f.body);
    const portal = this.portals.get(msg.portal);
    if (!portal) {
      return this.refuseExtended(
        new GatewayError(
          ERROR_CODES.DENIED,
          `portal "${msg.portal}" was not bound through Gatehouse in this session`,
        ),
      );
    }
    const admission = await this.session!.admit(this.sqlAction(portal.statement, 'parse', portal.params), {
      decision: portal.decision,
      signal: this.abort.signal,
    });
    if (this.isClosed) return;
    if (!admission.allowed) return this.refuseExtended(admission.error);
    this.trackPrepare(portal.statement, admission.decision);
    this.noteMasker(admission.masker);
    const run: Run = { admission, rows: 0 };
    this.runPortal.set(run, { portal: msg.portal, bind: this.portalBinds.get(msg.portal) ?? 0 });
    this.tracker!.push({ kind: 'execute', run });
    return this.forward(f.raw);
  }

  private async onFunctionCall(f: Frame): Promise<void> {
    const msg = decodeFunctionCall(f.body);
    // The fast-path call names a function only by OID; it is classified as `unknown` (fail closed)
    // so only a policy that explicitly allows unknown statements lets it through.
    const statement: SqlStatement = {
      text: `/* fast-path function call */ oid ${msg.functionOid}`,
      kind: 'function call',
      categories: ['unknown'],
      tables: [],
      functions: [`oid:${msg.functionOid}`],
    };
    const admission = await this.session!.admit(this.sqlAction(statement, 'function-call'), {
      signal: this.abort.signal,
    });
    if (this.isClosed) return;
    if (!admission.allowed) {
      this.tracker!.push({ kind: 'query', runs: [], index: 0, refusal: admission.error });
      return this.forward(encode.query(POISON_QUERY));
    }
    this.noteMasker(admission.masker);
    this.tracker!.push({ kind: 'query', runs: [{ admission, rows: 0 }], index: 0 });
    return this.forward(f.raw);
  }

  /** Refuses an extended-protocol message: the upstream sees a failing Execute, so it skips to Sync
   * exactly as after any error, and the client gets our ErrorResponse in that position. */
  private refuseExtended(refusal: GatewayError): Promise<void> | undefined {
    this.skipUntilSync = true;
    this.tracker!.push({ kind: 'refusal', refusal });
    const poison = Buffer.concat([
      Buffer.from('E'),
      Buffer.alloc(4),
      Buffer.from(`${POISON_PORTAL}\0`),
      Buffer.alloc(4),
    ]);
    poison.writeInt32BE(poison.length - 1, 1);
    return this.forward(poison);
  }

  private forward(buf: Buffer): Promise<void> | undefined {
    const up = this.upstream;
    if (!up || this.phase === 'closed') return undefined;
    if (up.socket.write(buf)) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        up.socket.off('drain', done);
        up.socket.off('close', done);
        resolve();
      };
      up.socket.on('drain', done);
      up.socket.on('close', done);
    });
  }

  // ---------------------------------------------------------------- upstream → client

  private readonly out = new OutputBatch();

  private onUpstreamData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.upstream!.reader.push(chunk);
    } catch (e) {
      this.upstreamFailure(e);
      return;
    }
    if (!this.stalled) this.drainUpstream();
  }

  /** Relays every complete upstream frame (until a stall); false when the client is not keeping up. */
  private drainUpstream(): boolean {
    const up = this.upstream!;
    try {
      for (let f = up.reader.next(); f; f = up.reader.next()) if (this.onUpstreamFrame(f) === STALL) break;
    } catch (e) {
      this.upstreamFailure(e);
      return false;
    }
    const data = this.out.take();
    if (data && !this.socket.write(data)) {
      up.socket.pause();
      return false;
    }
    return true;
  }

  private upstreamFailure(e: unknown): void {
    if (isGatewayError(e) && e.code === ERROR_CODES.MASK_FAILED) {
      // Fail closed: what cannot be masked is not sent, and the session cannot go on in step.
      this.deps.logger.warn({ session: this.session?.id, err: e.message }, 'masking failed; session closed');
      this.fatal(SqlState.InsufficientPrivilege, `Gatehouse: ${e.message}`);
      return;
    }
    this.deps.logger.error({ session: this.session?.id, err: String(e) }, 'invalid message from upstream');
    this.fatal(SqlState.ProtocolViolation, 'Gatehouse received an invalid message from the upstream server');
  }

  /** Pauses relaying until `wait` settles, then runs `then` and relays what queued up meanwhile. */
  private stallUntil(wait: Promise<void>, then: () => void): void {
    const up = this.upstream!;
    this.stalled = true;
    up.socket.pause();
    void wait.then(() => {
      if (this.isClosed) return;
      this.stalled = false;
      try {
        then();
      } catch (e) {
        this.upstreamFailure(e);
        return;
      }
      if (this.drainUpstream() && !this.stalled && !this.isClosed) up.socket.resume();
    });
  }

  private noteMasker(m: ResultMasker): void {
    if (m.active) this.lastMasker = m;
  }

  /** The masker for a message of the current statement, or for one no statement owns. */
  private textMasker(): ResultMasker | undefined {
    const run = this.currentRun();
    if (run) return run.admission.masker.active ? run.admission.masker : undefined;
    return this.lastMasker;
  }

  private maskedFields(
    type: 'E' | 'N',
    f: Frame,
    masker: ResultMasker | undefined,
  ): { raw: Buffer; fields?: ErrorFields } {
    return masker?.active ? maskFieldsMessage(type, f.raw, f.body, masker) : { raw: f.raw };
  }

  /**
   * RowDescription of a masked result: the row masker needs each column's origin; when the catalog
   * cache lacks a table, relaying waits for one lookup (the result's rows stay in the reader).
   */
  private onMaskedRowDescription(run: Run, columns: ColumnDescription[], f: Frame): boolean {
    const masker = run.admission.masker;
    const apply = (resolved: readonly ResolvedColumnRef[]) => {
      run.rowMasker = masker.forColumns(resolved);
      run.formats = resolved.map((c) => c.format);
      run.admission.sampler?.columns(resolved.map((c) => c.name));
      const portal = this.runPortal.get(run);
      if (portal !== undefined) {
        if (this.portalColumns.size > 1000) this.portalColumns.clear();
        this.portalColumns.set(portal.portal, { bind: portal.bind, columns: [...resolved] });
      }
      this.out.add(f.raw);
    };
    if (!sqlMaskerOf(masker)?.needsColumnSources || !this.target) {
      apply(columns);
      return false;
    }
    const catalog = catalogResolverFor(this.target, this.deps.settings().maxMessageBytes);
    const missing = catalog.missing(columns);
    if (missing.length === 0) {
      apply(catalog.resolve(columns));
      return false;
    }
    this.stallUntil(catalog.load(missing), () => apply(catalog.resolve(columns)));
    return STALL;
  }

  /** A run of a portal described earlier under the same Bind (Execute after PortalSuspended). */
  private planFromPortal(run: Run): void {
    const p = this.runPortal.get(run);
    const d = p && this.portalColumns.get(p.portal);
    if (!p || !d || d.bind !== p.bind) return;
    run.formats = d.columns.map((c) => c.format);
    run.rowMasker = run.admission.masker.forColumns(d.columns);
  }

  private onCommandTag(f: Frame): void {
    if (!this.target) return;
    const tag = f.body.toString('latin1', 0, Math.max(0, f.body.length - 1));
    const ddl = DDL_TAG.test(tag);
    if (ddl) this.ddlInTx = true;
    else if (!/^(COMMIT|ROLLBACK|END|PREPARE TRANSACTION)/.test(tag) || !this.ddlInTx) return;
    else this.ddlInTx = false;
    catalogResolverFor(this.target, this.deps.settings().maxMessageBytes).invalidate();
  }

  private onCopyOut(f: Frame): void {
    const masker = this.currentRun()?.admission.masker;
    this.copyOut = undefined;
    if (masker?.active) {
      const mode = sqlMaskerOf(masker)?.copyOutMode(f.body[0] === 1) ?? 'withhold';
      this.copyOut = { mode, masker, withheld: 0 };
    }
    this.out.add(f.raw);
  }

  private onCopyData(f: Frame): void {
    const copy = this.copyOut;
    if (!copy) {
      this.out.add(f.raw);
      return;
    }
    if (copy.mode === 'withhold') {
      copy.withheld++;
      return;
    }
    // PostgreSQL sends one row per CopyData in COPY TO; each is scanned as text.
    const masked = copy.masker.maskText(f.body.toString('utf8'));
    this.out.add(masked === undefined ? f.raw : copyDataFrame(Buffer.from(masked, 'utf8')));
  }

  private endCopyOut(): void {
    const copy = this.copyOut;
    this.copyOut = undefined;
    if (!copy || copy.withheld === 0) return;
    sqlMaskerOf(copy.masker)?.countWithheld(COPY_WITHHELD, copy.withheld);
    this.out.add(
      gatehouseNotice(
        `Gatehouse withheld ${copy.withheld} rows of COPY output: masking applies to this data and COPY cannot ` +
          'carry masked columns (binary format, or a column rule covers a table it reads). Use SELECT instead.',
      ),
    );
  }

  private currentRun(): Run | undefined {
    const e = this.tracker!.peek();
    if (!e) return undefined;
    if (e.kind === 'execute') return e.run;
    if (e.kind === 'query') return e.runs[e.index];
    return undefined;
  }

  private onUpstreamFrame(f: Frame): boolean | void {
    const tracker = this.tracker!;
    switch (f.type) {
      case BackendCode.DataRow: {
        const run = this.currentRun();
        let raw = f.raw;
        if (run) {
          run.rows++;
          if (run.admission.masker.active) {
            if (run.formats === undefined) this.planFromPortal(run);
            if (run.formats === undefined) {
              throw new GatewayError(
                ERROR_CODES.MASK_FAILED,
                'rows arrived for a result whose columns were not described, so they cannot be masked (send Describe before Execute)',
              );
            }
            // The mask step: only cells a rule or detector can hit are decoded; the row is rebuilt once.
            if (run.rowMasker)
              raw = maskDataRow(f.raw, run.rowMasker, cellsToMask(run.rowMasker), this.rowArena) ?? f.raw;
          }
          // The record sees the row as the client does: after masking.
          const sampler = run.admission.sampler;
          if (sampler?.wants) sampler.row(cellsAsText(decodeDataRow(raw.subarray(5)), run.formats));
        }
        this.out.add(raw);
        return;
      }
      case BackendCode.RowDescription: {
        const head = tracker.peek();
        if (head?.kind === 'describe') tracker.shift();
        const run = this.currentRun();
        if (run?.admission.masker.active)
          return this.onMaskedRowDescription(run, decodeRowDescription(f.body), f);
        if (run?.admission.sampler) {
          const columns = decodeRowDescription(f.body);
          run.formats = columns.map((c) => c.format);
          run.admission.sampler.columns(columns.map((c) => c.name));
        }
        this.out.add(f.raw);
        return;
      }
      case BackendCode.NoData: {
        if (tracker.peek()?.kind === 'describe') tracker.shift();
        this.out.add(f.raw);
        return;
      }
      case BackendCode.ParseComplete:
      case BackendCode.BindComplete:
      case BackendCode.CloseComplete:
        tracker.shift();
        this.out.add(f.raw);
        return;
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
      case BackendCode.FunctionCallResponse: {
        const head = tracker.peek();
        const run = this.currentRun();
        let raw = f.raw;
        if (f.type === BackendCode.CommandComplete) {
          this.endCopyOut();
          this.onCommandTag(f);
        }
        if (run?.admission.masker.active) {
          if (f.type === BackendCode.FunctionCallResponse)
            raw = maskFunctionResult(f.body, run.admission.masker) ?? raw;
          const nulled = run.rowMasker ? nulledCells(run.rowMasker) : 0;
          if (nulled > 0 && f.type === BackendCode.CommandComplete) {
            this.out.add(
              gatehouseNotice(
                `Gatehouse masked ${nulled} values as NULL: their column type (a number, or binary format) cannot hold a masked value.`,
              ),
            );
          }
        }
        if (run) {
          const rows =
            f.type === BackendCode.CommandComplete ? (rowsFromCommandTag(f.body) ?? run.rows) : run.rows;
          this.session!.settle(run.admission, { rows });
        }
        if (head?.kind === 'execute') tracker.shift();
        else if (head?.kind === 'query') head.index++;
        this.out.add(raw);
        return;
      }
      case BackendCode.ErrorResponse:
        this.onUpstreamError(f);
        return;
      case BackendCode.ReadyForQuery: {
        const head = tracker.shift();
        if (head?.kind === 'query')
          for (const run of head.runs.slice(head.index)) this.settleNotExecuted(run);
        this.txStatus = decodeReadyForQuery(f.body);
        this.out.add(f.raw);
        return;
      }
      case BackendCode.NoticeResponse:
        this.out.add(this.maskedFields('N', f, this.textMasker()).raw);
        return;
      case BackendCode.NotificationResponse:
        // Not tied to a statement: masked with the session's most recent masker.
        this.out.add((this.lastMasker && maskNotification(f.body, this.lastMasker)) ?? f.raw);
        return;
      case BackendCode.ParameterStatus:
        this.out.add((this.lastMasker && maskParameterStatus(f.body, this.lastMasker)) ?? f.raw);
        return;
      case BackendCode.CopyOutResponse:
        this.onCopyOut(f);
        return;
      case BackendCode.CopyData:
        this.onCopyData(f);
        return;
      case BackendCode.CopyDone:
        this.endCopyOut();
        this.out.add(f.raw);
        return;
      default:
        // ParameterDescription, CopyInResponse: relayed in order; they do not move the tracker.
        this.out.add(f.raw);
    }
  }

  private onUpstreamError(f: Frame): void {
    const tracker = this.tracker!;
    const head = tracker.peek();
    this.endCopyOut();
    if (!head) {
      // Not tied to a request: e.g. FATAL on admin shutdown.
      this.out.add(this.maskedFields('E', f, this.lastMasker).raw);
      return;
    }
    if (head.kind === 'refusal') {
      // The upstream's answer to our poison: replace it with the refusal, then skip to Sync.
      tracker.shift();
      tracker.skipToSync();
      this.out.add(errorMessageFor(head.refusal));
      return;
    }
    if (head.kind === 'query') {
      if (head.refusal) {
        this.out.add(errorMessageFor(head.refusal));
        return;
      }
      const run = head.runs[head.index];
      // The error is masked before it is recorded or sent (`invalid input syntax …: "<a card>"`).
      const masked = this.maskedFields('E', f, run ? run.admission.masker : this.lastMasker);
      if (run) this.settleError(run, masked.fields ?? decodeErrorFields(f.body));
      head.index++;
      // Statements after an error in a simple Query are not executed; ReadyForQuery settles them.
      for (const r of head.runs.splice(head.index)) this.settleNotExecuted(r);
      this.out.add(masked.raw);
      return;
    }
    if (head.kind === 'sync') {
      this.out.add(this.maskedFields('E', f, this.lastMasker).raw);
      return;
    }
    tracker.shift();
    const masked = this.maskedFields(
      'E',
      f,
      head.kind === 'execute' ? head.run.admission.masker : this.lastMasker,
    );
    if (head.kind === 'execute') this.settleError(head.run, masked.fields ?? decodeErrorFields(f.body));
    tracker.skipToSync();
    this.out.add(masked.raw);
  }

  private settleError(run: Run, fields: ErrorFields): void {
    this.session!.settle(run.admission, {
      rows: run.rows,
      error: { code: fields.C ?? 'XX000', message: fields.M ?? '' },
    });
  }

  private settleNotExecuted(run: Run): void {
    this.session?.settle(run.admission, {
      rows: 0,
      error: { code: 'not-executed', message: 'not executed: an earlier error ended the request' },
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** CancelRequest for this connection: withdraw any held approval and cancel the upstream query. */
  async cancel(): Promise<void> {
    this.abort.abort();
    this.abort = new AbortController();
    const up = this.upstream;
    if (up && this.target) {
      await cancelUpstream(this.target, up.processId, up.secretKey).catch((err: unknown) =>
        this.deps.logger.warn({ session: this.session?.id, err: String(err) }, 'upstream cancel failed'),
      );
    }
  }

  private touch(): void {
    const idle = this.deps.settings().idleTimeoutMs;
    if (idle <= 0 || this.phase !== 'relay') return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(
        () => this.fatal(SqlState.IdleSessionTimeout, 'Gatehouse: session closed after being idle'),
        idle,
      );
      this.idleTimer.unref();
    }
  }

  private protocolFailure(e: unknown): void {
    if (e instanceof ProtocolError) {
      this.deps.logger.warn({ client: this.remote, err: e.message }, 'protocol violation');
      this.fatal(
        e.limit ? SqlState.ProgramLimitExceeded : SqlState.ProtocolViolation,
        `Gatehouse: ${e.message}`,
      );
    } else {
      this.deps.logger.error(
        { client: this.remote, err: e instanceof Error ? e.stack : String(e) },
        'connection failed',
      );
      this.fatal(SqlState.InternalError, 'Gatehouse: internal error');
    }
  }

  /** Sends a FATAL ErrorResponse and closes the connection. */
  fatal(code: string, message: string): void {
    if (this.phase === 'closed') return;
    const canSpeak = this.phase !== 'startup' || this.reader.buffered >= 0;
    if (canSpeak && !this.socket.destroyed)
      this.socket.end(encode.errorResponse({ severity: 'FATAL', code, message }));
    this.close(message);
  }

  close(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    clearTimeout(this.idleTimer);
    this.abort.abort();
    if (this.key) this.deps.cancels.unregister(this.key.processId);
    const up = this.upstream;
    if (up && !up.socket.destroyed) {
      up.socket.end(encode.terminate());
      up.socket.destroySoon?.();
    }
    if (this.tracker) for (const run of this.tracker.drain()) this.settleNotExecuted(run);
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    void this.session?.close(reason);
    this.onClosed(this);
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  get transactionStatus(): TransactionStatus {
    return this.txStatus;
  }
}
