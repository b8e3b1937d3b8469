// One client connection to the PostgreSQL listener: startup, token authentication, upstream login,
// then the relay, where every statement becomes an Action that goes through the gate before it is
// forwarded. Gatehouse owns the protocol state (protocol-state.ts), pins the settings that decide
// how the server reads a statement, and forwards exactly what it decided. Refusals are answered in
// PostgreSQL's own terms (ErrorResponse with the SQLSTATE PostgreSQL would use, or 42501 for policy).

import { isUtf8 } from 'node:buffer';
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { sqlAction, type RequestBody, type SqlAction } from '../../core/action.js';
import type { Decision } from '../../core/decision.js';
import type { HeldNotice, HoldSettledNotice } from '../../core/held-notice.js';
import { principalKey } from '../../core/identity.js';
import { ERROR_CODES, GatewayError, isGatewayError, type ErrorCode } from '../../core/errors.js';
import type { PreauthSignals } from '../../core/preauth.js';
import type { Logger } from '../../core/ports.js';
import {
  SQL_CATEGORIES,
  type SqlCategory,
  type SqlClassification,
  type SqlClassifier,
  type SqlStatement,
} from '../../core/sql-statement.js';
import type { Admission, Gate, GateSession } from '../../gate/gate.js';
import {
  firstPinViolation,
  parsePgBool,
  pinnedSetting,
  PINNED_SETTINGS,
} from '../../sql/postgres/pinned-settings.js';
import { isMeaningSetting } from '../../sql/postgres/setting-risks.js';
import {
  firstLimitViolation,
  isSessionLimit,
  limitValue,
  limitViolation,
  SESSION_LIMITS_SQL,
} from '../../sql/postgres/session-limits.js';
import {
  BackendCode,
  FrameReader,
  MAX_AUTH_MESSAGE_BYTES,
  EXTENDED_BATCH_MESSAGES,
  FrontendCode,
  ProtocolError,
  SqlState,
  bindClipsParams,
  bindParamsAsText,
  decodeBind,
  decodeErrorFields,
  decodeExecute,
  decodeFunctionCall,
  decodeParse,
  functionCallAsBind,
  decodePassword,
  decodeStartup,
  decodeTarget,
  encode,
  type ColumnDescription,
  type Frame,
  type StartupPacket,
  type TransactionStatus,
} from '../../wire/postgres/index.js';
import {
  ProtocolState,
  RESERVED_PREFIX,
  newPendingObjects,
  notePending,
  ANY_CUSTOM_SETTING,
  changesSessionObjects,
  hidesCode,
  runsHiddenCode,
  strictest,
  usesSessionModel,
  usesSessionObjects,
  type PendingObjects,
  type PortalEntry,
  type StateLimits,
  type StatementEntry,
  addCreates,
  NO_CREATES_IN_FLIGHT,
  type CreatesInFlight,
} from './protocol-state.js';
import {
  MaskingGap,
  NOT_EXECUTED,
  NOT_EXECUTED_SIBLING_REFUSED,
  OUTCOME_UNKNOWN,
  ResultRelay,
  STALL,
  type RelayHost,
} from './result-relay.js';
import type { StatementLineage } from '../../core/column-lineage.js';
import {
  statisticsFinding,
  statisticsRelations,
  type LineageFinding,
  type LineageRules,
} from '../../masking/lineage-plan.js';
import { isResourceFailure } from '../../masking/failure-budget.js';
import type { NamedSources } from '../../masking/builtin-rules.js';
import { sqlMaskerOf } from '../../masking/result-masker.js';
import { catalogResolverFor, type OverloadedNames, type ReachSeed } from './catalog-resolver.js';
import { asUserCode, mayBeOverloaded, overloadedCalls } from './overloaded-builtins.js';
import {
  SERVER_FILE_IMPORT_OIDS,
  SERVER_FILE_REASON,
  UNAVAILABLE,
  type CatalogRelation,
} from '../../sql/postgres/column-lineage.js';
import {
  COPY_REVIEW_ALONE_RULE,
  COPY_REVIEW_LIMIT_RULE,
  CopyInRows,
  MAX_REVIEWED_COPY_BYTES,
  REVIEWED_COPY_NOT_ALONE,
  copyInOf,
  reviewedCopyTooLarge,
  type CopyIn,
} from './copy-in-review.js';
import {
  COPY_DATA_EVENT,
  COPY_END_EVENT,
  CopyPart,
  CopyTarget,
  copyFailMessage,
  copyParts,
  isCopyFromStdin,
} from './copy-in-record.js';
import {
  DEFAULT_LINEAGE_SETTINGS,
  lineageDecision,
  lineageMatters,
  lineageOf,
  TransactionReads,
  untraceable,
  type LineageDeps,
} from './statement-lineage.js';
import { ResponseTracker, type Expected, type QueryRun, type Run } from './response-tracker.js';
import {
  ACCESS_MODE_STEPS,
  isPlainBegin,
  needsReadWrite,
  READ_ONLY_SETTING,
  ReadOnlyReads,
  readOnlyReadsApply,
  readWriteViolation,
  type ModeStep,
} from './read-only-reads.js';
import { asSetStatement, startupSettings } from './startup-parameters.js';
import {
  CONNECTION_CHECK_SETTING,
  CONNECTION_CHECK_VALUE,
  acceptsConnectionCheck,
  connectionCheckViolation,
  refusedConnectionCheck,
} from './connection-check.js';
import { statementsAtLeast } from './statement-count.js';
import { serverMajor } from '../../sql/postgres/server-versions.js';
import { identifierReadOtherwise, readsIdentifiersAsParser } from '../../sql/postgres/server-encoding.js';
import { sharedParserRuntime } from '../../sql/postgres/postgres-classifier.js';
import { describeText } from '../../sql/postgres/describe-text.js';
import type { PgParserRuntime } from '../../sql/postgres/pg-parser-runtime.js';
import {
  UpstreamError,
  cancelUpstream,
  loginFor,
  openUpstream,
  queryOnce,
  type UpstreamSession,
  type UpstreamTarget,
} from './upstream-connection.js';
import { CappedRefusals } from '../refusal-cap.js';
import type { PrincipalBytes } from '../principal-bytes.js';
import { stallMessage, watchWriteStall } from '../write-stall.js';

export interface ListenerSettings {
  readonly secureContext?: tls.SecureContext;
  readonly requireTls: boolean;
  readonly authTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** A client that has read none of its waiting output for this long is closed (write-stall.ts). */
  readonly writeStallTimeoutMs: number;
  readonly maxMessageBytes: number;
  /**
   * Statements one simple Query may hold: each is decided, admitted and recorded on the event loop
   * before any is forwarded, so a longer Query is refused whole (docs/security.md, class 169).
   */
  readonly maxStatementsPerQuery: number;
  /** Prepared statements, their text and portals a session may hold. */
  readonly state: StateLimits;
  /**
   * Bytes of messages one principal's sessions may hold at once, counted together: messages under
   * way and messages being handled (a Bind waiting for its approval) of PRINCIPAL_COUNTED_BYTES or more
   * (docs/security.md class 215).
   */
  readonly messageBytesPerPrincipal: number;
}

