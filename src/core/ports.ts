// Ports: the narrow interfaces the gate and engines depend on. Concrete adapters live in their own
// folders and are wired together only in src/main.ts.

import type { Duplex } from 'node:stream';
import type { Action } from './action.js';
import type { Decision, ReviewDecision } from './decision.js';
import type { HeldNotice, HoldSettledNotice } from './held-notice.js';
import type { Identity } from './identity.js';
import type {
  ServiceTokenRecord,
  SessionEvent,
  SessionFilter,
  SessionRecord,
  StatementLineage,
  StatementRecord,
  StatementResult,
  StoredStatement,
} from './records.js';

/** Turns a presented token into a verified Identity, or throws GatewayError(AUTH_FAILED). */
export interface Authenticator {
  authenticate(token: string): Promise<Identity>;
  /**
   * Checks that an identity authenticated earlier is still valid (its token not revoked since).
   * Throws GatewayError(AUTH_FAILED) when it is not. Expiry is checked by the caller from
   * `identity.expiresAt`. Absent: the authenticator has no revocation (OIDC access tokens).
   */
  revalidate?(identity: Identity): Promise<void>;
}

/** Policy decisions over an immutable snapshot of the config. Pure and synchronous. */
export interface PolicyDecider {
  /** May this principal use this connection at all? */
  connectionAccess(identity: Identity, connection: string): Decision;
  decide(identity: Identity, action: Action): Decision;
  /**
   * False when no rule this principal has on this connection looks at the relations a SQL statement
   * reaches without naming them (a table-restricted deny or review rule that may name a user table,
   * or, for a write, a table-restricted grant): the engine then need not work out, or ask the
   * catalog, what a statement reaches. Absent: assume it may.
   */
  reachMatters?(identity: Identity, connection: string, writes: boolean): boolean;
  /** Changes whenever the policy changes; part of any decision cache key. */
  readonly version: string;
}

export type ApprovalOutcome =
  | { readonly approved: true; readonly requestId: string; readonly approvedBy: readonly string[] }
  | { readonly approved: false; readonly requestId?: string; readonly message: string };

export interface ApprovalContext {
  readonly identity: Identity;
  readonly sessionId: string;
  readonly statementId: string;
  readonly action: Action;
  readonly decision: ReviewDecision;
  /** Aborted when the client cancels or goes away: the request is withdrawn. */
  readonly signal: AbortSignal;
  /** Told when an approval request is tied to the action (the engine tells its client). */
  readonly onHeld?: (notice: HeldNotice) => void;
  /** Told when a hold ends: approved, denied, expired or withdrawn. */
  readonly onHoldSettled?: (notice: HoldSettledNotice) => void;
}

/** The approve step: holds or defers an action that needs a human's decision. */
export interface Approver {
  request(ctx: ApprovalContext): Promise<ApprovalOutcome>;
}

/** Prompt lineage for a statement (sqlcommenter comments, application_name, the context API). */
export interface LineageSource {
  forStatement(identity: Identity, session: SessionRecord, action: Action): StatementLineage | undefined;
}

/** Durable store of sessions and statements. `recordStatement` resolves only once durable. */
export interface SessionStore {
  startSession(record: SessionRecord): Promise<void>;
  endSession(id: string, endedAt: Date, reason: string): Promise<void>;
  recordStatement(record: StatementRecord): Promise<void>;
  /**
   * Records a statement's result. May wait (briefly) to share the next commit: nothing on the
   * session's path waits for it; `commitDeferred` commits such writes at once.
   */
  completeStatement(id: string, result: StatementResult): Promise<void>;
  /** Commits writes that wait to share a commit now (before a session's end is written). */
  commitDeferred?(): void;
  /** Appends an event to the session's hash-chained record; resolves once durable. */
  appendEvent(sessionId: string, event: SessionEvent): Promise<void>;
  listSessions(filter: SessionFilter): Promise<SessionRecord[]>;
  getSession(id: string): Promise<{ session: SessionRecord; statements: StoredStatement[] } | undefined>;
  close(): Promise<void>;
}

/** Metadata about gateway-issued service tokens (for list and revoke). */
export interface TokenStore {
  saveServiceToken(record: ServiceTokenRecord): Promise<void>;
  listServiceTokens(): Promise<ServiceTokenRecord[]>;
  revokeServiceToken(id: string, at: Date): Promise<boolean>;
  isRevoked(id: string): Promise<boolean>;
}

/** Structured logger port (pino satisfies it). Never pass secrets. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A host and port an upstream connection is opened to (the upstream's own address, as configured). */
export interface DialTarget {
  readonly host: string;
  readonly port: number;
}

/** How a connection's upstream is reached: through a network-resident agent (docs/agent.md). */
export interface UpstreamVia {
  readonly agent: string;
}

export interface DialOptions {
  /** Gives up (and closes what was opened) when aborted. */
  readonly signal?: AbortSignal;
  /** The Gatehouse connection the socket is for (logs, `gatehouse agent list`). */
  readonly connection?: string;
}

/**
 * Opens byte streams to upstreams: directly (TCP) or through an agent's tunnel. Engines dial every
 * upstream socket through this port, so a connection's `via` applies to every protocol alike; TLS to
 * the upstream is the engine's, layered on the returned stream, so an agent only carries ciphertext.
 * Failures reject with GatewayError(UPSTREAM_UNAVAILABLE) whose message is written for the client;
 * a stream that is lost later is destroyed with an Error saying why (the agent was lost, revoked …).
 */
export interface UpstreamDialer {
  dial(target: DialTarget, via: UpstreamVia | undefined, options?: DialOptions): Promise<Duplex>;
}