export interface ConnectionDeps {
  readonly gate: Gate;
  readonly classifier: SqlClassifier;
  readonly logger: Logger;
  readonly settings: () => ListenerSettings;
  readonly resolveConnection: (name: string) => UpstreamTarget | undefined;
  readonly cancels: CancelRegistry;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  /** What each principal's sessions hold of their messages (class 215); shared by the listener's sessions. */
  readonly principalBytes?: PrincipalBytes;
  /** Told once the client's token is accepted: the connection no longer counts as unauthenticated. */
  readonly authenticated?: () => void;
  /** Column lineage (docs/masking.md); without it, masking follows RowDescription origins only. */
  readonly lineage?: LineageDeps;
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

/**
 * Sent in place of a refused simple Query or FunctionCall when the upstream has something to undo
 * (an open transaction, or work in flight): it always fails (a column reference without FROM), has
 * no side effects, and says in the server log what happened. The upstream then ends the transaction
 * or the request exactly as after any error, and Gatehouse puts its own ErrorResponse in that place.
 * PostgreSQL enters the failed-transaction state only through an error, and logs every error; when
 * there is nothing to undo, Gatehouse answers alone and the upstream sees nothing (answeredAlone).
 */
const POISON_QUERY = 'SELECT "gatehouse refused this statement"';
/** Statements that may change the catalog column lineage is read from. */
/** What each view definition does (class 130), by its text: classified once per process. */
const VIEW_RUNS = new Map<string, { secrets: boolean; code: boolean; relations: string[] } | 'unknown'>();

const CATALOG_CHANGING: ReadonlySet<SqlCategory> = new Set([
  'ddl-create',
  'ddl-alter',
  'ddl-drop',
  'procedural',
  'unknown',
  'admin',
]);
/** Most bytes of a batch held back before they go upstream anyway (forward()). */
const CORK_LIMIT = 64 * 1024;
/**
 * What the server answered in the current transaction (endTransactionLog), in bounded space: the ids
 * of the statements it ran whose effects share the transaction's outcome and of those a ROLLBACK TO
 * SAVEPOINT undid (the first MAX_TRANSACTION_IDS of both; the rest are counted), whether a BEGIN
 * completed, the tag that ended it, whether any error came, and the savepoints open, as the server's
 * answers to SAVEPOINT, RELEASE and ROLLBACK TO changed them.
 */
interface TransactionLog {
  readonly ids: string[];
  omitted: number;
  /** Statements a ROLLBACK TO SAVEPOINT undid: their effects did not stay, whatever the outcome. */
  readonly undone: string[];
  undoneOmitted: number;
  runs: number;
  lastRunFailed: boolean;
  begun: boolean;
  endTag: string | undefined;
  failedAfterEnd: boolean;
  failed: boolean;
  /** A statement of it was in flight when the session ended (OUTCOME_UNKNOWN). */
  unknown: boolean;
  /** Savepoints open, innermost last: the name, and where the statements after it start. */
  readonly savepoints: { name: string; at: number; omitted: number }[];
  /**
   * Gatehouse could not follow what the server kept: a savepoint it cannot name (not in its stack, a
   * name PostgreSQL may truncate, too many), or a tag from a statement it did not read as transaction
   * control. The outcome is then `unknown`.
   */
  lost: boolean;
  /** Started by COMMIT/ROLLBACK AND CHAIN: a transaction block from its first statement. */
  chained: boolean;
  /** Started after a transaction ended inside a query string or batch (not at an idle ReadyForQuery). */
  afterEnd: boolean;
  /**
   * A CALL or DO ran outside a transaction block: its procedure may COMMIT or ROLLBACK inside
   * (PostgreSQL allows it there), so what stayed of a transaction that failed is unknown.
   */
  procedureControl: boolean;
}
const MAX_TRANSACTION_IDS = 10_000;
/** Most savepoints followed in one transaction; past it the record says `unknown`. */
const MAX_SAVEPOINTS = 10_000;
/** PostgreSQL truncates a name to NAMEDATALEN - 1 bytes (in the server's encoding): longer is unknown. */
const MAX_SAVEPOINT_NAME_BYTES = 62;
const END_TAGS: ReadonlySet<string> = new Set(['COMMIT', 'ROLLBACK', 'PREPARE TRANSACTION']);
/** Statement kinds that run code which may end transactions when run outside a block. */
const PROCEDURE_KINDS: ReadonlySet<string> = new Set(['call', 'do']);
/** Statement kinds (statement-rules.ts) that end a transaction with one of END_TAGS. */
const ENDING_KINDS: ReadonlySet<string> = new Set(['commit', 'rollback', 'prepare transaction']);
function newTransactionLog(start: { chained?: boolean; afterEnd?: boolean } = {}): TransactionLog {
  return {
    ids: [],
    omitted: 0,
    undone: [],
    undoneOmitted: 0,
    runs: 0,
    lastRunFailed: false,
    begun: false,
    endTag: undefined,
    failedAfterEnd: false,
    failed: false,
    unknown: false,
    savepoints: [],
    lost: false,
    chained: start.chained === true,
    afterEnd: start.afterEnd === true,
    procedureControl: false,
  };
}

/**
 * What a statement the server completed (with `tag`) did to the transaction's savepoints: SAVEPOINT
 * opens one, RELEASE closes it and those after it (their statements stay in the enclosing one),
 * ROLLBACK TO undoes every statement since it and closes those after it, as PostgreSQL does. Returns
 * whether the statement ended the transaction (COMMIT, ROLLBACK, PREPARE TRANSACTION).
 */
function followTransaction(log: TransactionLog, id: string, tag: string | undefined, run: Run): boolean {
  const statement = run.statement;
  const kind = statement?.kind;
  const named = (): number => {
    const name = statement?.savepoint;
    if (name === undefined || Buffer.byteLength(name) > MAX_SAVEPOINT_NAME_BYTES) return -1;
    for (let i = log.savepoints.length - 1; i >= 0; i--) if (log.savepoints[i]!.name === name) return i;
    return -1;
  };
  const list = (): void => {
    if (log.ids.length + log.undone.length < MAX_TRANSACTION_IDS) log.ids.push(id);
    else log.omitted++;
  };
  if (tag === 'SAVEPOINT') {
    list();
    const name = statement?.savepoint;
    if (
      kind !== 'savepoint' ||
      name === undefined ||
      Buffer.byteLength(name) > MAX_SAVEPOINT_NAME_BYTES ||
      log.savepoints.length >= MAX_SAVEPOINTS
    )
      log.lost = true;
    else log.savepoints.push({ name, at: log.ids.length, omitted: log.omitted });
    return false;
  }
  if (tag === 'RELEASE') {
    list();
    const i = kind === 'release savepoint' ? named() : -1;
    if (i < 0) log.lost = true;
    else log.savepoints.length = i;
    return false;
  }
  if (tag === 'ROLLBACK' && kind === 'rollback to savepoint') {
    const i = named();
    if (i < 0) {
      log.lost = true;
      list();
      return false;
    }
    const point = log.savepoints[i]!;
    for (const undone of log.ids.splice(point.at)) log.undone.push(undone);
    log.undoneOmitted += log.omitted - point.omitted;
    log.omitted = point.omitted;
    log.savepoints.length = i + 1;
    list();
    point.at = log.ids.length;
    point.omitted = log.omitted;
    return false;
  }
  list();
  if (tag === undefined || !END_TAGS.has(tag)) return false;
  // A tag that ends a transaction from a statement Gatehouse did not read as one that does.
  if (kind === undefined || !ENDING_KINDS.has(kind)) log.lost = true;
  return true;
}

/** The statements of a `transaction` event: those kept with its outcome, and those undone before it. */
function transactionStatements(log: TransactionLog): Record<string, unknown> {
  return {
    statements: log.ids,
    ...(log.omitted > 0 ? { omitted: log.omitted } : {}),
    ...(log.undone.length > 0 ? { undone: log.undone } : {}),
    ...(log.undoneOmitted > 0 ? { undoneOmitted: log.undoneOmitted } : {}),
  };
}

/** What a read in a read-write transaction may write, for its decision as a write (decideStatement). */
const ANY_TABLE = Object.freeze({ name: '(any table)' });
/** The longest the relay keeps the event loop before letting other sessions run (milliseconds). */
export const RELAY_SLICE_MS = 20;
/** How many relayed bytes between two looks at the clock (reading it per frame costs more than a row). */
const RELAY_CHECK_BYTES = 16 * 1024;
/** Below this many bytes a batch's slices are copied into one write instead of a writev. */
const WRITEV_MIN_BYTES = 16 * 1024;
/**
 * Sent in place of a refused extended-protocol message: a Parse whose text is a syntax error. The raw
 * parser rejects it before the statement name, the catalog or any session object is looked at, so it
 * fails in every session state and changes nothing (a named statement: the unnamed one is kept), and
 * the server log says why. Not an Execute of a portal that "never exists": client SQL (or a function)
 * can open a cursor of any name, and its rows would then answer in the refusal's place.
 */
const POISON_PARSE = encode.parse(`${RESERVED_PREFIX}refused`, 'gatehouse refused this message', []);

/**
 * Gatehouse's access-mode steps, each sent as a batch of its own: Parse of a statement of its own name,
 * Bind to the unnamed portal, Execute, Close of the statement, Sync. Not a simple Query: PostgreSQL
 * drops the unnamed prepared statement at every Query, and the client's (which Gatehouse keeps in its
 * model) must outlive a step as it outlives nothing the client did not send. The unnamed portal is
 * free when a step is sent: idle (every portal ended with the transaction), or in a block that has run
 * only its BEGIN (no Bind since). A step that fails ends the session, so a Close skipped after an error
 * leaves nothing behind that matters.
 */
const OWN_STEPS: ReadonlyMap<ModeStep, readonly Buffer[]> = new Map(
  ACCESS_MODE_STEPS.map((sql) => {
    const name = `${RESERVED_PREFIX}mode`;
    // No parameter formats, no parameters, no result formats.
    const noParams = Buffer.alloc(6);
    return [
      sql,
      [
        encode.parse(name, sql, []),
        encode.bind('', name, noParams),
        encode.execute('', 0),
        encode.close('S', name),
        encode.sync(),
      ],
    ];
  }),
);

/** Text whose bytes PostgreSQL reads the same in every client encoding and string setting: ASCII
 * without a backslash (NUL cannot occur in protocol text). */
// eslint-disable-next-line no-control-regex -- control characters are part of the ASCII range tested
const LEXER_INVARIANT = /^[\x00-\x5b\x5d-\x7f]*$/;

const ERROR_SQLSTATE: Partial<Record<ErrorCode, string>> = {
  [ERROR_CODES.DENIED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.REVIEW_REQUIRED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.RECORD_FAILED]: SqlState.InternalError,
  [ERROR_CODES.MASK_FAILED]: SqlState.InsufficientPrivilege,
  [ERROR_CODES.AUTH_FAILED]: SqlState.InvalidPassword,
  [ERROR_CODES.SESSION_ENDED]: SqlState.InvalidAuthorizationSpecification,
  [ERROR_CODES.CONNECTION_FORBIDDEN]: SqlState.InvalidAuthorizationSpecification,
  [ERROR_CODES.CONNECTION_UNKNOWN]: SqlState.InvalidCatalogName,
  [ERROR_CODES.UPSTREAM_UNAVAILABLE]: SqlState.ConnectionFailure,
  [ERROR_CODES.PROTOCOL_VIOLATION]: SqlState.ProtocolViolation,
  [ERROR_CODES.LIMIT_EXCEEDED]: SqlState.ProgramLimitExceeded,
};

/** Rule ids of refusals the PostgreSQL engine makes itself, recorded as `refusal` events. */
const INVALID_ENCODING_RULE = 'pg-invalid-encoding';
const SESSION_OBJECTS_LIMIT_RULE = 'pg-session-objects-limit';
const LEXER_BARRIER_RULE = 'lexer-barrier';
/** An identifier a database encoding other than UTF-8 may read as another name (class 180). */
const SERVER_ENCODING_RULE = 'server-encoding-identifier';
/** The longest text holding non-ASCII characters whose names are checked on such a database (class 180). */
const IDENTIFIER_SCAN_CHARS = 16 * 1024;
const REPLACED_OBJECT_RULE = 'replaced-session-object';
/** A message that would make its principal's sessions hold more than their budget (class 215). */
const PRINCIPAL_BYTES_RULE = 'principal-message-budget';
/**
 * Messages this long or longer count against their principal's budget (class 215); shorter ones are
 * handled at once or held a few at a time, and counting them would cost the hot path.
 */
const PRINCIPAL_COUNTED_BYTES = 64 * 1024;
/** A Describe of a statement held for review whose literals Gatehouse could not take out (class 214). */
const HELD_DESCRIBE_RULE = 'held-statement-describe';
const UNKNOWN_SETTING_RULE = 'unknown-setting';
/** A use of a SQL name while a change to such names is forwarded and unanswered in the pipeline (class 167). */
const OBJECT_IN_FLIGHT_RULE = 'session-object-in-flight';
const OBJECT_IN_FLIGHT_MESSAGE =
  'Gatehouse: this runs a prepared statement or cursor by name, and a statement sent before it in the same ' +
  'pipeline that creates or drops prepared statements or cursors (PREPARE, DEALLOCATE, DECLARE, CLOSE, DISCARD, ' +
  'or the end of the transaction a cursor lives in) is not answered yet, so Gatehouse cannot tell what the name ' +
  'holds. Send Sync first.';
const TOO_MANY_STATEMENTS_RULE = 'pg-too-many-statements';
/**
 * Reported settings whose values the server draws from a closed vocabulary (keywords, on/off, its
 * own version and encoding, a role's name) or pins (client_encoding, standard_conforming_strings):
 * no code can put a column's value there, so their reports are relayed as they are (class 244).
 */
const CLOSED_VOCABULARY_PARAMETERS: ReadonlySet<string> = new Set([
  'client_encoding',
  'datestyle',
  'intervalstyle',
  'integer_datetimes',
  'in_hot_standby',
  'is_superuser',
  'scram_iterations',
  'server_encoding',
  'server_version',
  'session_authorization',
  'standard_conforming_strings',
]);

/** How many uncommitted writes a held statement's approval request names (class 66). */
const MAX_UNCOMMITTED_SHOWN = 5;
/**
 * Characters kept of each statement noted for them: the request shows 300 of each, after
 * redaction; the session keeps these notes until its transaction ends or a DISCARD, so whole texts
 * of up to the classifier's bound (32 Mi characters) would be held ten at a time (class 183).
 */
const UNCOMMITTED_NOTE_CHARS = 16 * 1024;

/** A statement's text as a note for an approval request (clipped: UNCOMMITTED_NOTE_CHARS). */
function noteText(text: string): string {
  if (text.length <= UNCOMMITTED_NOTE_CHARS) return text;
  // A copy, not a slice: V8 keeps the whole text alive behind a slice of it.
  return `${Buffer.from(text.slice(0, UNCOMMITTED_NOTE_CHARS), 'utf8').toString('utf8')}…`;
}

/** What the impact preview of a statement held for approval cannot see (class 66). */
interface UnseenByPreview {
  readonly writes: readonly string[];
  readonly temporary: readonly string[];
}

/** A refusal with the SQLSTATE PostgreSQL itself would send for the same input (not a policy refusal). */
class PgError extends GatewayError {
  constructor(
    readonly sqlState: string,
    message: string,
    readonly position?: number,
    ruleId?: string,
  ) {
    super(ERROR_CODES.DENIED, message, ruleId === undefined ? undefined : { ruleId });
  }
}

/** A message whose text is not UTF-8: refused as PostgreSQL refuses it, and recorded. */
const INVALID_ENCODING = new PgError('22021', 'invalid byte sequence for encoding "UTF8"');

function refusalCode(e: GatewayError): { code: string; position?: number } {
  if (e instanceof PgError)
    return { code: e.sqlState, ...(e.position === undefined ? {} : { position: e.position }) };
  // A session's bound on prepared statements and cursors, reached by SQL PREPARE or DECLARE: the
  // code of the same bound reached by Parse or Bind (class 184).
  if (e.ruleId === SESSION_OBJECTS_LIMIT_RULE) return { code: SqlState.ProgramLimitExceeded };
  return { code: ERROR_SQLSTATE[e.code] ?? SqlState.InternalError };
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** A NUL-terminated string at `at` in `body`, exactly: valid UTF-8, and the NUL where the message says. */
function strictText(body: Buffer, at: number): { text: string; end: number } {
  const end = body.indexOf(0, at);
  if (end < 0) throw new ProtocolError('unterminated string');
  const bytes = body.subarray(at, end);
  if (!isUtf8(bytes)) throw new InvalidEncoding();
  return { text: bytes.toString('utf8'), end: end + 1 };
}

class InvalidEncoding extends Error {}

/** The first byte of a TLS handshake record (RFC 8446 5.1): a client starting TLS directly. */
const TLS_HANDSHAKE_RECORD = 0x16;
/** The ALPN protocol PostgreSQL 17+ requires for direct SSL (protocol 55.2.10). */
const POSTGRES_ALPN = ['postgresql'];

function isFatal(body: Buffer): boolean {
  const f = decodeErrorFields(body);
  const severity = f.V ?? f.S;
  return severity === 'FATAL' || severity === 'PANIC';
}

export class ClientConnection {
  private socket: net.Socket;
  private readonly reader: FrameReader;
  private phase: 'startup' | 'password' | 'connecting' | 'relay' | 'closed' = 'startup';
  private tlsActive = false;
  /** Nothing has arrived yet: the first byte may open a direct TLS handshake (PostgreSQL 17+). */
  private firstBytes = true;
  /** The upstream ended the session with a FATAL (relayed): its close needs no word of ours. */
  private upstreamEnded = false;
  private authTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Runs while an agent's transaction is open: the bound on how long it may hold its locks. */
  private txTimer: NodeJS.Timeout | undefined;
  /** An extended-protocol message went upstream since the last Sync (its transaction is open). */
  private openBatch = false;
  private unwatchStall: () => void = () => undefined;
  private startupParams: Readonly<Record<string, string>> = {};
  private session: GateSession | undefined;
  /** The session's principal as per-principal budgets count it (set once the session is known). */
  private principalOf: string | undefined;
  /** Refusals Gatehouse answered itself: the first under each rule recorded, the rest counted. */
  private readonly refusals = new CappedRefusals();
  private upstream: UpstreamSession | undefined;
  /** The upstream's major version (its server_version at login; 0 when it gave none we can read). */
  private upstreamMajor = 0;
  /**
   * The scanner, when the upstream database's encoding is not UTF-8: each text that may hold a
   * non-ASCII identifier is scanned for one the server could read as another name (class 180).
   */
  private identifierScanner: { runtime: PgParserRuntime; encoding: string | undefined } | undefined;
  private target: UpstreamTarget | undefined;
  private key: { processId: number; secretKey: Buffer } | undefined;
  private tracker!: ResponseTracker;
  private relay!: ResultRelay;
  private state!: ProtocolState;
  private processing = false;
  /** The pump reads nothing from the client until the upstream's answers drain the tracker. */
  private readsHeld = false;
  /** After refusing an extended-protocol message: ignore client messages until Sync (55.2.3). */
  private skipUntilSync = false;
  private abort = new AbortController();
  private txStatus: TransactionStatus = 'I';
  /** Writes forwarded since the session was last idle with nothing in flight (first few texts). */
  private uncommittedWrites: string[] = [];
  /**
   * Statements that created or named temporary relations, or ran hidden code, since the last DISCARD
   * (the first few, then the latest), each with its number among such notes (`temporaryNoted`): a
   * DISCARD clears, on its completion, only what was noted before it was forwarded.
   */
  private temporaryObjects: { text: string; noted: number }[] = [];
  /**
   * Statements (as classified) that the catalog shows run code outside pg_catalog they do not name: a
   * view's function, a built-in name a user function shadows, a domain's CHECK (decideWithLineage).
   * They advance the epoch as code Gatehouse cannot see into does (docs/security.md, class 225).
   */
  private readonly unseenCode = new WeakSet<SqlStatement>();
  private temporaryNoted = 0;
  /** An error or a ROLLBACK happened in the transaction now open (its holdable cursors do not survive). */
  private txFailed = false;
  /**
   * What ran since the session was last idle, in the server's order: each executed statement with its
   * CommandComplete tag and whether it failed, and `error` for each ErrorResponse (a commit-time
   * failure answers after its statement's CommandComplete). Read when the transaction ends.
   */
  private transactionLog: TransactionLog = newTransactionLog();
  /** Executes forwarded and not yet answered, per portal (endPortal). */
  private readonly executing = new WeakMap<PortalEntry, number>();
  /** Portals that ended while an Execute of theirs was in flight: endPortal once it is answered. */
  private readonly endedExecuting = new WeakSet<PortalEntry>();
  /** Relaying waits for a catalog lookup (at a RowDescription); frames stay in the reader meanwhile. */
  private stalled = false;
  /**
   * The lexer barrier. `execSeq` counts forwarded messages that may run code (and so may change a
   * setting behind Gatehouse's back); `syncedSeq` is its value when the last Sync or Query went out;
   * `knownSeq` its value at the last ReadyForQuery, by which time the server has reported any change
   * to a pinned setting (ParameterStatus). Text that could read differently under another setting is
   * forwarded only when knownSeq has caught up.
   */
  private execSeq = 0;
  private syncedSeq = 0;
  private knownSeq = 0;
  /** execSeq of the last forwarded statement that changes a setting (knownSeq past it: settled). */
  private settingChangeSeq = 0;
  /**
   * execSeq of the last forwarded statement that may change what a SQL name (prepared statement,
   * cursor) holds (changesSessionObjects): the model follows it only on the upstream's answer, so a
   * use of a name is decided once knownSeq is past it (docs/security.md, class 167).
   */
  private objectChangeSeq = 0;
  /**
   * The prepared statements and cursors that statements forwarded up to execSeq `seq` create, while
   * any of them is unanswered: counted against the session's bounds with those it holds (class 184).
   */
  private createsForwarded: { seq: number; creates: CreatesInFlight } = {
    seq: 0,
    creates: NO_CREATES_IN_FLIGHT,
  };
  private readonly settledWaiters: (() => void)[] = [];
  /** Sync, Query and FunctionCall messages forwarded: each ends the upstream's skip after an error. */
  private syncs = 0;
  /** Tracker entries whose messages were written upstream (ResponseTracker.queuedTotal then). */
  private sentEntries = 0;
  /** Extended-protocol messages waiting for their batch's end (forward()). */
  private corked: Buffer[] = [];
  private corkedBytes = 0;
  /** Reads in read-only transactions, writes in read-write ones Gatehouse opens (read-only-reads.ts). */
  private readOnly = new ReadOnlyReads(false);
  /**
   * An agent's session limits at login, in ms (class 131): no change may raise one. Undefined for
   * people, whose limits are their own.
   */
  private limitCeilings: Map<string, number> | undefined;
  /** What the message under way or being handled counts against the principal's budget (class 215). */
  private charged = 0;
  /** Limits an agent asked for at startup: applied after login, within the ceilings, not forwarded. */
  private readonly startupLimits: { name: string; value: string }[] = [];
  /** DDL or unseen code ran since the session was last idle: lineage cannot trust the catalog. */
  private catalogSuspect = false;
  /** Query strings in which such a statement came before the one being decided. */
  private readonly catalogChangedIn = new WeakSet<PendingObjects>();
  /** Columns the open transaction read: its COMMIT's deferred checks may quote them (lineage). */
  private readonly transactionReads = new TransactionReads();
  /** A reviewed COPY FROM STDIN whose rows are being collected before its approval is asked for. */
  private copyIn: ReviewedCopy | undefined;
  /** After Gatehouse ended a reviewed COPY with an error: the client's CopyData, CopyDone and CopyFail
   * that follow are dropped, as PostgreSQL drops them outside COPY (55.2.6). */
  private copyInDropping = false;
  /** Forwarded COPY … FROM STDIN whose rows the client may still send, in stream order (copy-in-record.ts). */
  private copyTargets: CopyTarget[] = [];
  /** Rows for the first of them, gathered, not yet recorded or forwarded. */
  private copyPart: CopyPart | undefined;
  /** Forwarded COPYs the server has not yet said it started (or not), with the Syncs held for them. */
  private copyPending: CopyTarget[] = [];
  private readonly copyWaiters: (() => void)[] = [];
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
    this.authTimer = setTimeout(() => {
      // Still before the gate has the token: a client that never finished its startup or password.
      if (this.phase === 'startup' || this.phase === 'password')
        deps.preauth?.refused('postgres', 'auth_timeout', socket.remoteAddress);
      this.fatal(SqlState.CannotConnectNow, 'authentication timed out');
    }, s.authTimeoutMs);
    this.authTimer.unref();
  }

  private attach(socket: net.Socket): void {
    // The socket written to is the one watched (after a TLS upgrade, the TLS socket).
    this.unwatchStall();
    const stallMs = this.deps.settings().writeStallTimeoutMs;
    this.unwatchStall = watchWriteStall(socket, stallMs, () => this.stalledClient(stallMs));
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
    if (this.firstBytes) {
      this.firstBytes = false;
      const secureContext = this.deps.settings().secureContext;
      if (chunk[0] === TLS_HANDSHAKE_RECORD && secureContext && !this.tlsActive) {
        this.startDirectTls(chunk, secureContext);
        return;
      }
    }
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
        if (this.socket.writableNeedDrain) {
          // The client is not reading what it was sent: read nothing more from it (each message
          // may add an answer of Gatehouse's own) until it does, or the stall watch closes it.
          this.socket.pause();
          await this.clientDrained();
          if (!this.isClosed) this.socket.resume();
          continue;
        }
        if (this.phase === 'relay' && this.tracker.heldBytes >= MAX_AWAITED_BYTES) {
          // What this client sent is queued behind answers the upstream has not given yet (a long
          // statement runs): read nothing more until they drain the queue, as PostgreSQL reads no
          // further input while it executes. What is corked goes upstream now, with a Flush so the
          // server sends the answers it would otherwise buffer until a Sync still unread here.
          this.socket.pause();
          this.readsHeld = true;
          void this.forward(FLUSH);
          this.flushOwnAnswers();
          await this.tracker.heldBelow(MAX_AWAITED_BYTES / 2);
          this.readsHeld = false;
          if (!this.isClosed) this.socket.resume();
          continue;
        }
        const f = this.reader.next();
        // A long message counts against its principal's budget from its header on, before its body
        // is read, until it has been handled (class 215).
        if (this.phase === 'relay' && !this.chargeMessage(f ? f.end - f.start : this.reader.announced)) break;
        if (!f && this.copyPart) {
          // The client has sent nothing more for now: the rows gathered are recorded and forwarded.
          this.socket.pause();
          await this.recordCopy();
          if (!this.isClosed) this.socket.resume();
          continue;
        }
        if (!f) {
          const flushed = this.flushForwarded();
          if (flushed === undefined) break;
          // Waiting for the upstream to drain: frames that arrive meanwhile found `processing` set
          // and did not start a pump, so look again rather than leave them in the reader.
          this.socket.pause();
          await flushed;
          if (!this.isClosed) this.socket.resume();
          continue;
        }
        const pending = this.handleFrame(f);
        if (!pending) this.releaseMessage();
        // Answers of Gatehouse's own (a Close of an unknown name, a refusal) wait for a Sync to be
        // written; a client that sends thousands without one has them written as they gather, as
        // PostgreSQL does when its output buffer fills, so that they meet the socket's backpressure.
        if (this.phase === 'relay' && this.relay.out.pendingParts >= OWN_ANSWERS_FLUSH_PARTS)
          this.flushOwnAnswers();
        if (pending) {
          this.socket.pause();
          await pending.finally(() => this.releaseMessage());
          if (!this.isClosed) this.socket.resume();
        }
      }
    } catch (e) {
      this.protocolFailure(e);
    } finally {
      this.processing = false;
    }
  }

  /**
   * Counts a message of `bytes` (under way or whole) against its principal's budget, once it is
   * PRINCIPAL_COUNTED_BYTES or longer. False when the budget would be passed: the session is ended
   * (54000, recorded), and the message's body is not read.
   */
  private chargeMessage(bytes: number): boolean {
    const budget = this.deps.principalBytes;
    const session = this.session;
    if (!budget || !session || bytes < PRINCIPAL_COUNTED_BYTES || bytes <= this.charged) return true;
    const limit = this.deps.settings().messageBytesPerPrincipal;
    const principal = this.principal;
    if (budget.reserve(principal, bytes - this.charged, limit)) {
      this.charged = bytes;
      return true;
    }
    const message =
      `Gatehouse: a message of ${bytes} bytes would make ${session.identity.subject}'s sessions hold more than ` +
      `${limit} bytes of messages at once (listeners.postgres.messageBytesPerPrincipal); ` +
      'send large values in smaller parts, or from fewer sessions at once';
    this.refusedOwn('message', PRINCIPAL_BYTES_RULE, new PgError(SqlState.ProgramLimitExceeded, message));
    this.deps.logger.warn(
      { session: session.id, subject: session.identity.subject, bytes, limit },
      'message refused: principal message budget',
    );
    this.fatal(SqlState.ProgramLimitExceeded, message);
    return false;
  }

  /** Gives back what the message just handled counted against its principal's budget. */
  private releaseMessage(): void {
    if (this.charged === 0) return;
    const session = this.session;
    if (session) this.deps.principalBytes?.release(this.principal, this.charged);
    this.charged = 0;
  }

  /** Settles when the client's socket drains or closes. */
  private clientDrained(): Promise<void> {
    const socket = this.socket;
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /**
   * The client read none of the output waiting for it for writeStallTimeout: the session ends
   * (recorded as client_stalled) and the upstream backend is released. Nothing more is sent to it.
   */
  private stalledClient(timeoutMs: number): void {
    const message = stallMessage(timeoutMs);
    this.deps.logger.warn({ session: this.session?.id, client: this.remote }, message);
    this.close(message, { silent: true });
  }

  /**
   * About how many bytes this connection holds in its queue of answers awaited from the upstream
   * (ResponseTracker.heldBytes; bounded by MAX_AWAITED_BYTES, plus one message), and whether it
   * has stopped reading its client until the upstream answers (tests, inspection).
   */
  get awaited(): { bytes: number; readsHeld: boolean } {
    return { bytes: this.phase === 'relay' ? this.tracker.heldBytes : 0, readsHeld: this.readsHeld };
  }

  /** Bytes this connection holds in user space on their way to the client (tests, inspection). */
  get bufferedBytes(): number {
    let n = this.socket.writableLength;
    const up = this.upstream;
    if (up) n += up.socket.readableLength + up.reader.buffered;
    if (this.phase === 'relay') n += this.relay.out.pendingBytes;
    return n;
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

  /**
   * Direct SSL negotiation (PostgreSQL 17, `sslnegotiation=direct`): the client opens with a TLS
   * handshake instead of an SSLRequest, and must negotiate the ALPN protocol `postgresql`; without
   * it the connection is closed without a reply, as PostgreSQL does. The bytes already read are the
   * start of the handshake, so the TLS layer reads them first, then the socket.
   */
  private startDirectTls(first: Buffer, secureContext: tls.SecureContext): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('error');
    raw.removeAllListeners('close');
    raw.removeAllListeners('drain');
    const carrier = new Duplex({
      read: () => void raw.resume(),
      write: (chunk: Buffer, _encoding, done) => void raw.write(chunk, (err) => done(err ?? null)),
      final: (done) => void raw.end(() => done()),
      destroy: (err, done) => {
        raw.destroy();
        done(err);
      },
    });
    carrier.push(first);
    raw.on('data', (d: Buffer) => {
      if (!carrier.push(d)) raw.pause();
    });
    raw.on('end', () => carrier.push(null));
    raw.on('error', (err) => carrier.destroy(err));
    raw.on('close', () => carrier.destroy());
    const secure = new tls.TLSSocket(carrier, {
      isServer: true,
      secureContext,
      ALPNProtocols: POSTGRES_ALPN,
    });
    secure.once('secure', () => {
      if (secure.alpnProtocol !== 'postgresql') {
        this.deps.logger.warn({ client: this.remote }, 'direct SSL connection without ALPN "postgresql"');
        this.close('direct SSL without ALPN', { silent: true });
      }
    });
    this.socket = secure;
    this.tlsActive = true;
    this.attach(secure);
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
        const secure = new tls.TLSSocket(this.socket, {
          isServer: true,
          secureContext: s.secureContext,
          ALPNProtocols: POSTGRES_ALPN,
        });
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
    // Before authentication a message is bounded as PostgreSQL bounds a password (65535 bytes), not
    // as an authenticated session's are: an unauthenticated connection holds little (class 181).
    this.reader.startupDone(Math.min(MAX_AUTH_MESSAGE_BYTES, s.maxMessageBytes));
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
        listener: 'postgres',
        clientAddress: this.remote,
        ...(this.socket.remoteAddress ? { clientHost: this.socket.remoteAddress } : {}),
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
      // A refused token is counted and logged by the gate, rate-limited (core/preauth.ts): a line per
      // guess here would let a guessing client write the log at its own pace.
      if (ge.code !== ERROR_CODES.AUTH_FAILED)
        this.deps.logger.info({ client: this.remote, connection, code: ge.code }, 'session refused');
      this.fatal(code, `Gatehouse: ${ge.message}`);
      return;
    }
    this.session = session;
    this.deps.authenticated?.();
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
    this.readOnly = new ReadOnlyReads(readOnlyReadsApply(target.readOnlyReads, session.identity.agent));
    const forwarded = await this.decideStartupSettings(session);
    if (forwarded === undefined || this.isClosed) return;
    const login = loginFor(target, session.identity);
    let upstream: UpstreamSession;
    try {
      upstream = await this.openUpstreamSession(target, forwarded, login);
    } catch (e) {
      const msg = e instanceof UpstreamError ? e.message : 'upstream unavailable';
      // A setting the client asked for that the server does not know (42704) or refuses is the
      // client's error, in PostgreSQL's own words.
      const fields = e instanceof UpstreamError ? e.fields : undefined;
      this.deps.logger.warn({ client: this.remote, connection, err: msg }, 'upstream login failed');
      await session.close(`upstream unavailable: ${msg}`);
      if (fields?.C && /^(42704|22023|42501|55P02)$/.test(fields.C)) this.fatal(fields.C, fields.M ?? msg);
      else
        this.fatal(
          SqlState.ConnectionFailure,
          `Gatehouse: could not open connection "${connection}": ${msg}`,
        );
      return;
    }
    if (this.isClosed) {
      upstream.socket.destroy();
      return;
    }
    // The pin must have taken: a server that ignored it cannot be read safely.
    for (const [name, pinned] of Object.entries(PINNED_SETTINGS)) {
      const reported = upstream.parameters.get(name);
      if (reported !== undefined && !pinned.accepts(reported)) {
        upstream.socket.destroy();
        await session.close(`upstream ${name} is ${reported}`);
        this.fatal(
          SqlState.ConnectionFailure,
          `Gatehouse: the upstream reports ${name} = ${reported}, not ${pinned.value}`,
        );
        return;
      }
    }
    if (session.identity.agent && !(await this.ownLimits(upstream, session, forwarded))) return;
    const serverEncoding = upstream.parameters.get('server_encoding');
    if (!readsIdentifiersAsParser(serverEncoding)) {
      const runtime = await sharedParserRuntime();
      if (this.isClosed) {
        upstream.socket.destroy();
        return;
      }
      this.identifierScanner = { runtime, encoding: serverEncoding };
    }
    this.upstream = upstream;
    this.upstreamMajor = serverMajor(upstream.parameters.get('server_version'));
    const startup = new Map<string, string>();
    for (const [k, v] of Object.entries(forwarded))
      if (pinnedSetting(k) === undefined && k !== CONNECTION_CHECK_SETTING) startup.set(k.toLowerCase(), v);
    this.state = new ProtocolState(() => this.deps.settings().state, startup);
    this.tracker = new ResponseTracker(
      (e, inFlight) => this.onDropped(e, inFlight),
      (bytes) => this.relay.emit(bytes),
    );
    this.relay = new ResultRelay(this.relayHost(), refusalCode);
    this.key = this.deps.cancels.register(this);
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    const hello: Buffer[] = [encode.authenticationOk()];
    for (const [k, v] of upstream.parameters) {
      if (k === READ_ONLY_SETTING && this.readOnly.enforced) {
        // Gatehouse's own setting: to the client the session can write (Gatehouse opens a
        // read-write transaction for each admitted write), as a driver checking for a standby expects.
        hello.push(encode.parameterStatus(k, 'off'));
        continue;
      }
      hello.push(encode.parameterStatus(k, v));
      this.state.baseline(k, v);
    }
    hello.push(
      encode.backendKeyData(this.key.processId, this.key.secretKey),
      encode.readyForQuery(upstream.transactionStatus),
    );
    this.txStatus = upstream.transactionStatus;
    this.reader.limitMessages(this.deps.settings().maxMessageBytes);
    this.phase = 'relay';
    this.socket.write(Buffer.concat(hello));
    upstream.socket.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    // A lost upstream (a reset, or the agent carrying it gone) ends the session with a FATAL that says why.
    upstream.socket.on('error', (err) => {
      if (this.upstreamEnded) this.close(`upstream closed after a FATAL: ${err.message}`);
      else this.fatal(SqlState.ConnectionFailure, `Gatehouse: lost the upstream connection: ${err.message}`);
    });
    upstream.socket.on('close', () => this.close('upstream closed'));
    upstream.socket.on('drain', () => this.socket.resume());
    // Which role and which backend this session is upstream: pg_stat_activity.pid and
    // pg_backend_pid() are upstream.processId (the client's BackendKeyData is Gatehouse's own, so
    // that cancel keys of the upstream never leave the gateway).
    // And the settings the client asked for at startup, as forwarded: the session's statements run
    // under them (DateStyle, TimeZone, search_path…), as under a SET the record holds (class 102).
    const requested: Record<string, string> = {};
    for (const [k, v] of Object.entries(forwarded))
      if (
        pinnedSetting(k) === undefined &&
        k !== CONNECTION_CHECK_SETTING &&
        !(k === READ_ONLY_SETTING && this.readOnly.enforced)
      )
        requested[k] = v;
    session.note('upstream.login', {
      user: login.user,
      processId: upstream.processId,
      ...(Object.keys(requested).length > 0 ? { settings: requested } : {}),
    });
    this.deps.logger.info(
      {
        session: session.id,
        subject: session.identity.subject,
        connection,
        client: this.remote,
        upstreamUser: login.user,
        settings: forwarded,
        // pg_stat_activity.pid of this session upstream (the client's BackendKeyData is Gatehouse's own).
        upstreamPid: upstream.processId,
      },
      'session started',
    );
    this.touch();
  }

  /**
   * Logs in upstream with `forwarded`; when the server refuses client_connection_check_interval
   * (older than PostgreSQL 14, or a platform that cannot check), again without it.
   */
  private async openUpstreamSession(
    target: UpstreamTarget,
    forwarded: Record<string, string>,
    login: ReturnType<typeof loginFor>,
  ): Promise<UpstreamSession> {
    const maxMessageBytes = this.deps.settings().maxMessageBytes;
    try {
      return await openUpstream(target, forwarded, maxMessageBytes, login);
    } catch (e) {
      if (!refusedConnectionCheck(e)) throw e;
      this.deps.logger.info(
        { client: this.remote, connection: target.connection, err: (e as Error).message },
        `the upstream refused ${CONNECTION_CHECK_SETTING}; logging in without it`,
      );
      delete forwarded[CONNECTION_CHECK_SETTING];
      return openUpstream(target, forwarded, maxMessageBytes, login);
    }
  }

  /**
   * Startup parameters and `options` are settings like SET: pinned ones must keep their pinned
   * value, every other one is decided (and recorded) as the SET it means, and only then forwarded.
   * Returns the upstream startup parameters, or undefined when the session was refused.
   */
  private async decideStartupSettings(session: GateSession): Promise<Record<string, string> | undefined> {
    const parsed = startupSettings(this.startupParams);
    if (!parsed.ok) {
      await session.close('invalid startup options');
      this.fatal(parsed.code ?? '22023', `Gatehouse: ${parsed.message}`);
      return undefined;
    }
    const forwarded: Record<string, string> = {};
    for (const s of parsed.settings) {
      if (s.name === CONNECTION_CHECK_SETTING) {
        if (acceptsConnectionCheck(s.value)) continue;
        await session.close(`startup setting ${s.name} refused`);
        this.fatal(
          '22023',
          `Gatehouse: ${connectionCheckViolation([{ name: s.name, via: 'set', value: s.value }])}`,
        );
        return undefined;
      }
      const pinned = pinnedSetting(s.name);
      if (pinned) {
        if (pinned.accepts(s.value)) continue;
        await session.close(`startup setting ${s.name} refused`);
        this.fatal(
          '22023',
          `Gatehouse: ${s.name} is pinned to ${pinned.value} and cannot be set to '${s.value}': ${pinned.why}. ` +
            (s.name === 'client_encoding'
              ? 'Unset PGCLIENTENCODING (or set it to UTF8) and let the client convert.'
              : `Leave ${s.name} at its default.`),
        );
        return undefined;
      }
      // An agent's limit is checked against the session's own once it is logged in (class 131).
      if (session.identity.agent && isSessionLimit(s.name)) {
        this.startupLimits.push({ name: s.name.toLowerCase(), value: s.value });
        continue;
      }
      const statement = this.deps.classifier.classify(asSetStatement(s)).statements[0];
      if (statement === undefined) continue;
      const readWrite = this.readOnly.enforced ? readWriteViolation(statement.settings) : undefined;
      if (readWrite !== undefined) {
        await session.close(`startup setting ${s.name} refused`);
        this.fatal('22023', `Gatehouse: ${readWrite}`);
        return undefined;
      }
      // Drivers send ordinary settings at every start (application_name, DateStyle, extra_float_digits…):
      // those on the session allow-list become the session's defaults without asking policy (which
      // may not mention `session` at all) and are logged with the session's start. Everything else
      // (search_path, role, admin and unknown settings) is decided and recorded like the SET it means.
      if (
        statement.categories.length === 1 &&
        statement.categories[0] === 'session' &&
        !/search_path/.test(statement.kind)
      ) {
        forwarded[s.name] = s.value;
        continue;
      }
      const admission = await session.admit(this.action(statement, 'startup'), this.holdOptions());
      if (!admission.allowed) {
        await session.close(`startup setting ${s.name} refused`);
        this.fatal(
          refusalCode(admission.error).code,
          `Gatehouse: startup setting ${s.name} refused: ${admission.error.message}`,
        );
        return undefined;
      }
      session.settle(admission, { rows: 0 });
      forwarded[s.name] = s.value;
    }
    for (const [name, pinned] of Object.entries(PINNED_SETTINGS)) forwarded[name] = pinned.value;
    forwarded[CONNECTION_CHECK_SETTING] = CONNECTION_CHECK_VALUE;
    if (this.readOnly.enforced) forwarded[READ_ONLY_SETTING] = 'on';
    return forwarded;
  }

  /**
   * Reads an agent's session limits as the upstream set them at login (role, database and server
   * defaults; the agent's own startup values are held back), then applies the startup values that
   * only lower them (class 131). False when the session was ended: a limit lifted, or the limits
   * could not be read (fail closed).
   */
  private async ownLimits(
    upstream: UpstreamSession,
    session: GateSession,
    forwarded: Record<string, string>,
  ): Promise<boolean> {
    const end = async (code: string, message: string): Promise<false> => {
      upstream.socket.destroy();
      await session.close(message);
      this.fatal(code, `Gatehouse: ${message}`);
      return false;
    };
    const timeout = this.target!.connectTimeoutMs;
    try {
      const ceilings = new Map<string, number>();
      for (const [name, setting] of await queryOnce(upstream, SESSION_LIMITS_SQL, timeout))
        if (name != null && setting != null) {
          const value = limitValue(name, setting);
          if (value === undefined) throw new Error(`${name} is '${setting}', which Gatehouse cannot read`);
          ceilings.set(name, value);
        }
      for (const s of this.startupLimits) {
        const why =
          limitValue(s.name, s.value) === undefined
            ? `${s.name} = '${s.value}' is not a value Gatehouse reads as PostgreSQL does`
            : limitViolation({ name: s.name, via: 'set', value: s.value }, ceilings);
        if (why !== undefined)
          return await end('42501', `startup setting ${s.name} refused by rule session-limit: ${why}`);
      }
      if (this.startupLimits.length > 0) {
        // Values limitValue read: digits, a dot, spaces and a unit, no quote.
        await queryOnce(
          upstream,
          this.startupLimits.map((s) => `SET ${s.name} = '${s.value}'`).join('; '),
          timeout,
        );
        for (const s of this.startupLimits) forwarded[s.name] = s.value;
      }
      this.limitCeilings = ceilings;
      return true;
    } catch (e) {
      return end(
        SqlState.ConnectionFailure,
        `could not read the session's limits upstream: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private relayHost(): RelayHost {
    return {
      tracker: this.tracker,
      target: this.target!,
      logger: this.deps.logger,
      maxMessageBytes: this.deps.settings().maxMessageBytes,
      settle: (run, result) => this.settle(run, result),
      completed: (entry, index) => {
        const r = entry.runs[index];
        this.discardedTemporary(r?.statement, r?.temporaryCut);
        if (r)
          this.state.applyCompleted(
            r.statement,
            this.txStatus !== 'I' || entry.runs.length > 1,
            r.epoch,
            r.after,
          );
      },
      ready: (status, execSeq) => this.onReady(status, execSeq),
      upstreamError: () => {
        this.transactionLog.failed = true;
        this.transactionLog.failedAfterEnd = true;
        this.state.upstreamError();
      },
      parameterChanged: (name, value) => this.onParameterStatus(name, value),
      listensOn: (channel) => this.state.listensOn(channel),
      stallUntil: (wait, then) => this.stallUntil(wait, then),
      copyInStarted: (run) => this.copyStart(run, true),
    };
  }

  private onRelayFrame(f: Frame): Promise<void> | undefined {
    if ((this.copyTargets.length > 0 || this.copyPending.length > 0) && !COPY_MESSAGES.has(f.type)) {
      const copying = this.copyAround(f);
      if (copying !== false) return copying;
    }
    if (this.skipUntilSync && f.type !== FrontendCode.Sync && f.type !== FrontendCode.Terminate)
      return undefined;
    if (this.copyIn) return this.onReviewedCopyFrame(this.copyIn, f);
    if (this.copyInDropping) {
      if (COPY_MESSAGES.has(f.type)) return undefined;
      this.copyInDropping = false;
    }
    switch (f.type) {
      case FrontendCode.Query:
        return this.onQuery(f);
      case FrontendCode.Parse:
        return this.onParse(f);
      case FrontendCode.Bind:
        return this.onBind(f);
      case FrontendCode.Execute:
        return this.onExecute(f);
      case FrontendCode.Describe:
        if (this.readOnly.needsStep(false)) return this.stepAccessMode(false).then(() => this.onDescribe(f));
        return this.onDescribe(f);
      case FrontendCode.Close:
        if (this.readOnly.needsStep(false)) return this.stepAccessMode(false).then(() => this.onClose(f));
        return this.onClose(f);
      case FrontendCode.Sync:
        // A body is an ERROR upstream (invalid message format) that aborts the batch's transaction.
        if (f.body.length !== 0) throw new ProtocolError('invalid Sync message format');
        return this.forwardSync();
      case FrontendCode.Flush:
        // A body is an ERROR upstream answering nothing Gatehouse tracks, after which the server skips
        // to Sync: every later answer would be attributed (and masked) as another message's.
        if (f.body.length !== 0) throw new ProtocolError('invalid Flush message format');
        return this.forward(FLUSH);
      case FrontendCode.CopyData:
        return this.onCopyData(f);
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        return this.onCopyEnd(f);
      case FrontendCode.FunctionCall:
        return this.onFunctionCall(f);
      case FrontendCode.Terminate:
        void this.flushForwarded();
        this.upstream?.socket.end(f.raw);
        this.close('client terminated');
        return undefined;
      default:
        throw new ProtocolError(`unexpected message type ${JSON.stringify(String.fromCharCode(f.type))}`);
    }
  }

  /**
   * A message other than CopyData, CopyDone and CopyFail while a COPY FROM STDIN may be open
   * (copy-in-record.ts). Rows gathered go out first, in order. Flush, and Sync, the server ignores in
   * COPY: a Flush is dropped (outside COPY it would change nothing either); a Sync is dropped once the
   * COPY is known started, and held until that is known (the server answers a Sync when the COPY
   * failed to start: it is then forwarded). Forwarding a Sync the server ignores would leave Gatehouse
   * waiting for a ReadyForQuery that never comes, and the next statement's answers taken for its.
   * Any other message waits for held Syncs to be settled, then ends every open COPY: the server would
   * end the session at it, or is not in COPY any more. False: handle the message as usual.
   */
  private copyAround(f: Frame): Promise<void> | undefined | false {
    const again = () => (this.isClosed ? undefined : this.onRelayFrame(f));
    const ignoredInCopy = f.type === FrontendCode.Flush || f.type === FrontendCode.Sync;
    if (this.copyPart) return this.recordCopy().then(again);
    if (ignoredInCopy) {
      const head = this.copyTargets[0];
      // Not in COPY: it did not start, or an error ended it (seen before this message was forwarded,
      // so the server reads the message after it).
      if (head === undefined || head.started === false || head.run?.settled === true) return false;
      if (f.type === FrontendCode.Sync && head.started === undefined) head.heldSyncs++;
      return undefined;
    }
    const head = this.copyTargets[0];
    const unknown =
      this.copyPending.find((t) => t.heldSyncs > 0) ??
      (head !== undefined && head.started === undefined ? head : undefined);
    if (unknown) return this.copyStartKnown(unknown).then(again);
    // The server is in COPY (started, and its run not ended by an error): it would end the COPY and
    // then the session at this message, running nothing of it. Gatehouse does so in its place.
    const inCopy = head?.started === true && head.run?.settled !== true && f.type !== FrontendCode.Terminate;
    const ended = this.copyTargets.splice(0).filter((t) => t.hasData);
    if (ended.length === 0 && !inCopy) return false;
    const recorded = this.recordCopy(ended.map((target) => ({ target, how: 'interrupted' as const })));
    if (!inCopy) return recorded.then(again);
    return recorded.then(() => {
      if (!this.isClosed) this.copySyncLost(f.type);
    });
  }

  /**
   * A message PostgreSQL does not take during COPY FROM STDIN: it ends the COPY with this error, runs
   * nothing of the message, and then the session, as it no longer knows where the client's messages stand.
   */
  private copySyncLost(messageType: number): void {
    const type = messageType.toString(16).toUpperCase().padStart(2, '0');
    const error = encode.errorResponse({
      severity: 'ERROR',
      code: SqlState.ProtocolViolation,
      message: `unexpected message type 0x${type} during COPY from stdin`,
    });
    const pending = this.relay.out.take();
    if (!this.socket.destroyed) this.socket.write(pending ? Buffer.concat([pending, error]) : error);
    this.fatal(
      SqlState.ProtocolViolation,
      'terminating connection because protocol synchronization was lost',
    );
  }

  /** A COPY FROM STDIN forwarded (its Query or Execute): it reads the rows that follow. */
  private openCopy(run: Run): void {
    const target = new CopyTarget(run.admission.statementId, run);
    this.copyTargets.push(target);
    this.copyPending.push(target);
  }

  /**
   * The server started a COPY (CopyInResponse) or ended its run without starting it: held Syncs are
   * dropped (ignored in COPY) or forwarded (the server answers them), and waiters go on.
   */
  private copyStart(run: Run | undefined, started: boolean): void {
    const i = this.copyPending.findIndex((t) => t.run === run);
    if (i < 0 || run === undefined) return;
    const target = this.copyPending[i]!;
    this.copyPending.splice(i, 1);
    target.started = started;
    const held = target.heldSyncs;
    target.heldSyncs = 0;
    if (!started) for (let n = 0; n < held; n++) void this.forwardSync();
    for (const w of this.copyWaiters.splice(0)) w();
  }

  /** Settles once the server has said whether `target` started (or the session closed). */
  private copyStartKnown(target: CopyTarget): Promise<void> {
    // Its Execute may still be corked: it goes upstream now, so that the server can answer it.
    void this.flushForwarded();
    return new Promise((resolve) => {
      const check = () => {
        if (this.isClosed || target.started !== undefined) resolve();
        else this.copyWaiters.push(check);
      };
      check();
    });
  }

  /** A Sync, forwarded: it ends the batch (and the server's skip after an error) with a ReadyForQuery. */
  private forwardSync(): Promise<void> | undefined {
    this.skipUntilSync = false;
    this.syncs++;
    this.tracker.push({ kind: 'sync', execSeq: this.execSeq });
    this.syncedSeq = this.execSeq;
    return this.forward(SYNC);
  }

  /**
   * Rows of an allowed COPY FROM STDIN (copy-in-record.ts): gathered for the first open COPY, then
   * recorded and forwarded. With no COPY open the server is not in COPY and ignores them: they are
   * not forwarded.
   */
  private onCopyData(f: Frame): Promise<void> | undefined {
    const target = this.copyTargets[0];
    if (target === undefined) return undefined;
    const part = (this.copyPart ??= new CopyPart(target));
    return part.add(f) ? this.recordCopy() : undefined;
  }

  /** CopyDone or CopyFail: the first open COPY's rows end, recorded before the message is forwarded. */
  private onCopyEnd(f: Frame): Promise<void> | undefined {
    const target = this.copyTargets.shift();
    if (target === undefined) return undefined;
    const how = f.type === FrontendCode.CopyDone ? ('done' as const) : ('fail' as const);
    return this.recordCopy(
      [{ target, how, ...(how === 'fail' ? { message: copyFailMessage(f) } : {}) }],
      f.raw,
    );
  }

  /**
   * Records the rows gathered (a `copy.data` event) and the ends given (`copy.end`), in one group
   * commit, and only then forwards the rows and `then`. When the record cannot be written the
   * session ends: nothing unrecorded is sent, and the server's COPY is aborted with the session.
   */
  private async recordCopy(
    ends: readonly { target: CopyTarget; how: 'done' | 'fail' | 'interrupted'; message?: string }[] = [],
    then?: Buffer,
  ): Promise<void> {
    const part = this.copyPart;
    this.copyPart = undefined;
    const session = this.session!;
    const writes: Promise<void>[] = [];
    if (part)
      writes.push(session.recordFor(part.target.statementId, COPY_DATA_EVENT, part.target.part(part.bodies)));
    for (const e of ends)
      writes.push(session.recordFor(e.target.statementId, COPY_END_EVENT, e.target.end(e.how, e.message)));
    try {
      await Promise.all(writes);
    } catch {
      this.copyRecordFailed();
      return;
    }
    if (this.isClosed) return;
    const out = part ? [...part.frames] : [];
    if (then) out.push(then);
    if (out.length > 0) return this.forward(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private copyRecordFailed(): void {
    this.fatal(
      SqlState.InternalError,
      'Gatehouse: the rows of this COPY could not be recorded, so they were not sent; the session is ended and the COPY aborted',
    );
  }

  private action(
    statement: SqlStatement,
    via: SqlAction['via'],
    params?: (string | null)[],
    paramsInFull?: () => (string | null)[],
    paramFormats?: readonly number[],
    paramTypes?: readonly number[],
    settings?: Readonly<Record<string, string>>,
    copyData?: RequestBody,
    unseen?: UnseenByPreview,
  ): SqlAction {
    // Fields passed as they are (sqlAction leaves out the undefined ones): no object spread per part.
    return sqlAction({
      connection: this.session!.connection,
      via,
      statement,
      params,
      paramsInFull,
      paramFormats,
      paramTypes,
      settings: settings ?? this.state?.effectiveSettings(),
      copyData,
      afterUncommitted: unseen?.writes,
      temporaryObjects: unseen?.temporary,
    });
  }

  /**
   * Notes a write forwarded upstream: until the session is idle with nothing in flight, what it
   * changed is not committed, and a preview on another connection cannot see it (class 66).
   */
  private noteUncommitted(
    st: SqlStatement | undefined,
    // What it runs: itself and the statements it names, as decided (with those created earlier in
    // its own query string).
    runs: readonly (SqlStatement | undefined)[] = this.runsOf(st, NO_PENDING),
  ): void {
    if (st === undefined) return;
    // Temporary relations (or code that may have made some) outlive the transaction, until DISCARD.
    if (st.temporary === true || runsHiddenCode(runs)) {
      const note = { text: noteText(st.text), noted: ++this.temporaryNoted };
      if (this.temporaryObjects.length < MAX_UNCOMMITTED_SHOWN) this.temporaryObjects.push(note);
      else this.temporaryObjects[MAX_UNCOMMITTED_SHOWN - 1] = note;
    }
    if (!needsReadWrite(runs)) return;
    if (this.uncommittedWrites.length < MAX_UNCOMMITTED_SHOWN) this.uncommittedWrites.push(noteText(st.text));
  }

  /** The statement is a DISCARD ALL or DISCARD TEMP: the session has no temporary relations after it. */
  private static discardsTemporary(st: SqlStatement | undefined): boolean {
    return st?.kind === 'discard' && /\b(all|temp|temporary)\b/i.test(st.text);
  }

  /**
   * A DISCARD ALL or TEMP completed: the temporary relations noted before it was forwarded (`cut`:
   * temporaryNoted then) are gone; those of statements forwarded after it are not.
   */
  private discardedTemporary(st: SqlStatement | undefined, cut: number | undefined): void {
    if (cut === undefined || !ClientConnection.discardsTemporary(st)) return;
    this.temporaryObjects = this.temporaryObjects.filter((t) => t.noted > cut);
  }

  /**
   * What a statement needing approval carries of what its preview cannot see (class 66): the
   * uncommitted writes it runs after and the statements that gave its session temporary relations,
   * including those earlier in its own query string (`more`).
   */
  private unseenByPreview(
    decision: Decision,
    more: readonly { statement: SqlStatement; runs: readonly (SqlStatement | undefined)[] }[] = [],
  ): UnseenByPreview | undefined {
    if (decision.effect !== 'review') return undefined;
    const writes = [...this.uncommittedWrites];
    const temporary = this.temporaryObjects.map((t) => t.text);
    for (const { statement: st, runs } of more) {
      if (needsReadWrite(runs) && writes.length < MAX_UNCOMMITTED_SHOWN) writes.push(st.text);
      if ((st.temporary === true || runsHiddenCode(runs)) && temporary.length < MAX_UNCOMMITTED_SHOWN)
        temporary.push(st.text);
    }
    return { writes, temporary };
  }

  /**
   * An approval binds the session's meaning-changing settings and its preview runs under them
   * (docs/security.md, classes 4 and 31): a statement that needs one is refused while Gatehouse
   * cannot tell one of their values upstream. `unknown`: more such settings (earlier in the same
   * query string); `inFlight`: a setting change forwarded earlier is still unanswered inside a
   * pipeline Gatehouse cannot wait on.
   */
  private knownSettingsFor(decision: Decision, unknown: readonly string[] = [], inFlight = false): Decision {
    if (decision.effect !== 'review') return decision;
    const names = [
      ...new Set([
        ...this.state.uncertainSettings(isMeaningSetting),
        ...unknown.filter((n) => n === '*' || isMeaningSetting(n)),
      ]),
    ];
    if (names.length === 0 && !inFlight) return decision;
    const which = names.includes('*')
      ? 'every setting (one was changed by a name Gatehouse could not read)'
      : names.map((n) => (n === ANY_CUSTOM_SETTING ? 'any custom (prefix.name) setting' : n)).join(', ');
    return {
      effect: 'deny',
      ruleId: UNKNOWN_SETTING_RULE,
      message: inFlight
        ? 'Gatehouse: this statement needs approval, which binds the session settings that change its meaning, ' +
          'and a setting change sent before it in the same pipeline is not answered yet. Send Sync first.'
        : 'Gatehouse: this statement needs approval, which binds the session settings that change its meaning, ' +
          `but Gatehouse cannot tell the value of ${which} in this session: it was changed to a value Gatehouse ` +
          'could not read (set_config with a computed value), in a transaction or savepoint that was rolled back, or ' +
          'by code Gatehouse cannot see into (a function, a DO block, a procedure). SET or RESET it to a constant ' +
          'value (RESET ALL resets every one), then send the statement again.',
    };
  }

  /**
   * Waits until every setting change forwarded so far is answered, so the settings an approval binds
   * are what the server holds; false inside a pipeline without Sync, where the answers cannot come.
   */
  private settingsSettled(): Promise<boolean> | boolean {
    if (this.settingChangeSeq <= this.knownSeq || this.tracker.upstreamDiscarding) return true;
    if (this.syncedSeq !== this.execSeq) return false;
    return new Promise((resolve) => {
      const check = () => {
        if (this.isClosed || this.knownSeq >= this.settingChangeSeq) resolve(!this.isClosed);
        else this.settledWaiters.push(check);
      };
      check();
    });
  }

  /**
   * Waits until every change to SQL names (PREPARE, DEALLOCATE, DECLARE, CLOSE, DISCARD, a
   * transaction's end with cursors open) forwarded so far is answered, so that a use of a name is
   * decided on what the server holds under it. Undefined when nothing is to wait for, or inside a
   * pipeline without Sync, where the answers cannot come: decideStatement then refuses the use.
   */
  private objectsAnswered(): Promise<void> | undefined {
    if (!this.objectsInFlight() || this.syncedSeq !== this.execSeq) return undefined;
    return new Promise((resolve) => {
      const check = () => {
        if (this.isClosed || !this.objectsInFlight()) resolve();
        else this.settledWaiters.push(check);
      };
      check();
    });
  }

  /** The creations forwarded and not yet answered (all answered: none). */
  private createsInFlight(): CreatesInFlight {
    return this.createsForwarded.seq > this.knownSeq ? this.createsForwarded.creates : NO_CREATES_IN_FLIGHT;
  }

  /** `st`, forwarded at execSeq, creates prepared statements or cursors: they count until answered. */
  private noteCreates(st: SqlStatement | undefined): void {
    const creates = addCreates(this.createsInFlight(), st);
    if (creates !== this.createsInFlight()) this.createsForwarded = { seq: this.execSeq, creates };
  }

  /** A change to SQL names was forwarded and is not answered yet (and will run: no skip to Sync). */
  private objectsInFlight(): boolean {
    return this.objectChangeSeq > this.knownSeq && !this.tracker.upstreamDiscarding;
  }

  /** objectsAnswered for a message whose statement uses SQL names; undefined for any other. */
  private objectsAnsweredFor(statements: readonly (SqlStatement | undefined)[]): Promise<void> | undefined {
    return statements.some(usesSessionObjects) ? this.objectsAnswered() : undefined;
  }

  /**
   * The decision for a statement, with what Gatehouse enforces for everyone before policy: the
   * pinned settings, reserved names, and the names of prepared statements and cursors it uses (a use
   * inherits the decision of what it runs, and an unknown name is refused).
   */
  private decideStatement(st: SqlStatement, via: SqlAction['via'], pending: PendingObjects): Decision {
    const session = this.session!;
    if (st.parseError !== undefined) return session.decide(this.action(st, via));
    // The values the client gives settings are its own when the server reports them (class 244).
    if (st.settings !== undefined) this.state.noteGiven(st.settings);
    // So are the channels it LISTENs on (class 246).
    if (st.kind === 'listen') this.state.noteListen(st.text);
    // Parsed with PostgreSQL 18's grammar: an older upstream would run something else (class 115).
    if (st.sinceMajor !== undefined && st.sinceMajor > this.upstreamMajor)
      return {
        effect: 'deny',
        ruleId: 'server-version',
        message:
          `Gatehouse: the upstream is PostgreSQL ${this.upstreamMajor || '(unknown version)'}, which reads this ` +
          `statement differently from PostgreSQL ${st.sinceMajor} (a function or column of that name instead ` +
          `of the built-in syntax Gatehouse decided); spell it for that release`,
      };
    const pin = firstPinViolation(st.settings) ?? connectionCheckViolation(st.settings);
    if (pin !== undefined) return { effect: 'deny', ruleId: 'pinned-setting', message: pin };
    const limit = this.limitCeilings && firstLimitViolation(st.settings, this.limitCeilings);
    if (limit)
      return {
        effect: 'deny',
        ruleId: 'session-limit',
        message: `Gatehouse: refused by rule session-limit: ${limit}`,
      };
    const modeChange = this.readOnly.enforced ? readWriteViolation(st.settings) : undefined;
    if (modeChange !== undefined)
      return { effect: 'deny', ruleId: 'read-only-reads', message: `Gatehouse: ${modeChange}` };
    // What a name holds is known only once every change forwarded before is answered (class 167):
    // the message waited for that (objectsAnswered), except inside a pipeline without Sync.
    if (this.objectsInFlight() && usesSessionModel(st, pending))
      return {
        effect: 'deny',
        ruleId: OBJECT_IN_FLIGHT_RULE,
        message: OBJECT_IN_FLIGHT_MESSAGE,
      };
    const uses = this.state.resolveUses(st, pending);
    if (!uses.ok) return { effect: 'deny', ruleId: uses.ruleId, message: uses.message };
    // SQL PREPARE and DECLARE are bounded as the protocol's Parse and Bind are (class 184).
    const room = this.state.cannotCreate(st, pending, this.createsInFlight());
    if (room) return { effect: 'deny', ruleId: SESSION_OBJECTS_LIMIT_RULE, message: room.message };
    const own = session.decide(this.action(st, via));
    const decision =
      uses.inherited.length === 0
        ? own
        : strictest([own, ...uses.inherited.map((u) => session.decide(this.action(u, via)))]);
    // Its rows are collected for the approver only from a simple Query (onQuery, copy-in-review.ts).
    if (via !== 'simple-query' && decision.effect === 'review' && copyInOf(st.text) !== undefined)
      return { effect: 'deny', ruleId: COPY_REVIEW_ALONE_RULE, message: REVIEWED_COPY_NOT_ALONE };
    return decision;
  }

  /**
   * A read that will run in a read-write transaction (opened for a write in the same query string,
   * batch or transaction block) loses read-only's protection: code it reaches without naming it
   * could write any table. It is decided as a write to any table as well, so it runs there only for
   * a principal that may write anywhere; others read outside the transaction.
   */
  private inWriteTransaction(
    st: SqlStatement,
    via: SqlAction['via'],
    pending: PendingObjects,
    decision: Decision,
  ): Decision {
    if (decision.effect === 'deny' || !st.categories.includes('read')) return decision;
    if (needsReadWrite(this.runsOf(st, pending))) return decision;
    const asWrite = this.session!.decide(
      this.action({ ...st, categories: [...st.categories, 'write'], tables: [...st.tables, ANY_TABLE] }, via),
    );
    if (asWrite.effect === 'allow') return decision;
    const why =
      'Gatehouse: this read runs in a read-write transaction (opened for a write), where code it reaches ' +
      'without naming it could write, so it is decided as a write to any table. Read outside that transaction ' +
      '(or use RETURNING in the write) to run it read-only. ';
    return strictest([decision, { ...asWrite, message: why + asWrite.message }]);
  }

  /**
   * Why the statement may run code outside pg_catalog under a built-in name (class 125), or
   * undefined: an unqualified built-in function or operator that a user function or operator is
   * also defined under can win PostgreSQL's overload resolution. Read from the catalog's names (no
   * query while they are fresh); every such call counts when the catalog did not answer, or when
   * this session changed the catalog in a way not yet committed (catalogSuspect).
   */
  private async overloadedIn(
    st: SqlStatement,
    pending: PendingObjects,
  ): Promise<{ reason: string; known: boolean } | undefined> {
    // EXECUTE and FETCH run a statement prepared or declared earlier, which PostgreSQL analyses
    // again after an operator or schema changes (plancache.c): its names count now.
    const uses = this.state.resolveUses(st, pending);
    const all = [st, ...(uses.ok ? uses.inherited : [])].filter((s) => s.parseError === undefined);
    if (!all.some(mayBeOverloaded)) return undefined;
    let names: Parameters<typeof overloadedCalls>[1] = 'every';
    if (!this.catalogSuspect && !this.catalogChangedIn.has(pending)) {
      const known = await catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes).overloaded();
      if (known !== UNAVAILABLE) names = known;
    }
    const calls = [...new Set(all.flatMap((s) => overloadedCalls(s, names)))];
    if (calls.length === 0) return undefined;
    return names === 'every'
      ? {
          reason: `${calls.join(', ')} may run code outside pg_catalog (the catalog's functions and operators could not be read as they are now)`,
          known: false,
        }
      : {
          reason: `${calls.join(', ')} may run a function or operator defined outside pg_catalog under that name, and Gatehouse cannot see what it reads`,
          known: true,
        };
  }

  /**
   * The statement with what the definitions it runs without showing them do (class 130): a relation
   * (a view, a materialized view, through views over it) or a function with a SQL-standard body whose
   * definition reads a stored setting's value is a read of `secrets`; a relation whose definition
   * calls a function or operator outside pg_catalog runs that code (`procedural`). Read from the
   * catalog's names (class 125's query, fresh within 2 s); when the catalog does not answer, a
   * statement naming any relation is taken to run code Gatehouse cannot see.
   */
  private withHiddenReaders(st: SqlStatement, pending: PendingObjects): SqlStatement | Promise<SqlStatement> {
    if (st.parseError !== undefined) return st;
    const uses = this.state.resolveUses(st, pending);
    const all = [st, ...(uses.ok ? uses.inherited : [])].filter((s) => s.parseError === undefined);
    const relations = all.flatMap((s) => s.tables.map((t) => t.name));
    const types = all.flatMap((s) => s.types ?? []);
    if (relations.length === 0 && types.length === 0) return st;
    const known = catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes).overloaded();
    // The catalog's answer, when fresh, is at hand: no turn of the event loop per statement then.
    return known instanceof Promise
      ? known.then((k) => this.hiddenReadersIn(st, relations, types, k))
      : this.hiddenReadersIn(st, relations, types, known);
  }

  private hiddenReadersIn(
    st: SqlStatement,
    relations: string[],
    types: string[],
    known: OverloadedNames | typeof UNAVAILABLE,
  ): SqlStatement {
    const views = known === UNAVAILABLE ? undefined : known.views;
    const codeTypes = known === UNAVAILABLE ? undefined : known.codeTypes;
    if (views === undefined || codeTypes === undefined) return asUserCode(st);
    // A type named whose input runs a domain's CHECK calling code outside pg_catalog (class 225).
    if (types.some((t) => codeTypes.has(t))) return asUserCode(st);
    // What the views named, and the views they name in turn, do.
    const seen = new Set<string>();
    const queue = [...relations];
    let secrets = false;
    let code = false;
    while (queue.length > 0 && seen.size < 10_000) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      // A relation (named, or reached through a view) with a column of such a type: a value compared
      // with it or bound to it is read into the domain, and its CHECK runs (class 225).
      if (codeTypes.has(name)) code = true;
      for (const def of views.get(name) ?? []) {
        const hidden = this.viewRuns(def);
        if (hidden === undefined) {
          code = true;
          continue;
        }
        secrets ||= hidden.secrets;
        code ||= hidden.code;
        queue.push(...hidden.relations);
      }
    }
    let out = code ? asUserCode(st) : st;
    if (secrets && !out.categories.includes('secrets')) {
      const has = new Set<SqlCategory>([...out.categories, 'secrets']);
      out = { ...out, categories: SQL_CATEGORIES.filter((c) => has.has(c)) };
    }
    return out;
  }

  /**
   * What a view's definition does, as Gatehouse classifies it: reads stored settings, runs code
   * outside pg_catalog (a user function, or a built-in name a user function or operator shadows is
   * not told apart here: any `procedural`), and the relations it names; undefined when it does not
   * parse as one query (taken as code Gatehouse cannot see).
   */
  private viewRuns(def: string): { secrets: boolean; code: boolean; relations: string[] } | undefined {
    const cached = VIEW_RUNS.get(def);
    if (cached !== undefined) return cached === 'unknown' ? undefined : cached;
    const sts = this.deps.classifier.classify(def).statements;
    const only = sts.length === 1 ? sts[0] : undefined;
    const out =
      only === undefined || only.parseError !== undefined
        ? ('unknown' as const)
        : {
            secrets: only.categories.includes('secrets'),
            // Reading settings or stored credentials (`current_setting('app.tenant')`, as a row-level
            // view does) is `secrets`, not code: counted as code, it made every statement through
            // such a view distrust the session's settings (class 225's epoch).
            code: only.categories.some((c) => c !== 'read' && c !== 'secrets'),
            relations: only.tables.map((t) => t.name),
          };
    VIEW_RUNS.set(def, out);
    if (VIEW_RUNS.size > 10_000) VIEW_RUNS.delete(VIEW_RUNS.keys().next().value as string);
    return out === 'unknown' ? undefined : out;
  }

  /**
   * The decision with the relations the statement reaches without naming them (class 113): a view's
   * base tables, partitions and parents, a sequence's owner, tables a foreign key cascades to, as the
   * catalog gives them, so a deny or review rule restricted to tables sees them. Asked of the catalog
   * only when it can matter: when the decision would change if the statement reached every table.
   * What cannot be placed (a trigger or rule of a written table, a relation argument that is not a
   * constant, VACUUM of every table, a catalog changed in this transaction or not answering) is
   * decided as reaching every table.
   */
  private async decideReach(
    st: SqlStatement,
    via: SqlAction['via'],
    pending: PendingObjects,
    decision: Decision,
  ): Promise<Decision> {
    if (decision.effect === 'deny' || st.parseError !== undefined) return decision;
    const writes = needsReadWrite([st]);
    const everyTable = st.tables.length === 0 && (st.kind === 'vacuum' || st.kind === 'analyze');
    if (st.tables.length === 0 && st.relationArgs === undefined && !everyTable) return decision;
    const session = this.session!;
    // No rule of this principal's looks at reach: the decision with every table reached is this one.
    if (!session.reachMatters(writes)) return decision;
    const unknown = session.decide(
      this.action(
        { ...st, reachesUnknown: true, ...(writes ? { grantReachUnknown: true as const } : {}) },
        via,
      ),
    );
    if (unknown.effect === decision.effect && unknown.ruleId === decision.ruleId) return decision;
    const seeds: ReachSeed[] = [
      ...st.tables.map((t) => ({
        ...(t.schema === undefined ? {} : { schema: t.schema }),
        name: t.name,
        target:
          st.targets === undefined
            ? writes
            : st.targets.some((x) => x.name === t.name && x.schema === t.schema),
      })),
      ...(st.relationArgs ?? []).flatMap((text) => (text === null ? [] : [{ text, target: writes }])),
    ];
    const placeable =
      !everyTable &&
      !(st.relationArgs ?? []).includes(null) &&
      !this.catalogSuspect &&
      !this.catalogChangedIn.has(pending);
    const reach = placeable
      ? await catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes).reach(seeds, {
          truncate: st.kind === 'truncate',
          // An INSERT with no UPDATE, DELETE or MERGE anywhere in its text (a writable CTE) only inserts.
          insertOnly: st.kind === 'insert' && !/update|delete|merge/i.test(st.text),
        })
      : undefined;
    if (reach === undefined) return strictest([decision, unknown]);
    const reached = session.decide(
      this.action(
        {
          ...st,
          reaches: reach.tables.map((t) => ({ schema: t.schema, name: t.name })),
          ...(reach.unplaceable ? { reachesUnknown: true as const } : {}),
          // What the write reaches past its named tables, which a grant restricted to tables must
          // name too (class 129); a trigger's code does not count here (the table owner's own).
          grantReaches: reach.grantTables.map((t) => ({ schema: t.schema, name: t.name })),
        },
        via,
      ),
    );
    return strictest([decision, reached]);
  }

  /**
   * The decision with what column lineage adds for a masked principal: statistics catalogs and
   * writes or lasting effects of masked values are refused, untraceable results refused or masked,
   * predicates on masked columns allowed, held or refused (per connection). Also returns the
   * lineage, for the masker. A statement of an unmasked principal costs nothing here.
   */
  private async decideWithLineage(
    st: SqlStatement,
    via: SqlAction['via'],
    pending: PendingObjects,
    readWrite = this.readOnly.mayRunReadWrite(this.txStatus, this.tracker.awaitsReady),
    // False for a protocol Parse: it runs nothing, and its Bind is decided (and marks) again.
    marksCatalog = true,
  ): Promise<{ decision: Decision; lineage?: StatementLineage }> {
    const classified = st;
    const overloaded = await this.overloadedIn(st, pending);
    if (overloaded !== undefined) st = asUserCode(st);
    const hidden = this.withHiddenReaders(st, pending);
    st = hidden instanceof Promise ? await hidden : hidden;
    // Code the text does not show runs: what it may replace (prepared statements, cursors, settings)
    // is no longer trusted once the statement is forwarded (class 225).
    if (hidesCode(st) && !hidesCode(classified)) this.unseenCode.add(classified);
    let decision = this.decideStatement(st, via, pending);
    decision = await this.decideReach(st, via, pending, decision);
    if (readWrite) decision = this.inWriteTransaction(st, via, pending, decision);
    // Lineage reads the committed catalog: after DDL or code Gatehouse cannot see, in this
    // transaction or earlier in this query string, the session may see relations it does not.
    const catalogChanged = this.catalogSuspect || this.catalogChangedIn.has(pending);
    if (marksCatalog && decision.effect !== 'deny' && st.categories.some((c) => CATALOG_CHANGING.has(c)))
      this.suspectCatalog(pending);
    if (decision.effect === 'deny' || !decision.obligations.mask || st.parseError !== undefined)
      return { decision };
    const stats = statisticsRelations(st.tables, st.functions);
    if (stats.length > 0) {
      const f = statisticsFinding(stats);
      return { decision: { effect: 'deny', ruleId: f.ruleId, message: `Gatehouse: ${f.message}` } };
    }
    const deps = this.deps.lineage;
    let rules = deps?.rules(decision.obligations, this.namedWith(st, pending));
    // A profile without column rules of its own still has the built-in ones, and a statement can
    // reach what they cover without naming it: a view over pg_stat_activity, a function or DO block
    // that reads it (docs/security.md class 135). Such a statement is traced too, and its lineage
    // kept only when the built-in rules find something in it; ordinary statements stay as they were.
    const onlyIfMatters = rules === undefined;
    rules ??= deps?.builtinRules?.(decision.obligations);
    if (!deps || !rules) return { decision };
    // BEGIN, COMMIT, SET, SHOW…: nothing is read, nothing to trace (EXECUTE and FETCH name a
    // prepared statement or cursor, whose query is traced).
    if (
      st.tables.length === 0 &&
      st.functions.length === 0 &&
      st.sessionObjects === undefined &&
      st.categories.every((c) => c === 'transaction' || c === 'session')
    ) {
      const deferred = this.transactionReads.lineage();
      return deferred ? { decision, lineage: deferred } : { decision };
    }
    const catalog = catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes);
    // Only the built-in rules apply, and the statement reads nothing but ordinary user tables the
    // catalog has described (no view, function, operator or name of its own Gatehouse cannot see into,
    // nothing this session or transaction changed): what the built-in rules cover cannot reach its
    // results, so it is not traced (a statement text of its own per literal would be parsed again).
    if (
      onlyIfMatters &&
      overloaded === undefined &&
      !catalogChanged &&
      this.temporaryObjects.length === 0 &&
      this.transactionReads.lineage() === undefined &&
      readsOnlyUserTables(st, catalog, rules)
    )
      return { decision };
    let lineage = await lineageOf(deps.analyzer, catalog, st.text, (object, name) =>
      object === 'cursor'
        ? (pending.cursors.get(name) ?? this.state.cursor(name)?.statement)?.text
        : (pending.prepared.get(name)?.text ?? this.state.statement(name)?.text),
    );
    if (marksCatalog && lineage.unprovenReads !== undefined) this.suspectCatalog(pending);
    const traced = lineage;
    lineage = this.transactionReads.extend(lineage);
    if (overloaded !== undefined) lineage = untraceable(lineage, overloaded.reason);
    if (overloaded?.known === true) {
      // The user code may be handed any value the statement reads (an implied `=` under CASE or
      // JOIN USING is no call the lineage sees), and keep it: a masked one there is a sink. Not
      // when every name only counts because the catalog is uncertain (after DDL in the transaction):
      // the results are then masked whole, as for other statements there.
      lineage = {
        ...lineage,
        sinks: [
          ...lineage.sinks,
          {
            what: 'code outside pg_catalog under a built-in name',
            lineage: { sources: lineage.reads, direct: false },
          },
        ],
      };
    }
    if (catalogChanged) {
      lineage = untraceable(
        lineage,
        'the catalog may have changed in this transaction (DDL, or code Gatehouse cannot see), so columns cannot be traced until it ends',
      );
    }
    if (onlyIfMatters && !lineageMatters(rules, lineage)) return { decision };
    if (marksCatalog) this.transactionReads.note(traced);
    const extra = lineageDecision(
      this.withFailureBudget(rules, lineage),
      this.target!.lineage ?? DEFAULT_LINEAGE_SETTINGS,
      this.session!.identity.agent,
      decision,
    );
    return { decision: extra ? strictest([decision, extra]) : decision, lineage };
  }

  /** The principal whose resource failures are counted together (class 224). */
  private get principal(): string {
    return (this.principalOf ??= principalKey(this.session!.identity));
  }

  /**
   * The lineage's findings, and one more when this principal's statements reading masked values
   * have failed for want of a resource past the budget (class 224): that one reads one too.
   */
  private withFailureBudget(rules: LineageRules, lineage: StatementLineage): LineageFinding[] {
    const findings = rules.findings(lineage);
    const why = this.deps.lineage?.failures?.exhausted(this.principal);
    if (why === undefined || rules.plan(lineage).withhold === undefined) return findings;
    return [
      ...findings,
      {
        kind: 'predicate',
        ruleId: 'masking-predicate',
        message: `${why}: this statement reads a masked value too, so it is held. Ask for approval, or wait until the failures are older than the window.`,
      },
    ];
  }

  /**
   * The statement with the prepared statements and cursors it runs (EXECUTE p, FETCH c): what they
   * name decides whether a profile's built-in rules apply. A name not known (yet) counts as naming
   * anything, as a function named by OID does.
   */
  private namedWith(st: SqlStatement, pending: PendingObjects): NamedSources[] {
    const out: NamedSources[] = [st];
    for (const ref of st.sessionObjects ?? []) {
      if (ref.op !== 'use') continue;
      const used =
        ref.kind === 'cursor'
          ? (pending.cursors.get(ref.name) ?? this.state.cursor(ref.name)?.statement)
          : (pending.prepared.get(ref.name) ?? this.state.statement(ref.name)?.statement);
      out.push(used ?? { tables: [], functions: [`oid:${ref.kind} ${ref.name}`] });
    }
    return out;
  }

  /** The catalog may differ from what Gatehouse reads until every forwarded statement settles. */
  private suspectCatalog(pending: PendingObjects): void {
    this.catalogSuspect = true;
    this.catalogChangedIn.add(pending);
  }

  /** Waits until the settings after every forwarded execution are known; false: not in this batch. */
  /**
   * The classification of a text the client sent. A long text is parsed on the classifier's worker
   * thread, in turn with other principals' long texts and for at most its time bound (then unparsed,
   * so refused): one session's text never holds the event loop every other session needs.
   */
  private classifySent(text: string): SqlClassification | Promise<SqlClassification> {
    return this.deps.classifier.classifyBounded(text, this.principal);
  }

  private lexerSettled(text: string): Promise<boolean> | boolean {
    if (LEXER_INVARIANT.test(text) || this.knownSeq === this.execSeq || this.tracker.upstreamDiscarding)
      return true;
    if (this.syncedSeq !== this.execSeq) return false;
    return new Promise((resolve) => {
      const check = () => {
        if (this.isClosed || this.knownSeq === this.execSeq) resolve(!this.isClosed);
        else this.settledWaiters.push(check);
      };
      check();
    });
  }

  /**
   * Records a refusal Gatehouse answers itself, before any statement is decided (a message it will
   * not read, a per-session limit): a `refusal` event with the rule and the message the client gets,
   * never the statement's text (a password in it would not be redacted there). A client can send
   * such messages by the thousand: past the first few under a rule they are counted, and the count
   * is recorded before the session ends (refusal-cap.ts). Returns the refusal.
   */
  private refusedOwn(request: string, ruleId: string, refusal: PgError): PgError {
    const session = this.session;
    if (session)
      this.refusals.record(session, { request, ruleId, message: refusal.message, code: refusal.sqlState });
    return refusal;
  }

  /**
   * A prepared statement or portal that cannot be added: PostgreSQL's own error for a duplicate name
   * (42P05, not recorded: the server answers so too), Gatehouse's limit otherwise (recorded).
   */
  private sessionObjectRefusal(request: string, problem: { code: string; message: string }): PgError {
    const refusal = new PgError(problem.code, problem.message);
    return problem.code === '54000' ? this.refusedOwn(request, SESSION_OBJECTS_LIMIT_RULE, refusal) : refusal;
  }

  /**
   * Refuses a text holding an identifier the upstream, reading in its database encoding, may take for
   * another name than the parser read (truncated at another character, or folded to lower case by
   * its locale: class 180). Only sessions whose upstream database is not UTF-8 scan, and only texts
   * that may hold a non-ASCII identifier.
   */
  private identifierRefusal(request: string, text: string): PgError | undefined {
    const scanner = this.identifierScanner;
    if (scanner === undefined || (!/[\u0080-\uffff]/.test(text) && !/u&"/i.test(text))) return undefined;
    // The scanner runs on the event loop, and its cost grows with the tokens (about 1.5 s a MiB of
    // short words): past the length classified inline, the text is refused rather than scanned.
    if (text.length > IDENTIFIER_SCAN_CHARS)
      return this.refusedOwn(
        request,
        SERVER_ENCODING_RULE,
        new PgError(
          SqlState.FeatureNotSupported,
          `Gatehouse: the upstream database's encoding is ${scanner.encoding ?? 'unknown'}, not UTF8, so Gatehouse ` +
            `checks the names of a statement holding non-ASCII characters before it is sent, and this one is longer ` +
            `than the ${IDENTIFIER_SCAN_CHARS} characters it checks; send non-ASCII values as bind parameters or ` +
            `with COPY, or the statement in smaller parts.`,
        ),
      );
    const bytes = Buffer.from(text, 'utf8');
    const scan = scanner.runtime.scan(bytes);
    // A text the scanner cannot read does not parse either, and is refused as unparsed.
    if (!scan.ok) return undefined;
    const why = identifierReadOtherwise(bytes, scan.tokens, scanner.encoding);
    if (why === undefined) return undefined;
    return this.refusedOwn(
      request,
      SERVER_ENCODING_RULE,
      new PgError(SqlState.FeatureNotSupported, `Gatehouse: ${why}.`),
    );
  }

  private lexerRefusal(): PgError {
    return new PgError(
      SqlState.FeatureNotSupported,
      'Gatehouse: this statement holds non-ASCII characters or backslashes and was sent after an Execute ' +
        'in the same pipeline without a Sync; Gatehouse cannot yet confirm how the server will read it. Send Sync first.',
      undefined,
      'lexer-barrier',
    );
  }

  /** Resolves once no ReadyForQuery is outstanding: the transaction status is then exact. */
  private quiet(): Promise<void> | undefined {
    if (!this.tracker.awaitsReady) return undefined;
    return new Promise((resolve) => {
      const check = () => {
        if (this.isClosed || !this.tracker.awaitsReady) resolve();
        else this.settledWaiters.push(check);
      };
      check();
    });
  }

  /**
   * Gives the batch about to go upstream the access mode it needs (read-only-reads.ts): read-write
   * for an admitted write, read-only again for anything else. Waits for outstanding answers only when
   * a step may be needed (a write, or the first batch after one). Undefined when no step is needed:
   * the caller then goes on in the same turn, with no await.
   */
  private accessMode(write: boolean): Promise<void> | undefined {
    return this.readOnly.needsStep(write) ? this.stepAccessMode(write) : undefined;
  }

  private async stepAccessMode(write: boolean): Promise<void> {
    await this.quiet();
    if (this.isClosed) return;
    const step = this.readOnly.step(write, this.txStatus);
    if (step !== undefined) this.sendOwn(step);
  }

  /** accessMode for a batch that runs `st` (and what it names). */
  private accessModeFor(st: SqlStatement | undefined): Promise<void> | undefined {
    if (!this.readOnly.enforced) return undefined;
    return this.accessMode(needsReadWrite(this.runsOf(st, NO_PENDING)));
  }

  private sendOwn(sql: ModeStep): void {
    this.tracker.push({
      kind: 'own',
      sql,
      done: (ok) => {
        if (ok || this.isClosed) return;
        this.deps.logger.warn({ session: this.session?.id, sql }, 'access mode step failed; session ended');
        this.fatal(
          SqlState.ConnectionFailure,
          `Gatehouse ended this session: it could not set the transaction access mode (${sql}), and runs this session's reads read-only`,
        );
      },
    });
    for (const m of OWN_STEPS.get(sql)!) void this.forward(m);
  }

  /** The statements `st` runs: itself, and the prepared statements or cursors it names. */
  private runsOf(st: SqlStatement | undefined, pending: PendingObjects): (SqlStatement | undefined)[] {
    if (st === undefined) return [];
    const uses = this.state.resolveUses(st, pending);
    return uses.ok ? [st, ...uses.inherited] : [st];
  }

  private async onQuery(f: Frame): Promise<void> {
    let text: string;
    try {
      ({ text } = strictText(f.body, 0));
    } catch (e) {
      if (!(e instanceof InvalidEncoding)) throw e;
      return this.refuseQuery(this.refusedOwn('simple-query', INVALID_ENCODING_RULE, INVALID_ENCODING));
    }
    if (f.body.length !== Buffer.byteLength(text) + 1)
      throw new ProtocolError('invalid Query message format');
    const lexing = this.lexerSettled(text);
    const settled = lexing instanceof Promise ? await lexing : lexing;
    if (this.isClosed) return;
    if (!settled)
      return this.refuseQuery(this.refusedOwn('simple-query', LEXER_BARRIER_RULE, this.lexerRefusal()));
    const misread = this.identifierRefusal('simple-query', text);
    if (misread) return this.refuseQuery(misread);
    // Each statement costs a decision, an admission and a record entry before any is forwarded:
    // past the bound, nothing of the Query is parsed (when a count without parsing tells), decided,
    // forwarded or recorded but the refusal (class 169).
    const most = this.deps.settings().maxStatementsPerQuery;
    const counted = mayHoldMoreThan(text, most) ? statementsAtLeast(text, most, PRECOUNT_CHARS) : 0;
    if (counted > most) return this.tooManyStatements(`at least ${counted}`, most);
    const session = this.session!;
    const classifying = this.classifySent(text);
    // Only a long text waits (for the worker thread); a short one is decided in this turn, as before.
    const classification = classifying instanceof Promise ? await classifying : classifying;
    if (this.isClosed) return;
    if (classification.statements.length > most)
      return this.tooManyStatements(String(classification.statements.length), most);
    // A use of a prepared statement or cursor is decided on what the server holds under its name.
    const answered = this.objectsAnsweredFor(classification.statements);
    if (answered) {
      await answered;
      if (this.isClosed) return;
    }
    const runs: QueryRun[] = [];
    let refusal: GatewayError | undefined;
    // A string holding a write runs whole in the read-write transaction Gatehouse opens for it.
    let writes = false;
    // Every statement is decided first; reads are then decided as writes too if the string runs in a
    // read-write transaction — unless a statement is refused on its own, which then answers for it.
    const decided: {
      statement: SqlStatement;
      decision: Decision;
      lineage?: StatementLineage;
      hiddenCode: boolean;
      /** What it runs (runsOf, with what earlier statements of the string create). */
      runs: (SqlStatement | undefined)[];
    }[] = [];
    const decidePending = newPendingObjects();
    for (const statement of classification.statements) {
      const d = await this.decideWithLineage(statement, 'simple-query', decidePending, false);
      if (this.isClosed) return;
      const runsOf = this.runsOf(statement, decidePending);
      const hiddenCode = runsHiddenCode(runsOf) || this.unseenCode.has(statement);
      decided.push({ statement, ...d, hiddenCode, runs: runsOf });
      writes ||= needsReadWrite(runsOf);
      notePending(decidePending, statement, hiddenCode);
    }
    if (
      ((this.readOnly.enforced && writes) ||
        this.readOnly.mayRunReadWrite(this.txStatus, this.tracker.awaitsReady)) &&
      decided.every((d) => d.decision.effect !== 'deny')
    ) {
      for (const d of decided)
        d.decision = this.inWriteTransaction(d.statement, 'simple-query', decidePending, d.decision);
    }
    // A reviewed COPY FROM STDIN: its rows are collected and shown to the approver before it runs.
    for (const d of decided) {
      if (d.decision.effect !== 'review' || d.statement.kind !== 'copy') continue;
      const copy = copyInOf(d.statement.text);
      if (copy === undefined) continue;
      if (decided.length === 1 && !this.tracker.upstreamDiscarding) {
        // The approval binds the session's settings (class 31): known before the rows are asked for.
        const settled = await this.settingsSettled();
        if (this.isClosed) return;
        d.decision = this.knownSettingsFor(d.decision, undefined, !settled);
        if (d.decision.effect === 'review') return this.startReviewedCopy(f, { ...d, writes, copy });
        continue;
      }
      d.decision = { effect: 'deny', ruleId: COPY_REVIEW_ALONE_RULE, message: REVIEWED_COPY_NOT_ALONE };
    }
    const pending = newPendingObjects();
    // What each statement creates dates from the epoch it runs at; code Gatehouse cannot see into
    // starts a new one for what follows it (ProtocolState.epoch).
    let epoch = this.state.epoch;
    const earlier: SqlStatement[] = [];
    // What each admitted statement runs, alongside `runs`.
    const ranOf: (typeof decided)[number][] = [];
    for (const d of decided) {
      const { statement, lineage, hiddenCode } = d;
      let { decision } = d;
      // Settings changed earlier in this string have not run yet: the statement runs under them.
      const after = earlier.some((e) => e.settings !== undefined || e.kind === 'rollback to savepoint')
        ? this.state.settingsAfter(earlier)
        : undefined;
      const unseen = this.unseenByPreview(decision, ranOf);
      earlier.push(statement);
      if (decision.effect === 'review') {
        const settled = await this.settingsSettled();
        if (this.isClosed) return;
        decision = this.knownSettingsFor(decision, after?.unknown, !settled);
      }
      const admission = await session.admit(
        this.action(
          statement,
          'simple-query',
          undefined,
          undefined,
          undefined,
          undefined,
          after?.settings,
          undefined,
          unseen,
        ),
        { decision, ...this.holdOptions() },
      );
      if (!admission.allowed) {
        refusal =
          statement.parseError !== undefined
            ? new PgError(
                SqlState.SyntaxError,
                statement.parseError,
                (statement.parseErrorPosition ?? 0) + 1,
                'unparseable',
              )
            : admission.error;
        break;
      }
      if (lineage) sqlMaskerOf(admission.masker)?.useLineage(lineage, hiddenCode);
      const run: Run = {
        admission,
        statement,
        rows: 0,
        ...(decided.length > 1 ? { inQueryBlock: true } : {}),
      };
      const queryRun: QueryRun = { run, statement, epoch };
      if (hiddenCode) queryRun.after = ++epoch;
      runs.push(queryRun);
      ranOf.push(d);
      this.relay.noteMasker(admission.masker);
      notePending(pending, statement, hiddenCode);
    }
    if (this.isClosed) return;
    if (refusal) {
      for (const r of runs) this.settle(r.run, NOT_EXECUTED_SIBLING_REFUSED);
      return this.refuseQuery(refusal);
    }
    const switching = this.accessMode(writes);
    if (switching) await switching;
    if (this.isClosed) {
      for (const r of runs) this.settle(r.run, NOT_EXECUTED);
      return;
    }
    this.state.simpleQueryStarted();
    if (epoch !== this.state.epoch) {
      this.state.advanceEpoch(epoch - this.state.epoch);
      // FETCH or MOVE of a cursor of such code: the cursor keeps its trust (code cannot close a
      // cursor while it runs); applyCompleted does the same when it completes.
      for (const r of runs) if (r.after !== undefined) this.state.ranAt(r.statement, r.after);
    }
    this.syncs++;
    this.execSeq++;
    this.syncedSeq = this.execSeq;
    if (runs.some((r) => r.statement.settings !== undefined)) this.settingChangeSeq = this.execSeq;
    const cursors = this.state.hasCursors;
    if (runs.some((r) => changesSessionObjects(r.statement, cursors))) this.objectChangeSeq = this.execSeq;
    for (const r of runs) this.noteCreates(r.statement);
    this.tracker.push({ kind: 'query', runs, index: 0, execSeq: this.execSeq }, f.body.length);
    // Each COPY FROM STDIN of the string reads, in turn, the rows that follow (copy-in-record.ts).
    for (const r of runs) if (isCopyFromStdin(r.statement)) this.openCopy(r.run);
    runs.forEach((r, i) => {
      if (ClientConnection.discardsTemporary(r.statement)) r.temporaryCut = this.temporaryNoted;
      this.noteUncommitted(r.statement, ranOf[i]!.runs);
    });
    const sent = this.forward(f.raw);
    if (classification.statements.length === 1 && isPlainBegin(classification.statements[0]))
      this.readOnly.forwardedLoneBegin();
    return sent;
  }

  /** A Query of more than maxStatementsPerQuery statements (`held`: how many), refused whole. */
  private tooManyStatements(held: string, most: number): Promise<void> | undefined {
    return this.refuseQuery(
      this.refusedOwn(
        'simple-query',
        TOO_MANY_STATEMENTS_RULE,
        new PgError(
          SqlState.ProgramLimitExceeded,
          `Gatehouse: this query string holds ${held} statements, more than the ${most} one Query may hold ` +
            '(listeners.postgres.maxStatementsPerQuery); none of it was run. Send it in smaller parts.',
        ),
      ),
    );
  }

  /**
   * A COPY FROM STDIN that needs approval (copy-in-review.ts): Gatehouse answers CopyInResponse itself,
   * as the server would, and collects the rows; nothing is forwarded until the approval, asked for at
   * CopyDone with the rows bound.
   */
  private async startReviewedCopy(
    query: Frame,
    d: Omit<ReviewedCopy, 'rows' | 'query'> & { copy: CopyIn },
  ): Promise<void> {
    const columns = d.copy.listedColumns ?? (await this.copyColumns(d.copy.relation));
    if (this.isClosed) return;
    this.state.simpleQueryStarted();
    this.copyIn = {
      statement: d.statement,
      decision: d.decision,
      ...(d.lineage ? { lineage: d.lineage } : {}),
      hiddenCode: d.hiddenCode,
      writes: d.writes,
      query: query.raw,
      rows: new CopyInRows(d.copy.format, MAX_REVIEWED_COPY_BYTES, d.copy.encoding),
    };
    this.tracker.push({ kind: 'synthetic', bytes: encode.copyInResponse(d.copy.format, columns) });
    this.flushOwnAnswers();
  }

  /**
   * How many columns a COPY without a column list loads, for the CopyInResponse Gatehouse sends in the
   * server's place: the table's live columns as the catalog gives them; 0 when the name is not one
   * table there (clients take the count from the rows they send; the server checks them).
   */
  private async copyColumns(relation: CopyIn['relation']): Promise<number> {
    const catalog = catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes);
    let found = catalog.relations(relation.schema, relation.name);
    if (found === undefined) {
      await catalog.loadNames({ relations: [relation.name], functions: [], operators: [] });
      found = catalog.relations(relation.schema, relation.name);
    }
    if (found === undefined || found === UNAVAILABLE || found.length !== 1) return 0;
    return found[0]!.columns.length;
  }

  /** A client message while the rows of a reviewed COPY are collected (PostgreSQL's copy-in, 55.2.6). */
  private onReviewedCopyFrame(copy: ReviewedCopy, f: Frame): Promise<void> | undefined {
    switch (f.type) {
      case FrontendCode.CopyData:
        if (copy.rows.add(f)) return undefined;
        this.copyIn = undefined;
        this.copyInDropping = true;
        return this.refuseQuery(
          this.refusedOwn(
            'simple-query',
            COPY_REVIEW_LIMIT_RULE,
            new PgError(SqlState.ProgramLimitExceeded, reviewedCopyTooLarge(MAX_REVIEWED_COPY_BYTES)),
          ),
        );
      case FrontendCode.CopyDone:
        if (f.body.length !== 0) throw new ProtocolError('invalid CopyDone message format');
        this.copyIn = undefined;
        return this.runReviewedCopy(copy);
      case FrontendCode.CopyFail: {
        this.copyIn = undefined;
        this.copyInDropping = true;
        const { text } = strictText(f.body, 0);
        return this.refuseQuery(new PgError(SqlState.QueryCanceled, `COPY from stdin failed: ${text}`));
      }
      case FrontendCode.Flush:
      case FrontendCode.Sync:
        // PostgreSQL ignores both during COPY FROM STDIN (libpq may send them without noticing).
        return undefined;
      case FrontendCode.Terminate:
        this.copyIn = undefined;
        return this.onRelayFrame(f);
      default: {
        this.copyIn = undefined;
        this.copySyncLost(f.type);
        return undefined;
      }
    }
  }

  /** CopyDone of a reviewed COPY: the approval, with the rows bound; then the statement and its rows. */
  private async runReviewedCopy(copy: ReviewedCopy): Promise<void> {
    const session = this.session!;
    const rows = copy.rows.body();
    const action = this.action(
      copy.statement,
      'simple-query',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      rows,
    );
    const admission = await session.admit(action, { decision: copy.decision, ...this.holdOptions() });
    if (this.isClosed) {
      if (admission.allowed) this.session?.settle(admission, NOT_EXECUTED);
      return;
    }
    if (!admission.allowed) return this.refuseQuery(admission.error);
    // The rows approved are recorded before they go upstream, as an allowed COPY's are (copy-in-record.ts).
    const target = new CopyTarget(admission.statementId);
    const writes = copyParts(copy.rows.bodies()).map((bodies) =>
      session.recordFor(admission.statementId, COPY_DATA_EVENT, target.part(bodies)),
    );
    writes.push(session.recordFor(admission.statementId, COPY_END_EVENT, target.end('done')));
    try {
      await Promise.all(writes);
    } catch {
      session.settle(admission, NOT_EXECUTED);
      this.copyRecordFailed();
      return;
    }
    if (this.isClosed) {
      session.settle(admission, NOT_EXECUTED);
      return;
    }
    if (copy.lineage) sqlMaskerOf(admission.masker)?.useLineage(copy.lineage, copy.hiddenCode);
    const run: QueryRun = { run: { admission, rows: 0 }, statement: copy.statement, epoch: this.state.epoch };
    if (copy.hiddenCode) run.after = this.state.epoch + 1;
    this.relay.noteMasker(admission.masker);
    const switching = this.accessMode(copy.writes);
    if (switching) await switching;
    if (this.isClosed) {
      this.settle(run.run, NOT_EXECUTED);
      return;
    }
    this.state.simpleQueryStarted();
    if (run.after !== undefined) {
      this.state.advanceEpoch(1);
      this.state.ranAt(copy.statement, run.after);
    }
    this.syncs++;
    this.execSeq++;
    this.syncedSeq = this.execSeq;
    const messages = copy.rows.messages;
    this.tracker.push(
      { kind: 'query', runs: [run], index: 0, execSeq: this.execSeq, copyInAnswered: true },
      copy.query.length,
    );
    this.noteUncommitted(copy.statement);
    // The statement, then exactly the rows the approval is bound to, then CopyDone, in one write.
    return this.forward(Buffer.concat([copy.query, messages, COPY_DONE]));
  }

  private refuseQuery(refusal: GatewayError): Promise<void> | undefined {
    this.state.simpleQueryStarted();
    if (this.answeredAlone(refusal)) return undefined;
    this.syncs++;
    this.execSeq++;
    this.syncedSeq = this.execSeq;
    this.tracker.push({ kind: 'query', runs: [], index: 0, refusal, execSeq: this.execSeq });
    return this.forward(encode.query(POISON_QUERY));
  }

  /**
   * A refused simple Query or FunctionCall with nothing to undo upstream (no transaction, nothing
   * in flight): PostgreSQL would answer it with ErrorResponse and ReadyForQuery(I), and so does
   * Gatehouse, alone; the upstream sees nothing. False when the upstream must see a failing
   * statement (it has a transaction to abort, or answers still to come before this one).
   */
  private answeredAlone(refusal: GatewayError): boolean {
    if (this.txStatus !== 'I' || this.tracker.pending !== 0) return false;
    this.tracker.push({
      kind: 'synthetic',
      bytes: Buffer.concat([this.relay.refusal(refusal), encode.readyForQuery('I')]),
      emitted: () => this.onReady('I', undefined),
    });
    this.flushOwnAnswers();
    return true;
  }

  private async onParse(f: Frame): Promise<void> {
    const nameField = strictText(f.body, 0);
    let textField: { text: string; end: number };
    try {
      textField = strictText(f.body, nameField.end);
    } catch (e) {
      if (!(e instanceof InvalidEncoding)) throw e;
      return this.refuseExtended(this.refusedOwn('parse', INVALID_ENCODING_RULE, INVALID_ENCODING));
    }
    const msg = decodeParse(f.body);
    const name = nameField.text;
    const text = textField.text;
    // A named statement shares its namespace with SQL PREPARE: the name is free or taken as the
    // server finds it once a PREPARE or DEALLOCATE forwarded before is answered (PostgreSQL's 42P05).
    const namesAnswered = name === '' ? undefined : this.objectsAnswered();
    if (namesAnswered) {
      await namesAnswered;
      if (this.isClosed) return;
    }
    const problem = this.state.cannotAddStatement(name, Buffer.byteLength(text));
    if (problem) {
      if (name === '') this.state.removeStatement('');
      return this.refuseExtended(this.sessionObjectRefusal('parse', problem));
    }
    const lexing = this.lexerSettled(text);
    const settled = lexing instanceof Promise ? await lexing : lexing;
    if (this.isClosed) return;
    if (!settled) {
      if (name === '') this.state.removeStatement('');
      return this.refuseExtended(this.refusedOwn('parse', LEXER_BARRIER_RULE, this.lexerRefusal()));
    }
    const misread = this.identifierRefusal('parse', text);
    if (misread) {
      if (name === '') this.state.removeStatement('');
      return this.refuseExtended(misread);
    }
    const classifying = this.classifySent(text);
    // Only a long text waits (for the worker thread); a short one is decided in this turn, as before.
    const classification = classifying instanceof Promise ? await classifying : classifying;
    if (this.isClosed) return;
    const session = this.session!;
    if (classification.statements.length > 1) {
      // PostgreSQL's own error for this (42601); recorded as a refusal like any other.
      const refusal = new PgError(
        SqlState.SyntaxError,
        'cannot insert multiple commands into a prepared statement',
      );
      const whole: SqlStatement = { ...classification.statements[0]!, text };
      await session.admit(this.action(whole, 'parse'), {
        decision: { effect: 'deny', ruleId: 'multiple-commands', message: refusal.message },
      });
      if (name === '') this.state.removeStatement('');
      return this.refuseExtended(refusal);
    }
    const statement = withParamTypes(classification.statements[0], msg.paramTypes);
    const answered = this.objectsAnsweredFor([statement]);
    if (answered) {
      await answered;
      if (this.isClosed) return;
    }
    let decision: Decision | undefined;
    if (statement !== undefined) {
      decision = (await this.decideWithLineage(statement, 'parse', newPendingObjects(), undefined, false))
        .decision;
      if (this.isClosed) return;
      if (decision.effect === 'deny') {
        const admission = await session.admit(this.action(statement, 'parse'), { decision });
        if (name === '') this.state.removeStatement('');
        const refusal =
          statement.parseError !== undefined
            ? new PgError(
                SqlState.SyntaxError,
                statement.parseError,
                (statement.parseErrorPosition ?? 0) + 1,
                'unparseable',
              )
            : admission.allowed
              ? new GatewayError(ERROR_CODES.DENIED, decision.message)
              : admission.error;
        return this.refuseExtended(refusal);
      }
    }
    const entry = this.state.addProtocolStatement(
      {
        client: name,
        text,
        paramTypes: msg.paramTypes,
        statement,
      },
      statement !== undefined && this.unseenCode.has(statement),
    );
    if (decision?.effect === 'review') {
      // Held back: nothing of a statement that needs approval reaches the upstream before Bind,
      // where it is approved with its parameters. The client gets its ParseComplete in order.
      this.tracker.push({
        kind: 'synthetic',
        bytes: PARSE_COMPLETE,
        emitted: () => (entry.confirmed = true),
        dropped: () => this.state.removeStatement(name, entry),
      });
      return undefined;
    }
    const switching = this.accessModeFor(statement);
    if (switching) await switching;
    if (this.isClosed) return;
    return this.forwardParse(entry, false);
  }

  /** Sends a statement's Parse upstream under its upstream name. */
  private forwardParse(entry: StatementEntry, silent: boolean): Promise<void> | undefined {
    entry.materialized = true;
    entry.epoch = this.state.epoch;
    this.tracker.push({
      kind: 'parse',
      silent,
      done: (ok) => {
        if (ok) entry.confirmed = true;
        else this.state.removeStatement(entry.client, entry);
      },
    });
    return this.forward(encode.parse(entry.upstream, entry.text, entry.paramTypes));
  }

  /**
   * Prepares the statement again upstream under a fresh Gatehouse name, with the text Gatehouse
   * decided, and closes the old Gatehouse name: code Gatehouse cannot see into ran since it was
   * prepared and may have replaced what the name holds (DEALLOCATE, then PREPARE of the same name).
   * Both messages are silent (the client sees only its own message's answers). When the Parse
   * fails, its error is the one PostgreSQL gives the Bind in its place (a transaction aborted, a
   * table dropped since): the upstream skips to Sync, and the statement stays untrusted.
   */
  private reparse(entry: StatementEntry): void {
    const old = entry.upstream;
    entry.upstream = this.state.freshStatementName();
    entry.epoch = this.state.epoch;
    const syncs = this.syncs;
    entry.reparsing = syncs;
    this.tracker.push({
      kind: 'parse',
      silent: true,
      done: (ok) => {
        if (entry.reparsing === syncs) delete entry.reparsing;
        if (!ok) entry.epoch = -1;
      },
    });
    void this.forward(encode.parse(entry.upstream, entry.text, entry.paramTypes));
    // An SQL statement's old name is the client's own (DEALLOCATE of it must still find it).
    if (old.startsWith(RESERVED_PREFIX)) {
      this.tracker.push({ kind: 'close', silent: true });
      void this.forward(encode.close('S', old));
    }
  }

  /** Refuses a Bind or Execute whose statement or portal may no longer be what was decided (55000). */
  private refuseReplaced(step: 'bind' | 'execute', message: string): Promise<void> | undefined {
    return this.refuseExtended(
      this.refusedOwn(
        step,
        REPLACED_OBJECT_RULE,
        new PgError(SqlState.ObjectNotInPrerequisiteState, message, undefined, 'replaced-session-object'),
      ),
    );
  }

  /**
   * Bind or Describe of a statement prepared in SQL before code Gatehouse cannot see into ran: its
   * upstream name is the client's own, which SQL reaches too, so it is not prepared again behind
   * the client's back (EXECUTE of it is refused the same way, in resolveUses).
   */
  private refuseReplacedStatement(entry: StatementEntry): Promise<void> | undefined {
    return this.refuseReplaced(
      'bind',
      `Gatehouse: prepared statement "${entry.client}" was prepared before a statement that runs code Gatehouse ` +
        'cannot see into (a DO block, CALL or user-defined function), which may have replaced it upstream; ' +
        'DEALLOCATE it and PREPARE it again',
    );
  }

  /** Execute or Describe of a portal bound before code Gatehouse cannot see into ran. */
  private refuseReplacedPortal(portal: PortalEntry): Promise<void> | undefined {
    this.deps.logger.warn(
      { session: this.session?.id, portal: portal.client },
      'portal bound before code Gatehouse cannot see into; refused',
    );
    return this.refuseReplaced(
      'execute',
      `Gatehouse: portal "${portal.client}" was bound before a statement that runs code Gatehouse cannot see into ` +
        '(a DO block, CALL or user-defined function), which may have replaced it upstream; close it and bind it again',
    );
  }

  /** Execute of a portal of EXECUTE or FETCH whose names were created or dropped since its Bind. */
  private refuseChangedNames(portal: PortalEntry): Promise<void> | undefined {
    return this.refuseReplaced(
      'execute',
      `Gatehouse: portal "${portal.client}" runs a prepared statement or cursor by name, and prepared statements ` +
        'or cursors were created or dropped since it was bound, so it could run something other than what was ' +
        'decided; close it and bind it again',
    );
  }

  private async onBind(f: Frame): Promise<void> {
    const msg = decodeBind(f.body);
    // A statement prepared in SQL is bound upstream by its own name, which a PREPARE or DEALLOCATE
    // forwarded before may be changing, and one that EXECUTEs or FETCHes runs what a name holds: both
    // wait until such changes are answered, and are refused in a pipeline without Sync (class 167).
    const named = this.state.statement(msg.statement);
    if (
      this.objectsInFlight() &&
      (named === undefined || named.origin === 'sql' || usesSessionObjects(named.statement))
    ) {
      const answered = this.objectsAnswered();
      if (answered === undefined) {
        if (msg.portal === '') this.dropPortal('');
        return this.refuseExtended(
          this.refusedOwn(
            'bind',
            OBJECT_IN_FLIGHT_RULE,
            new PgError(
              SqlState.InsufficientPrivilege,
              OBJECT_IN_FLIGHT_MESSAGE,
              undefined,
              OBJECT_IN_FLIGHT_RULE,
            ),
          ),
        );
      }
      await answered;
      if (this.isClosed) return;
    }
    const entry = this.state.statement(msg.statement);
    if (!entry) {
      if (msg.portal === '') this.dropPortal('');
      return this.refuseExtended(
        new PgError(
          '26000',
          msg.statement === ''
            ? 'unnamed prepared statement does not exist'
            : `prepared statement "${msg.statement}" does not exist`,
        ),
      );
    }
    const problem = this.state.cannotAddPortal(msg.portal);
    if (problem) return this.refuseExtended(this.sessionObjectRefusal('bind', problem));
    if (entry.origin === 'sql' && this.state.untrusted(entry, this.syncs)) {
      if (msg.portal === '') this.dropPortal('');
      return this.refuseReplacedStatement(entry);
    }
    let run: Run | undefined;
    if (entry.statement !== undefined) {
      const params = bindParamsAsText(msg);
      // An approval binds, and a preview runs with, the parameters whole, not the record's clip.
      const paramsInFull = bindClipsParams(msg)
        ? () => bindParamsAsText(msg, Number.POSITIVE_INFINITY)
        : undefined;
      const decided = await this.decideWithLineage(entry.statement, 'parse', newPendingObjects());
      const { lineage } = decided;
      let { decision } = decided;
      if (this.isClosed) return;
      if (decision.effect === 'review') {
        const settled = await this.settingsSettled();
        if (this.isClosed) return;
        decision = this.knownSettingsFor(decision, [], !settled);
      }
      const admission = await this.session!.admit(
        this.action(
          entry.statement,
          'parse',
          params,
          paramsInFull,
          msg.paramFormats,
          entry.paramTypes,
          undefined,
          undefined,
          this.unseenByPreview(decision),
        ),
        {
          decision,
          ...this.holdOptions(),
        },
      );
      if (this.isClosed) return;
      if (!admission.allowed) {
        if (msg.portal === '') this.dropPortal('');
        return this.refuseExtended(admission.error);
      }
      if (lineage) {
        const runsCode =
          entry.hiddenCode ||
          this.unseenCode.has(entry.statement) ||
          runsHiddenCode(this.runsOf(entry.statement, NO_PENDING));
        sqlMaskerOf(admission.masker)?.useLineage(lineage, runsCode);
      }
      this.relay.noteMasker(admission.masker);
      run = { admission, statement: entry.statement, rows: 0 };
    }
    const switching = this.accessModeFor(entry.statement);
    if (switching) await switching;
    if (this.isClosed) {
      if (run) this.settle(run, NOT_EXECUTED);
      return;
    }
    // A statement held back for approval goes upstream now, just before its Bind; one prepared
    // before code Gatehouse cannot see into ran is prepared again, under a fresh name.
    if (!entry.materialized) void this.forwardParse(entry, true);
    else if (this.state.untrusted(entry, this.syncs)) this.reparse(entry);
    // Planning may evaluate functions: code Gatehouse cannot see into may run from here on. The
    // portal this Bind creates runs that very code, and keeps its trust.
    const hiddenCode =
      entry.hiddenCode ||
      (entry.statement !== undefined && this.unseenCode.has(entry.statement)) ||
      (entry.statement?.sessionObjects !== undefined &&
        runsHiddenCode(this.runsOf(entry.statement, NO_PENDING)));
    if (hiddenCode) this.state.advanceEpoch();
    const { portal, replaced } = this.state.addPortal({
      client: msg.portal,
      statement: entry,
      resultFormats: msg.resultFormats,
      run,
      objectSeq: this.objectChangeSeq,
      hiddenCode,
    });
    if (replaced) this.endPortal(replaced);
    this.execSeq++; // planning may evaluate functions
    this.tracker.push(
      {
        kind: 'bind',
        done: (ok) => {
          if (ok) portal.confirmed = true;
          else {
            this.state.removePortal(portal.client, portal);
            if (portal.run) this.settle(portal.run, NOT_EXECUTED);
          }
        },
      },
      // The portal's run keeps the parameters (as text, clipped) for the record until it settles.
      f.body.length,
    );
    return this.forward(rewriteBind(f.body, portal.upstream, entry.upstream));
  }

  private async onExecute(f: Frame): Promise<void> {
    const msg = decodeExecute(f.body);
    const portal = this.state.portal(msg.portal);
    if (!portal) {
      return this.refuseExtended(new PgError('34000', `portal "${msg.portal}" does not exist`));
    }
    if (this.state.portalUntrusted(portal)) return this.refuseReplacedPortal(portal);
    // A portal of EXECUTE or FETCH looks the name up when it first runs (PostgreSQL's ExecuteQuery,
    // PerformPortalFetch): a name changed since its Bind was decided would run something else (class 167).
    if (
      !portal.started &&
      portal.objectSeq !== this.objectChangeSeq &&
      usesSessionObjects(portal.statement.statement)
    )
      return this.refuseChangedNames(portal);
    // What it creates counts against the session's bounds now, with what was created since its Bind
    // was decided (a batch of Binds of PREPARE, then their Executes: class 184).
    const creating = portal.started ? undefined : portal.statement.statement;
    const room = creating && this.state.cannotCreate(creating, NO_PENDING, this.createsInFlight());
    if (room) return this.refuseExtended(this.sessionObjectRefusal('execute', room));
    try {
      this.session!.assertActive();
    } catch (e) {
      this.fatal(SqlState.InvalidAuthorizationSpecification, (e as Error).message);
      return;
    }
    const switching = this.accessModeFor(portal.statement.statement);
    if (switching) await switching;
    if (this.isClosed) return;
    const run = portal.run;
    // Masking needs the columns of this very portal: describe it first when the client did not.
    if (run?.admission.masker.active && portal.columns === undefined) void this.describePortal(portal, true);
    if (portal.hiddenCode) {
      // Code Gatehouse cannot see into runs: every object created before it is untrusted from
      // here on, except this portal, which runs it (its next Execute of a suspended portal).
      this.state.advanceEpoch();
      portal.epoch = this.state.epoch;
    }
    this.execSeq++;
    // What a SQL statement run through a portal changes in the session (PREPARE, DEALLOCATE,
    // DECLARE, CLOSE, SET…) is applied on its CommandComplete, as for a simple Query's statements:
    // otherwise the server's prepared statement or cursor could be replaced while Gatehouse kept
    // deciding and masking it as the old one (docs/security.md, class 30). Only the Execute that
    // completes the portal applies it (a completed portal does not run again).
    const epoch = this.state.epoch;
    const temporaryCut = this.temporaryNoted;
    portal.started = true;
    if (portal.statement.statement?.settings !== undefined) this.settingChangeSeq = this.execSeq;
    if (changesSessionObjects(portal.statement.statement, this.state.hasCursors))
      this.objectChangeSeq = this.execSeq;
    this.noteCreates(creating);
    this.executing.set(portal, (this.executing.get(portal) ?? 0) + 1);
    this.tracker.push({
      kind: 'execute',
      run,
      portal: portal.client,
      done: (finished) => {
        const pending = (this.executing.get(portal) ?? 1) - 1;
        if (pending > 0) this.executing.set(portal, pending);
        else this.executing.delete(portal);
        // A portal replaced or closed while this Execute was in flight ends once it is answered.
        // After the answer is settled (an error, or onDropped for one the session's end dropped).
        if (pending === 0 && this.endedExecuting.delete(portal) && !finished)
          queueMicrotask(() => this.endPortal(portal));
        if (!finished || portal.finished) return;
        portal.finished = true;
        const st = portal.statement.statement;
        // An extended-protocol batch is a transaction until its Sync: a cursor it declares
        // outlives it only WITH HOLD and only if the batch commits.
        if (st) this.state.applyCompleted(st, true, epoch, portal.hiddenCode ? epoch : undefined);
        this.discardedTemporary(st, temporaryCut);
      },
    });
    // A COPY FROM STDIN reads the rows that follow its Execute (copy-in-record.ts).
    if (run && isCopyFromStdin(portal.statement.statement)) this.openCopy(run);
    this.noteUncommitted(portal.statement.statement);
    const sent = this.forward(encode.execute(portal.upstream, msg.maxRows));
    if (isPlainBegin(portal.statement.statement)) this.readOnly.forwardedLoneBegin();
    return sent;
  }

  private onDescribe(f: Frame): Promise<void> | undefined {
    const t = decodeTarget(f.body);
    if (t.target === 'P') {
      const portal = this.state.portal(t.name);
      if (!portal) return this.refuseExtended(new PgError('34000', `portal "${t.name}" does not exist`));
      if (this.state.portalUntrusted(portal)) return this.refuseReplacedPortal(portal);
      return this.describePortal(portal, false);
    }
    const entry = this.state.statement(t.name);
    if (!entry) {
      return this.refuseExtended(
        new PgError(
          '26000',
          t.name === ''
            ? 'unnamed prepared statement does not exist'
            : `prepared statement "${t.name}" does not exist`,
        ),
      );
    }
    if (!entry.materialized) return this.describeHeld(entry);
    if (this.state.untrusted(entry, this.syncs)) {
      if (entry.origin === 'sql') return this.refuseReplacedStatement(entry);
      this.reparse(entry);
    }
    this.tracker.push({ kind: 'describe', statement: true });
    return this.forward(encode.describe('S', entry.upstream));
  }

  /**
   * Describe of a statement held back for approval (class 214). Its own text does not go upstream
   * before it is decided: PostgreSQL's Parse runs the input functions of its literals, and a domain's
   * CHECK with them. The server describes the same text with every string literal replaced by NULL
   * (typed alike, read by no input function), prepared under a name of Gatehouse's own and closed
   * at once; where Gatehouse cannot make such a text, the Describe is refused.
   */
  private async describeHeld(entry: StatementEntry): Promise<void> {
    const runtime = await sharedParserRuntime();
    if (this.isClosed) return;
    const text = describeText(runtime, entry.text);
    if (text === undefined)
      return this.refuseExtended(
        this.refusedOwn(
          'describe',
          HELD_DESCRIBE_RULE,
          new PgError(
            SqlState.FeatureNotSupported,
            'Gatehouse: this statement is held for review and cannot be described before it is approved: ' +
              'the server would run the input of its literals to describe it; send its values as parameters, ' +
              'or Bind and Execute it without a Describe',
            undefined,
            HELD_DESCRIBE_RULE,
          ),
        ),
      );
    const name = this.state.freshStatementName();
    this.tracker.push({ kind: 'parse', silent: true });
    void this.forward(encode.parse(name, text, entry.paramTypes));
    this.tracker.push({ kind: 'describe', statement: true });
    void this.forward(encode.describe('S', name));
    this.tracker.push({ kind: 'close', silent: true });
    return this.forward(encode.close('S', name));
  }

  /** Describe of a portal: its columns are remembered, and plan the masking of its rows. */
  private describePortal(portal: PortalEntry, silent: boolean): Promise<void> | undefined {
    this.tracker.push({
      kind: 'describe',
      statement: false,
      silent,
      columns: (columns: ColumnDescription[] | undefined, raw: Buffer) => {
        const relay = () => {
          if (!silent) this.relay.emit(raw);
        };
        const run = portal.run;
        if (columns === undefined) {
          portal.columns = [];
          relay();
          return false;
        }
        if (run?.admission.masker.active) {
          return this.relay.planColumns(run, columns, (resolved) => {
            portal.columns = resolved;
            relay();
          });
        }
        portal.columns = columns;
        if (run?.admission.sampler) {
          run.formats = columns.map((c) => c.format);
          run.admission.sampler.columns(columns.map((c) => c.name));
        }
        relay();
        return false;
      },
    });
    return this.forward(encode.describe('P', portal.upstream));
  }

  private onClose(f: Frame): Promise<void> | undefined {
    const t = decodeTarget(f.body);
    if (t.target === 'S') {
      const entry = this.state.statement(t.name);
      this.state.removeStatement(t.name);
      if (!entry || !entry.materialized) {
        // Closing a name that does not exist is not an error (55.2.3); nothing upstream to close.
        this.tracker.push({ kind: 'synthetic', bytes: CLOSE_COMPLETE });
        return undefined;
      }
      // The name is free for the rest of the batch, as upstream; a Close the server skips (after an
      // error earlier in the batch) leaves the statement there, and in the model.
      this.tracker.push({
        kind: 'close',
        done: (ok) => {
          if (!ok) this.state.restoreStatement(entry);
        },
      });
      return this.forward(encode.close('S', entry.upstream));
    }
    const portal = this.state.removePortal(t.name);
    if (!portal) {
      this.tracker.push({ kind: 'synthetic', bytes: CLOSE_COMPLETE });
      return undefined;
    }
    this.endPortal(portal);
    this.tracker.push({ kind: 'close' });
    return this.forward(encode.close('P', portal.upstream));
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
      // What it acts on is an argument Gatehouse does not read (class 113).
      reachesUnknown: true,
    };
    // Its arguments are its parameters: shown to an approver whole, bound to an approval with their
    // formats, and recorded, as a Bind's are (class 133).
    const asBind = functionCallAsBind(msg);
    const params = bindParamsAsText(asBind);
    const paramsInFull = bindClipsParams(asBind)
      ? () => bindParamsAsText(asBind, Number.POSITIVE_INFINITY)
      : undefined;
    const action = this.action(statement, 'function-call', params, paramsInFull, msg.argFormats);
    let decision = this.session!.decide(action);
    // A function named by OID runs code Gatehouse cannot trace: under column rules its result is
    // refused or withheld like any other untraceable result.
    const rules =
      decision.effect === 'deny' ? undefined : this.deps.lineage?.rules(decision.obligations, [statement]);
    const reason = `fast-path function call (OID ${msg.functionOid}) runs a function Gatehouse cannot see into`;
    const lineage: StatementLineage | undefined = rules
      ? {
          outputs: undefined,
          combined: { sources: [], direct: false, unproven: reason },
          reads: [],
          predicates: [],
          unprovenReads: reason,
          sinks: [],
          // lo_import by OID stores a server file in a large object, as by name (class 247).
          writes: SERVER_FILE_IMPORT_OIDS.has(msg.functionOid)
            ? [
                {
                  targets: [],
                  label: `a large object (lo_import, OID ${msg.functionOid})`,
                  lineage: { sources: [], direct: false, unproven: SERVER_FILE_REASON },
                },
              ]
            : [],
          statistics: [],
        }
      : undefined;
    if (rules && lineage) {
      const extra = lineageDecision(
        rules.findings(lineage),
        this.target!.lineage ?? DEFAULT_LINEAGE_SETTINGS,
        this.session!.identity.agent,
        decision,
      );
      if (extra) decision = strictest([decision, extra]);
    }
    let admitted = action;
    if (decision.effect === 'review') {
      // An approval binds the settings it runs under: those of every change answered before it.
      const settled = await this.settingsSettled();
      if (this.isClosed) return;
      decision = this.knownSettingsFor(decision, [], !settled);
      admitted = this.action(
        statement,
        'function-call',
        params,
        paramsInFull,
        msg.argFormats,
        undefined,
        undefined,
        undefined,
        this.unseenByPreview(decision),
      );
    }
    const admission = await this.session!.admit(admitted, { decision, ...this.holdOptions() });
    if (this.isClosed) return;
    // A function named by OID may be anyone's code (class 245).
    if (admission.allowed && lineage) sqlMaskerOf(admission.masker)?.useLineage(lineage, true);
    if (!admission.allowed && this.answeredAlone(admission.error)) return;
    if (admission.allowed) {
      const switching = this.accessModeFor(statement);
      if (switching) await switching;
      if (this.isClosed) {
        this.settle({ admission, rows: 0 }, NOT_EXECUTED);
        return;
      }
    }
    this.syncs++;
    this.execSeq++;
    this.syncedSeq = this.execSeq;
    if (!admission.allowed) {
      this.tracker.push({
        kind: 'function',
        run: undefined,
        refusal: admission.error,
        execSeq: this.execSeq,
      });
      return this.forward(encode.query(POISON_QUERY));
    }
    this.relay.noteMasker(admission.masker);
    // A function named by OID may be anything, code that replaces prepared statements included.
    this.state.advanceEpoch();
    this.tracker.push(
      { kind: 'function', run: { admission, rows: 0 }, execSeq: this.execSeq },
      f.body.length,
    );
    this.noteUncommitted(statement);
    return this.forward(f.raw);
  }

  /**
   * What an admission needs from the connection: the signal that withdraws a held request (Ctrl-C,
   * disconnect), and the hold listener, so the client hears at once that its statement is held and
   * where to approve it, in a NoticeResponse (psql prints it while it waits), and again when it ends.
   */
  private holdOptions(): {
    signal: AbortSignal;
    onHeld: (n: HeldNotice) => void;
    onHoldSettled: (n: HoldSettledNotice) => void;
  } {
    return {
      signal: this.abort.signal,
      onHeld: (n) => this.notice(n.message, `request ${n.requestId}: ${n.url}`),
      onHoldSettled: (n) => this.notice(n.message),
    };
  }

  /** A NoticeResponse now, after whatever is already queued for the client (55.2.6: any time). */
  private notice(message: string, detail?: string): void {
    if (this.isClosed || this.socket.destroyed) return;
    const pending = this.phase === 'relay' ? this.relay.out.take() : undefined;
    const notice = encode.noticeResponse({
      severity: 'NOTICE',
      code: '00000',
      message: `Gatehouse: ${message}`,
      ...(detail ? { detail } : {}),
    });
    this.socket.write(pending ? Buffer.concat([pending, notice]) : notice);
  }

  /** Refuses an extended-protocol message: the upstream sees a failing Parse (POISON_PARSE), so it skips
   * to Sync exactly as after any error, and the client gets our ErrorResponse in that position. */
  private refuseExtended(refusal: GatewayError): Promise<void> | undefined {
    this.skipUntilSync = true;
    if (this.txStatus === 'I' && this.execSeq === this.syncedSeq && !this.tracker.awaitsReady) {
      // No transaction, and nothing since the last Sync that an error would roll back (no Bind or
      // Execute; a Parse, Describe or Close in flight changes nothing a rollback undoes): the error
      // goes in its place, the client's messages up to Sync are skipped here, and the upstream sees
      // only the Sync. If an upstream error comes first, it is skipped there as in PostgreSQL.
      this.tracker.push({ kind: 'synthetic', bytes: this.relay.refusal(refusal) });
      this.flushOwnAnswers();
      return undefined;
    }
    this.tracker.push({ kind: 'refusal', refusal });
    return this.forward(POISON_PARSE);
  }

  /**
   * Sends what Gatehouse answered itself, if it reached the head of the queue: no upstream data
   * will come to carry it (the relay writes its output only as upstream frames arrive).
   */
  private flushOwnAnswers(): void {
    if (this.stalled) return;
    const data = this.relay.out.take();
    if (data && !this.isClosed) this.socket.write(data);
  }

  /** The unnamed portal goes when a Bind to it fails, as in PostgreSQL. */
  private dropPortal(client: string): void {
    const p = this.state.removePortal(client);
    if (p) this.endPortal(p);
  }

  /** A portal is gone: its run is recorded with what it returned so far, if it had not finished. */
  private endPortal(p: PortalEntry): void {
    // An Execute of it still in flight (a pipelined Bind replaced it, a Close or Sync came after it):
    // the server's answer to that Execute says what ran, not the portal's end (class 402).
    if ((this.executing.get(p) ?? 0) > 0) {
      this.endedExecuting.add(p);
      return;
    }
    if (p.run && !p.finished) {
      if (p.run.rows === 0) this.settle(p.run, NOT_EXECUTED);
      // A write with RETURNING (or a writable WITH) ran whole at its first Execute; the client took
      // some of its rows and let the portal go, so the server never said how many rows it changed.
      // The record must not read as that many (class 68): it keeps no count.
      else if (needsReadWrite([p.statement.statement])) this.settle(p.run, {});
      else this.settle(p.run, { rows: p.run.rows });
    }
  }

  private settle(
    run: Run,
    settled: { rows?: number; error?: { code: string; message: string }; tag?: string },
  ): void {
    // A COPY whose run ends before the server said it started never started.
    if (this.copyPending.length > 0) this.copyStart(run, false);
    if (run.settled) return;
    run.settled = true;
    const { tag, ...result } = settled;
    if (result.error?.code !== NOT_EXECUTED.error.code) {
      const log = this.transactionLog;
      log.runs++;
      log.lastRunFailed = result.error !== undefined;
      if (result.error?.code === OUTCOME_UNKNOWN.error.code) log.unknown = true;
      if (tag === 'BEGIN' || tag === 'START TRANSACTION') log.begun = true;
      if (
        PROCEDURE_KINDS.has(run.statement?.kind ?? '') &&
        run.inQueryBlock !== true &&
        !(log.chained || log.begun || (!log.afterEnd && this.txStatus !== 'I'))
      )
        log.procedureControl = true;
      const ended = followTransaction(log, run.admission.statementId, result.error ? undefined : tag, run);
      if (ended && tag !== undefined) {
        log.endTag = tag;
        log.failedAfterEnd = false;
        // The transaction ended here, not at the next idle ReadyForQuery: what follows in the same
        // query string or batch is another transaction (chained, or implicit unless it BEGINs).
        this.transactionLog = newTransactionLog(
          run.statement?.chain ? { chained: true } : { afterEnd: true },
        );
        this.noteTransaction(log, this.txStatus !== 'I');
      }
    }
    this.session?.settle(run.admission, result);
    if (result.error !== undefined) this.countResourceFailure(run, result.error.code);
  }

  /**
   * A statement that read a masked value failed for want of a resource (class 224): counted against
   * the principal, when its masked predicates are not simply allowed.
   */
  private countResourceFailure(run: Run, code: string): void {
    const budget = this.deps.lineage?.failures;
    if (!budget || !this.session || !isResourceFailure(code) || run.admission.masker.readsMasked?.() !== true)
      return;
    const settings = this.target?.lineage ?? DEFAULT_LINEAGE_SETTINGS;
    if (settings.maskedPredicates[this.session.identity.agent ? 'agents' : 'people'] === 'allow') return;
    budget.note(this.principal);
  }

  /**
   * Records how the transaction the statements since the last idle ReadyForQuery ran in ended, from
   * the server's own answers (docs/recording.md, `transaction`): an explicit block by the tag of the
   * statement that ended it (a COMMIT of a failed block answers ROLLBACK) and any error after it; an
   * implicit one (a query string, an extended batch up to Sync) rolled back by any error in it. A lone
   * statement outside a block needs no event: its own result says it.
   */
  private endTransactionLog(explicitBefore: boolean): void {
    const log = this.transactionLog;
    this.transactionLog = newTransactionLog();
    this.noteTransaction(log, explicitBefore);
  }

  /** The `transaction` event of a transaction that ended (endTransactionLog). */
  private noteTransaction(log: TransactionLog, explicitBefore: boolean): void {
    if (log.runs === 0) return;
    const explicit = log.chained || log.begun || (!log.afterEnd && explicitBefore);
    // A procedure that may have committed part of it before an error: what stayed is unknown.
    const partly = log.procedureControl && log.failed;
    if (!explicit && log.runs === 1 && !log.lost && !partly && (log.lastRunFailed || !log.failed)) return;
    // The tag of the statement that ended it (a COMMIT of a failed block answers ROLLBACK, and so
    // does a ROLLBACK in an implicit transaction), unless an ErrorResponse came after it. Without
    // one, a block was rolled back (a failed COMMIT has no tag) and an implicit transaction
    // committed unless an error came.
    let outcome: 'committed' | 'rolled back' | 'prepared' | 'unknown';
    if (log.endTag !== undefined && !log.failedAfterEnd)
      outcome =
        log.endTag === 'COMMIT'
          ? 'committed'
          : log.endTag === 'PREPARE TRANSACTION'
            ? 'prepared'
            : 'rolled back';
    else outcome = explicit || log.failed ? 'rolled back' : 'committed';
    // What a savepoint Gatehouse could not follow undid is not known: never read as committed.
    if ((log.lost && outcome !== 'rolled back') || partly) outcome = 'unknown';
    this.session?.note('transaction', {
      outcome,
      implicit: !explicit,
      ...transactionStatements(log),
    });
  }

  /**
   * Runs that will not execute: skipped after an error, or never sent when the session ended. One
   * the session ended while it was in flight upstream (`inFlight`) may have run: its outcome is
   * unknown, with the rows the client got of it so far (class 168).
   */
  private onDropped(e: Expected, inFlight: boolean): void {
    const result = (run: Run) =>
      !inFlight ? NOT_EXECUTED : run.rows > 0 ? { ...OUTCOME_UNKNOWN, rows: run.rows } : OUTCOME_UNKNOWN;
    if (e.kind === 'execute' && e.run && !e.run.settled && (inFlight || e.run.rows === 0))
      this.settle(e.run, result(e.run));
    else if (e.kind === 'query') for (const r of e.runs.slice(e.index)) this.settle(r.run, result(r.run));
    else if (e.kind === 'function' && e.run) this.settle(e.run, result(e.run));
  }

  private onReady(status: TransactionStatus, execSeq: number | undefined): void {
    const wasInTx = this.txStatus !== 'I';
    if (status === 'I') this.endTransactionLog(wasInTx);
    if (status === 'E') this.txFailed = true;
    if (status === 'I') this.readOnly.idle();
    if (status === 'I' && (wasInTx || true)) {
      // Every portal ends with its transaction (a simple Query's implicit one included).
      for (const p of this.state.transactionEnded(!this.txFailed)) this.endPortal(p);
      this.txFailed = false;
    }
    this.txStatus = status;
    this.boundTransaction(status === 'I', false);
    if (execSeq !== undefined && execSeq > this.knownSeq) this.knownSeq = execSeq;
    if (status === 'I' && this.knownSeq === this.execSeq) {
      this.transactionReads.clear();
      this.uncommittedWrites = [];
    }
    if (status === 'I' && this.catalogSuspect && this.knownSeq === this.execSeq) {
      // What the transaction changed is committed (or gone): read the catalog afresh.
      this.catalogSuspect = false;
      catalogResolverFor(this.target!, this.deps.settings().maxMessageBytes).invalidate();
    }
    const waiters = this.settledWaiters.splice(0);
    for (const w of waiters) w();
  }

  /**
   * An agent's transaction holds its locks against every other session while it is open (a read's
   * ACCESS SHARE makes a migration's ALTER TABLE wait, and every later statement on the table queue
   * behind that): a block after BEGIN, an extended-protocol batch left without its Sync, a single
   * statement. Statements sent in a block keep it open as long as the agent likes, so Gatehouse
   * bounds the whole duration, as PostgreSQL's transaction_timeout does: from the first message
   * forwarded into a transaction until a ReadyForQuery reports the session idle with nothing more
   * forwarded. Past `agentTransactionTimeout` the session ends (25P04), and closing the upstream
   * session rolls the transaction back. `restart`: a transaction just ended (ReadyForQuery I); what
   * is still pending belongs to the next one. `readyDue`: a ReadyForQuery is now owed (a Query,
   * FunctionCall or Sync just went upstream). docs/security.md, class 100.
   */
  private boundTransaction(restart: boolean, readyDue: boolean): void {
    const bound = this.target?.agentTransactionTimeoutMs ?? 0;
    if (bound <= 0 || this.session?.identity.agent !== true) return;
    if (restart) {
      clearTimeout(this.txTimer);
      this.txTimer = undefined;
    }
    const open = readyDue || this.txStatus !== 'I' || this.openBatch || this.tracker.awaitsReady;
    if (!open) {
      clearTimeout(this.txTimer);
      this.txTimer = undefined;
      return;
    }
    if (this.txTimer !== undefined) return;
    this.txTimer = setTimeout(() => {
      this.txTimer = undefined;
      if (this.phase !== 'relay') return;
      this.deps.logger.info({ session: this.session?.id, boundMs: bound }, 'agent transaction bound reached');
      // A statement still running would keep its locks until it ends: close() cancels it too.
      this.fatal(
        SqlState.TransactionTimeout,
        `Gatehouse: terminating connection due to transaction timeout: an agent's transaction may stay ` +
          `open at most ${bound} ms while its locks block other sessions (connections.${this.target?.connection ?? '<name>'}` +
          `.agentTransactionTimeout); the server rolled it back. Keep transactions short: end blocks with COMMIT, batches with Sync.`,
      );
    }, bound);
    this.txTimer.unref();
  }

  /** The lexer tripwire: a pinned setting changed by code Gatehouse could not see into. */
  private onParameterStatus(name: string, value: string): 'relay' | 'untraced' | 'hide' | 'stop' {
    if (name === READ_ONLY_SETTING && this.readOnly.enforced) {
      const on = parsePgBool(value) === true;
      if (!on) {
        // Gatehouse's own changes are withheld with their Query: this one came from code it could
        // not see into, and the session's next transactions would be read-write.
        this.deps.logger.warn(
          { session: this.session?.id, setting: name, value },
          'read-only reads turned off upstream; session ended',
        );
        this.fatal(
          SqlState.InsufficientPrivilege,
          `Gatehouse ended this session: ${name} was turned off by code Gatehouse could not see into ` +
            "(a function or procedure); Gatehouse runs this session's reads read-only",
        );
        return 'stop';
      }
      this.readOnly.reportedOn();
      return 'hide';
    }
    const pinned = pinnedSetting(name);
    if (pinned && !pinned.accepts(value)) {
      this.deps.logger.warn(
        { session: this.session?.id, setting: name, value },
        'pinned setting changed upstream; session ended',
      );
      this.fatal(
        SqlState.InsufficientPrivilege,
        `Gatehouse ended this session: ${name} was changed to ${value} by code Gatehouse could not see into ` +
          `(a function or procedure); Gatehouse pins it to ${pinned.value} and cannot read statements safely otherwise`,
      );
      return 'stop';
    }
    this.state.reported(name, value);
    // A value the client did not give the setting was chosen by code Gatehouse could not see into (a
    // DO block, a function, a row-level security policy: `set_config('application_name', secret, …)`),
    // untraceable as a notification's payload is (class 244).
    if (CLOSED_VOCABULARY_PARAMETERS.has(name.toLowerCase()) || this.state.gave(name, value)) return 'relay';
    return 'untraced';
  }

  /**
   * Sends a message upstream. Parse, Bind, Describe, Execute and Close wait in `corked` until the
   * batch's Sync (or Flush, a Query…), until no more client frames are buffered, or until 64 KB
   * have gathered: PostgreSQL sends nothing back before the batch's Sync or Flush (its output is
   * buffered), so one write per batch changes nothing the client sees and saves a system call per
   * message. Nothing that waits for an upstream answer waits on a corked message: those waits
   * (quiet, lexerSettled) happen at batch starts, after a Sync has flushed.
   */
  private forward(buf: Buffer): Promise<void> | undefined {
    const up = this.upstream;
    if (!up || this.phase === 'closed') return undefined;
    const type = buf[0]!;
    this.readOnly.forwardedMessage(type);
    const readyTaker =
      type === FrontendCode.Query || type === FrontendCode.FunctionCall || type === FrontendCode.Sync;
    if (readyTaker) this.openBatch = false;
    else if (EXTENDED_BATCH_MESSAGES.has(type)) this.openBatch = true;
    this.boundTransaction(false, readyTaker);
    if (EXTENDED_BATCH_MESSAGES.has(type)) {
      this.corked.push(buf);
      this.corkedBytes += buf.length;
      return this.corkedBytes < CORK_LIMIT ? undefined : this.flushForwarded();
    }
    if (this.corked.length > 0) {
      this.corked.push(buf);
      this.corkedBytes += buf.length;
      return this.flushForwarded();
    }
    return this.write(buf);
  }

  /** Writes the messages gathered by forward() in one system call. */
  private flushForwarded(): Promise<void> | undefined {
    if (this.corked.length === 0) return undefined;
    const out = this.corked.length === 1 ? this.corked[0]! : Buffer.concat(this.corked, this.corkedBytes);
    this.corked = [];
    this.corkedBytes = 0;
    return this.write(out);
  }

  private write(buf: Buffer): Promise<void> | undefined {
    const up = this.upstream;
    if (!up || this.phase === 'closed') return undefined;
    // Every entry queued so far has its message upstream now (push comes before forward).
    this.sentEntries = this.tracker.queuedTotal;
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

  /**
   * Relays every complete upstream frame (until a stall); false when the client is not keeping up.
   * Masking costs CPU per row, so the loop gives the event loop back every RELAY_SLICE_MS: what is
   * relayed so far is written, the upstream socket paused, and the rest continues on the next turn,
   * after every other session's pending work (one session's large result never starves the others).
   */
  private drainUpstream(): boolean {
    const up = this.upstream!;
    const started = performance.now();
    let sinceCheck = 0;
    try {
      for (let f = up.reader.next(); f; f = up.reader.next()) {
        // A FATAL from the upstream ends the session; the client hears it from the server, once.
        if (f.type === BackendCode.ErrorResponse && isFatal(f.body)) this.upstreamEnded = true;
        if (this.relay.handle(f) === STALL) break;
        this.tracker.emitOwnAnswers();
        if (this.isClosed) return false;
        sinceCheck += f.end - f.start + 256;
        if (sinceCheck >= RELAY_CHECK_BYTES) {
          sinceCheck = 0;
          if (performance.now() - started >= RELAY_SLICE_MS) {
            this.yieldRelay();
            break;
          }
        }
      }
    } catch (e) {
      this.upstreamFailure(e);
      return false;
    }
    const parts = this.relay.out.takeParts();
    if (parts && !this.isClosed && !this.writeParts(parts)) {
      up.socket.pause();
      return false;
    }
    return true;
  }

  /**
   * Writes the slices of a batch as one writev (corked), not copied into one buffer first; false
   * when the socket's buffer is full (as socket.write: every write after the high-water mark says so).
   */
  private writeParts(parts: readonly Buffer[]): boolean {
    if (parts.length === 1) return this.socket.write(parts[0]!);
    // A small batch (a statement's answer: a few frames, some of them Gatehouse's own) is cheaper
    // copied into one buffer than written through the stream's writev path.
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    if (bytes <= WRITEV_MIN_BYTES) return this.socket.write(Buffer.concat(parts, bytes));
    this.socket.cork();
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    this.socket.uncork();
    return ok;
  }

  /** Continues relaying on a later turn of the event loop (see drainUpstream). */
  private yieldRelay(): void {
    const up = this.upstream!;
    this.stalled = true;
    up.socket.pause();
    setImmediate(() => {
      if (this.isClosed) return;
      this.stalled = false;
      if (this.drainUpstream() && !this.stalled && !this.isClosed) up.socket.resume();
    });
  }

  private upstreamFailure(e: unknown): void {
    if ((isGatewayError(e) && e.code === ERROR_CODES.MASK_FAILED) || e instanceof MaskingGap) {
      // Fail closed: what cannot be masked is not sent, and the session cannot go on in step.
      const message = e instanceof Error ? e.message : String(e);
      this.deps.logger.warn({ session: this.session?.id, err: message }, 'masking failed; session closed');
      this.fatal(SqlState.InsufficientPrivilege, `Gatehouse: ${message}`);
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
        this.tracker.emitOwnAnswers();
      } catch (e) {
        this.upstreamFailure(e);
        return;
      }
      if (this.drainUpstream() && !this.stalled && !this.isClosed) up.socket.resume();
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
      if (this.phase === 'startup') {
        // Framing errors before a StartupMessage is accepted end the connection without a reply,
        // as PostgreSQL does (a client that connects and closes at once sends Terminate here).
        this.close(`invalid startup packet: ${e.message}`, { silent: true });
        return;
      }
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
    if (!this.socket.destroyed) {
      const pending = this.phase === 'relay' ? this.relay.out.take() : undefined;
      const fatal = encode.errorResponse({ severity: 'FATAL', code, message });
      this.socket.end(pending ? Buffer.concat([pending, fatal]) : fatal);
    }
    this.close(message);
  }

  close(reason: string, options: { silent?: boolean } = {}): void {
    if (this.phase === 'closed') return;
    this.releaseMessage();
    const wasRelay = this.phase === 'relay';
    this.phase = 'closed';
    clearTimeout(this.authTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.txTimer);
    this.unwatchStall();
    this.abort.abort();
    if (this.key) this.deps.cancels.unregister(this.key.processId);
    const up = this.upstream;
    // A statement running upstream does not read its socket, so the Terminate waits behind it for as
    // long as it runs, holding its locks, its connection slot, and for a write, its commit (class
    // 168): it is cancelled, and the session ends only once the backend has (see upstreamGone).
    const inFlight =
      wasRelay && up !== undefined && !up.socket.destroyed && this.tracker.awaitsSent(this.sentEntries);
    let upstreamGone: Promise<void> | undefined;
    if (up && !up.socket.destroyed) {
      if (inFlight && this.target) {
        const session = this.session?.id;
        cancelUpstream(this.target, up.processId, up.secretKey).catch((err: unknown) =>
          this.deps.logger.warn({ session, err: String(err) }, 'upstream cancel at session end failed'),
        );
      }
      if (!up.socket.writableEnded) up.socket.end(encode.terminate());
      if (inFlight) upstreamGone = this.upstreamGone(up);
      else up.socket.destroySoon?.();
    }
    if (wasRelay) {
      this.tracker.drain(this.sentEntries);
      for (const p of this.state.allPortals()) this.endPortal(p);
      // A transaction still open when the session ends is rolled back by the server; with a
      // statement in flight it may have ended first (a COMMIT, or a statement outside a block).
      const open = this.transactionLog;
      this.transactionLog = newTransactionLog();
      if (open.runs > 0)
        this.session?.note('transaction', {
          outcome: open.unknown ? 'unknown' : 'rolled back',
          implicit: !(open.chained || open.begun || (!open.afterEnd && this.txStatus !== 'I')),
          ...transactionStatements(open),
          ended: 'session closed',
        });
    }
    for (const w of this.settledWaiters.splice(0)) w();
    for (const w of this.copyWaiters.splice(0)) w();
    if (!this.socket.destroyed) {
      if (options.silent) this.socket.destroy();
      else {
        this.socket.end();
        setTimeout(() => this.socket.destroy(), 1000).unref();
      }
    }
    const session = this.session;
    if (session) {
      // The principal's session slot (and the record's end) is kept until the backend is gone.
      this.ended = upstreamGone
        ? upstreamGone.then(() => this.refusals.closeSession(session, reason))
        : this.refusals.closeSession(session, reason);
    }
    this.onClosed(this);
  }

  /** Settles once a closed connection's session has ended in the record (after its backend, see close). */
  get ending(): Promise<void> {
    return this.ended;
  }
  private ended: Promise<void> = Promise.resolve();

  /**
   * Settles once the upstream backend has closed its side of the connection after the session's
   * Terminate (it exits then), or after UPSTREAM_EXIT_WAIT_MS, when the socket is destroyed (logged).
   */
  private upstreamGone(up: UpstreamSession): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.deps.logger.warn(
          { session: this.session?.id, upstreamPid: up.processId, waitedMs: UPSTREAM_EXIT_WAIT_MS },
          'upstream backend still there after the session ended with a statement in flight; connection dropped',
        );
        up.socket.destroy();
      }, UPSTREAM_EXIT_WAIT_MS);
      timer.unref();
      up.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // Its FIN is read only while the socket reads (relaying may have paused it).
      up.socket.resume();
    });
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  get transactionStatus(): TransactionStatus {
    return this.txStatus;
  }
}

/**
 * How much of a Query's text is read to count its statements before it is parsed (statement-count.ts):
 * enough for any bound a Query of short statements reaches; past it, the count after parsing decides.
 */
const PRECOUNT_CHARS = 1024 * 1024;

/** The text has more than `most` semicolons, so it may hold more than `most` statements. */
function mayHoldMoreThan(text: string, most: number): boolean {
  let at = -1;
  for (let n = 0; n < most; n++) {
    at = text.indexOf(';', at + 1);
    if (at < 0) return false;
  }
  return true;
}

/**
 * How long a session that ended with a statement in flight waits for its upstream backend to exit
 * (cancelled, or noticing the closed socket within client_connection_check_interval) before it drops
 * the connection and releases the principal's session slot anyway.
 */
const UPSTREAM_EXIT_WAIT_MS = 60_000;

/** Own answers gathered (OutputBatch slices) past which they are written without waiting for a Sync. */
const OWN_ANSWERS_FLUSH_PARTS = 256;
/**
 * What a connection may hold for answers the upstream has not given yet (ResponseTracker.heldBytes:
 * about 7,000 messages of the extended protocol, or Gatehouse's own answers queued behind them)
 * before it reads nothing more from its client; it reads again once they are down to half.
 */
export const MAX_AWAITED_BYTES = 1024 * 1024;
const PARSE_COMPLETE = Buffer.from([0x31, 0, 0, 0, 4]);
const SYNC = encode.sync();
const FLUSH = encode.flush();
const CLOSE_COMPLETE = Buffer.from([0x33, 0, 0, 0, 4]);
/** CopyDone ('c', no body): ends the rows of a reviewed COPY forwarded after its approval. */
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);
const COPY_MESSAGES: ReadonlySet<number> = new Set([
  FrontendCode.CopyData,
  FrontendCode.CopyDone,
  FrontendCode.CopyFail,
]);

/** A reviewed COPY FROM STDIN while its rows are collected (copy-in-review.ts). */
interface ReviewedCopy {
  readonly statement: SqlStatement;
  readonly decision: Decision;
  readonly lineage?: StatementLineage;
  readonly hiddenCode: boolean;
  /** The Query runs in the read-write transaction Gatehouse opens for writes (read-only-reads.ts). */
  readonly writes: boolean;
  /** The client's Query message, forwarded as it came after the approval. */
  readonly query: Buffer;
  readonly rows: CopyInRows;
}

/** The client's Bind with Gatehouse's own portal and statement names; the rest byte for byte. */
function rewriteBind(body: Buffer, portal: string, statement: string): Buffer {
  const afterPortal = body.indexOf(0) + 1;
  const afterStatement = body.indexOf(0, afterPortal) + 1;
  return encode.bind(portal, statement, body.subarray(afterStatement));
}

export { RESERVED_PREFIX };
export type { Admission };

/** Kinds of relation whose rows are the table's own (pg_class.relkind: table, partitioned table). */
const OWN_ROWS = new Set(['r', 'p']);
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

/**
 * Nothing pending, for the look-ups that only read what is pending (runsOf, resolveUses): one object
 * for them all rather than a new one per statement. Frozen: never passed where objects are noted or
 * marked (notePending, suspectCatalog: decideWithLineage gets a fresh one), and a write to it throws.
 */
const NO_PENDING: PendingObjects = Object.freeze(newPendingObjects());

/**
 * The statement names relations only, and every name is an ordinary or partitioned table outside the
 * system schemas in every schema the catalog (as already loaded) has it, none with a column a rule
 * covers (a column named like a secret: `password`, `api_key`): no function, user operator, field
 * call, prepared statement or cursor, and no name the catalog has not described yet.
 */
/** Operators that take values out of a JSON or hstore document by key (class 190). */
const DOCUMENT_OPERATORS: ReadonlySet<string> = new Set(['->', '->>', '#>', '#>>', '%%', '%#']);

function readsOnlyUserTables(
  st: SqlStatement,
  catalog: { relations(schema: string | undefined, name: string): unknown },
  rules: LineageRules,
): boolean {
  if (st.tables.length === 0 || st.functions.length > 0) return false;
  // Unqualified operators are built-ins here: the caller has found none overloaded outside pg_catalog
  // (class 125); a qualified one is built-in only in pg_catalog.
  if (st.operators?.some((op) => op.includes('.') && !op.startsWith('OPERATOR(pg_catalog.'))) return false;
  if (st.fields !== undefined || st.sessionObjects !== undefined || st.temporary === true) return false;
  // A value taken out of a document by key is masked by the key's name (class 190), from a text
  // column cast to one too.
  if (st.operators?.some((op) => DOCUMENT_OPERATORS.has(op))) return false;
  for (const t of st.tables) {
    const found = catalog.relations(t.schema, t.name);
    if (!Array.isArray(found) || found.length === 0) return false;
    for (const r of found as CatalogRelation[])
      if (!OWN_ROWS.has(r.kind) || SYSTEM_SCHEMAS.has(r.schema) || rules.coversColumnOf(r)) return false;
  }
  return true;
}

/**
 * The statement with the types its Parse names by OID outside PostgreSQL's own (FirstNormalObjectId,
 * 16384): a parameter of a domain's type runs the domain's CHECK at Bind, with no name in the text
 * (class 225; DOMAIN_CODE_SQL gives such types by OID as well as by name).
 */
function withParamTypes(
  st: SqlStatement | undefined,
  paramTypes: readonly number[],
): SqlStatement | undefined {
  if (st === undefined) return st;
  // An OID is unsigned; the message's Int32 reads those past 2^31 as negative.
  const user = paramTypes
    .map((oid) => oid >>> 0)
    .filter((oid) => oid >= 16384)
    .map(String);
  if (user.length === 0) return st;
  return { ...st, types: Object.freeze([...(st.types ?? []), ...user]) };
}
