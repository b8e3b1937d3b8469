// The gate: the one place where the order of enforcement is written, for every protocol.
// Engines call it; it never speaks a wire protocol and never imports an engine.
//
//   openSession: 1. authenticate   the presented token → Identity (or refuse)
//                2. connection     may this principal use this connection at all?
//                   limits         a free session slot for this principal and this connection
//                3. record         the session start, durably, before anything is forwarded
//   (while live)    revalidate     a revoked or expired token, or an admin, ends the session
//   admit:       4. decide         policy over the parsed action → allow | deny | review
//                5. approve        review → hold for a human (or defer); the approver decides
//                6. record         the action and its decision, durably; not recorded → not forwarded
//   (engine)     7. forward        the engine sends the action upstream
//   (engine)     8. mask           every value the client sees goes through the admission's masker
//   settle:      9. record result  rows, errors, timing, masking counts — as the client saw them

import type { Action, Mutable } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { ERROR_CODES, GatewayError, isGatewayError } from '../core/errors.js';
import type { HoldListener } from '../core/held-notice.js';
import { principalKey, type Identity } from '../core/identity.js';
import { passThroughMasker, type MaskerFactory, type ResultMasker } from '../core/masking.js';
import type {
  Approver,
  Authenticator,
  LineageSource,
  Logger,
  PolicyDecider,
  SessionStore,
} from '../core/ports.js';
import type {
  ResultSampler,
  ResultSamplerFactory,
  SessionRecord,
  StatementLineage,
  StatementResult,
} from '../core/records.js';
import { secondsSince, type MetricRegistry } from '../core/metrics.js';
import { credentialReason, type PreauthListener, type PreauthSignals } from '../core/preauth.js';
import { noTracer, type Tracer } from '../core/tracing.js';
import { gateInstruments } from './gate-telemetry.js';
import { statementId as makeStatementId, uuidv7 } from './ids.js';

export interface GateDeps {
  readonly authenticator: Authenticator;
  /** The current policy snapshot; replaced atomically on reload. */
  readonly policy: () => PolicyDecider;
  readonly approver: Approver;
  readonly store: SessionStore;
  readonly masking: MaskerFactory;
  /** Result samples for the record (what the client saw); none when absent. */
  readonly sampler?: ResultSamplerFactory;
  /** Prompt lineage recorded with each statement (never used for policy); none when absent. */
  readonly lineage?: LineageSource;
  readonly logger: Logger;
  /** Session limits, read at every openSession (a reload applies to new sessions); none when absent. */
  readonly limits?: () => SessionLimits;
  /** How often live sessions' tokens are re-checked for revocation and expiry (default 1000 ms). */
  readonly revalidateEveryMs?: number;
  /**
   * Where a refused token is reported (counted and logged, rate-limited: core/preauth.ts) under the
   * listener that presented it; nothing reported when absent.
   */
  readonly preauth?: PreauthSignals;
  /** Where the gate's metrics go (gate-telemetry.ts); none recorded when absent. */
  readonly metrics?: MetricRegistry;
  /** Spans around openSession and admit (ports traced in main.ts nest under them); none when absent. */
  readonly tracer?: Tracer;
  readonly now?: () => Date;
}

/** Concurrency limits the gate enforces for every protocol (docs/security.md, fairness). */
export interface SessionLimits {
  /** Concurrent sessions one principal (issuer + subject) may hold, across connections. */
  readonly sessionsPerPrincipal: number;
  /** Per connection: concurrent sessions, of which `reservedForPeople` agents can never take. */
  connection(name: string): { readonly maxSessions: number; readonly reservedForPeople: number } | undefined;
}

export interface SessionRequest {
  readonly token: string;
  readonly connection: string;
  readonly protocol: string;
  /** The listener kind the token came through, for refusals before authentication (core/preauth.ts). */
  readonly listener: PreauthListener;
  /** The peer's address and port (`host:port`), as recorded. */
  readonly clientAddress: string;
  /** The peer's address alone, for refusals before authentication. */
  readonly clientHost?: string;
  readonly clientUser?: string;
  readonly application?: string;
}

export type Admission =
  | {
      readonly allowed: true;
      readonly statementId: string;
      readonly decision: Decision;
      readonly masker: ResultMasker;
      readonly sampler?: ResultSampler;
      readonly rowCap?: number;
      readonly startedAt: number;
    }
  | {
      readonly allowed: false;
      readonly statementId: string;
      readonly decision: Decision | undefined;
      readonly error: GatewayError;
    };

/**
 * AdmitOptions.signal for an engine: withdrawn when any of `withdrawnBy` aborts (with its reason) or
 * the hold timeout passes (a `TimeoutError`), made only if the gate holds the action.
 *
 * Not `AbortSignal.timeout(ms)` inside the `AbortSignal.any`: Node 20 holds the sources of a composite
 * signal only weakly, so nothing kept that timeout signal alive, and once the collector took it, it
 * never fired (nodejs/node#57736; hold-signal.test.ts shows it). A held request then waited past its
 * timeout for as long as nobody decided. The timeout's controller is held by its own timer instead.
 * `AbortSignal.any` stays for the rest: it adds no listener to `withdrawnBy` (long-lived signals such
 * as a session's end, which many holds share).
 */
export function holdSignal(timeoutMs: number, ...withdrawnBy: AbortSignal[]): () => AbortSignal {
  return () => {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      timeoutMs,
    );
    // The timer does not keep the process alive; while it runs, it keeps `timeout` alive.
    timer.unref();
    const held = AbortSignal.any([...withdrawnBy, timeout.signal]);
    if (held.aborted) clearTimeout(timer);
    else held.addEventListener('abort', () => clearTimeout(timer), { once: true });
    return held;
  };
}

export interface AdmitOptions extends HoldListener {
  /**
   * Aborted when the client cancels or disconnects (withdraws a held approval). A function is called
   * only when the action is held: a signal combined with a hold timeout (holdSignal) costs a
   * controller, a composite signal and a timer that lives for the whole timeout, which every action
   * would pay for the few that are held.
   */
  readonly signal?: AbortSignal | (() => AbortSignal);
  /**
   * A decision already taken for this exact statement by `decide` (the extended protocol decides
   * at Parse and executes later); step 4 is then not repeated.
   */
  readonly decision?: Decision;
  // From HoldListener: onHeld / onHoldSettled, told while a reviewed action waits for a person, so
  // the engine can tell its client in its protocol's terms (core/held-notice.ts).
}

export class Gate {
  private readonly live = new LiveSessions();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly deps: GateDeps) {
    gateInstruments(deps.metrics); // every family is listed from the first scrape on
  }

  /** Steps 1–3 (below), counted and traced. */
  async openSession(req: SessionRequest): Promise<GateSession> {
    const m = gateInstruments(this.deps.metrics);
    return (this.deps.tracer ?? noTracer).span(
      'gatehouse.session.open',
      { 'gatehouse.connection': req.connection, 'gatehouse.protocol': req.protocol },
      async (span) => {
        try {
          const session = await this.openSessionSteps(req);
          m.opened(session.record);
          span.set({ 'gatehouse.session': session.id, 'gatehouse.agent': session.identity.agent });
          return session;
        } catch (e) {
          m.refused(req, e);
          if (isGatewayError(e) && e.code === ERROR_CODES.AUTH_FAILED)
            this.deps.preauth?.refused(req.listener, credentialReason(e), req.clientHost);
          span.set({ 'gatehouse.refused': isGatewayError(e) ? e.code : 'internal' });
          throw e;
        }
      },
    );
  }

  private async openSessionSteps(req: SessionRequest): Promise<GateSession> {
    // 1. authenticate
    const identity = await this.deps.authenticator.authenticate(req.token);
    // 2. connection access
    const access = this.deps.policy().connectionAccess(identity, req.connection);
    if (access.effect !== 'allow') {
      throw new GatewayError(
        ERROR_CODES.CONNECTION_FORBIDDEN,
        access.effect === 'deny' ? access.message : `connection "${req.connection}" needs approval to use`,
        { ruleId: access.ruleId },
      );
    }
    //    limits: the slot is taken before the first await, so concurrent opens cannot overshoot
    const slot = this.live.reserve(identity, req.connection, this.deps.limits?.());
    try {
      const session = await this.startSession(req, identity, slot);
      this.ensureTimer();
      return session;
    } catch (e) {
      slot.release();
      throw e;
    }
  }

  /** Live sessions (for the API and console). */
  sessions(): readonly GateSession[] {
    return this.live.all();
  }

  /** Ends a live session (an admin's decision); false when it is not live here. */
  endSession(id: string, reason: string): boolean {
    const s = this.live.find(id);
    if (!s) return false;
    s.end(reason);
    return true;
  }

  /** Stops the revalidation timer (sessions are ended by their engines). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.revalidateAll(), this.deps.revalidateEveryMs ?? 1000);
    this.timer.unref();
  }

  /** Ends every live session whose token has expired or been revoked since it was presented. */
  private async revalidateAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.now().getTime();
      const byToken = new Map<string, GateSession[]>();
      for (const s of this.live.all()) {
        if (s.ended.aborted) continue;
        const exp = s.identity.expiresAt?.getTime();
        if (exp !== undefined && exp <= now) {
          s.end('the token expired');
          continue;
        }
        const key = `${s.identity.issuer}\u0000${s.identity.tokenId ?? s.identity.subject}`;
        const group = byToken.get(key);
        if (group) group.push(s);
        else byToken.set(key, [s]);
      }
      const revalidate = this.deps.authenticator.revalidate?.bind(this.deps.authenticator);
      if (!revalidate) return;
      await Promise.all(
        [...byToken.values()].map(async (group) => {
          try {
            await revalidate(group[0]!.identity);
          } catch (e) {
            const why = isGatewayError(e) ? e.message : 'the token could not be re-checked';
            for (const s of group) s.end(`the token is no longer valid: ${why}`);
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  private async startSession(
    req: SessionRequest,
    identity: Identity,
    slot: SessionSlot,
  ): Promise<GateSession> {
    // 3. record the session start
    const record: SessionRecord = {
      id: uuidv7(),
      startedAt: this.now(),
      subject: identity.subject,
      groups: identity.groups,
      tokenKind: identity.tokenKind,
      agent: identity.agent,
      issuer: identity.issuer,
      clientAddress: req.clientAddress,
      clientUser: req.clientUser,
      application: req.application,
      connection: req.connection,
      protocol: req.protocol,
    };
    try {
      await this.deps.store.startSession(record);
    } catch (cause) {
      this.deps.logger.error({ err: String(cause), session: record.id }, 'session start not recorded');
      throw new GatewayError(
        ERROR_CODES.RECORD_FAILED,
        'the session could not be recorded, so it was refused',
        { cause },
      );
    }
    const session = new GateSession(this.deps, identity, record, () => {
      slot.release();
      this.live.remove(session);
    });
    this.live.add(session);
    return session;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

export class GateSession {
  private seq = 0;
  private closed = false;
  private readonly ending = new AbortController();
  private why: string | undefined;

  constructor(
    private readonly deps: GateDeps,
    readonly identity: Identity,
    readonly record: SessionRecord,
    private readonly onClosed: () => void = () => undefined,
  ) {}

  /**
   * Aborted when the session is ended under the client: its token was revoked or expired, or an
   * admin ended it. Engines listen and end the client's session in their protocol's own terms;
   * every later `admit` is refused.
   */
  get ended(): AbortSignal {
    return this.ending.signal;
  }

  /** Why the session was ended, once `ended` has fired. */
  get endReason(): string | undefined {
    return this.why;
  }

  /** Ends the session under the client (see `ended`). */
  end(reason: string): void {
    if (this.ending.signal.aborted) return;
    this.why = reason;
    this.deps.logger.info({ session: this.id, subject: this.identity.subject, reason }, 'session ended');
    this.ending.abort(new GatewayError(ERROR_CODES.SESSION_ENDED, `Gatehouse ended this session: ${reason}`));
  }

  /**
   * Throws SESSION_ENDED when the session may not run anything more (revoked, expired, ended). Cheap:
   * engines call it before forwarding work that does not go through `admit` (a portal's next Execute).
   */
  assertActive(): void {
    if (!this.ending.signal.aborted) {
      const exp = this.identity.expiresAt?.getTime();
      if (exp === undefined || exp > (this.deps.now ? this.deps.now().getTime() : Date.now())) return;
      this.end('the token expired');
    }
    throw this.ending.signal.reason as GatewayError;
  }

  get id(): string {
    return this.record.id;
  }

  get connection(): string {
    return this.record.connection;
  }

  /** Step 4 alone: the policy decision for an action. Never throws: a failure is a deny. */
  decide(action: Action): Decision {
    try {
      return this.deps.policy().decide(this.identity, action);
    } catch (cause) {
      this.deps.logger.error({ err: String(cause), session: this.id }, 'policy evaluation failed');
      return {
        effect: 'deny',
        ruleId: 'policy-error',
        message: 'the policy could not be evaluated, so the statement was refused',
      };
    }
  }

  /** Whether the policy may decide this session's SQL by what a statement reaches (PolicyDecider). */
  reachMatters(writes: boolean): boolean {
    try {
      return this.deps.policy().reachMatters?.(this.identity, this.connection, writes) ?? true;
    } catch {
      return true;
    }
  }

  /** Steps 4–6 (below), counted and traced. */
  async admit(action: Action, options: AdmitOptions = {}): Promise<Admission> {
    const started = performance.now();
    const tracer = this.deps.tracer ?? noTracer;
    if (tracer === noTracer) {
      // Without tracing, no span's attributes are built (this runs for every statement).
      const admission = await this.admitSteps(action, options);
      this.counted(admission, started);
      return admission;
    }
    return tracer.span(
      'gatehouse.admit',
      {
        'gatehouse.session': this.id,
        'gatehouse.connection': this.connection,
        'gatehouse.protocol': this.record.protocol,
        'gatehouse.action.kind': action.describe.kind,
      },
      async (span) => {
        const admission = await this.admitSteps(action, options);
        this.counted(admission, started);
        span.set({
          'gatehouse.decision': admission.decision?.effect ?? 'deny',
          'gatehouse.rule': admission.decision?.ruleId ?? 'internal-error',
          'gatehouse.admitted': admission.allowed,
        });
        return admission;
      },
    );
  }

  private counted(admission: Admission, started: number): void {
    gateInstruments(this.deps.metrics).decided(
      this.record,
      admission.decision,
      admission.allowed,
      secondsSince(started),
    );
  }

  private async admitSteps(action: Action, options: AdmitOptions): Promise<Admission> {
    const statementId = makeStatementId(this.record.id, ++this.seq);
    const seq = this.seq;
    // 1'. the token still holds (revocation and expiry end live sessions too)
    try {
      this.assertActive();
    } catch (error) {
      const e = error as GatewayError;
      const ended: Decision = { effect: 'deny', ruleId: 'session-ended', message: e.message };
      return this.refuse(statementId, seq, action, ended, e);
    }
    // 4. decide
    const decision = options.decision ?? this.decide(action);
    if (decision.effect === 'deny') {
      return this.refuse(
        statementId,
        seq,
        action,
        decision,
        new GatewayError(ERROR_CODES.DENIED, decision.message, { ruleId: decision.ruleId }),
      );
    }
    // 5. approve
    if (decision.effect === 'review') {
      const given = options.signal;
      const signal = (typeof given === 'function' ? given() : given) ?? new AbortController().signal;
      const outcome = await this.deps.approver
        .request({
          identity: this.identity,
          sessionId: this.id,
          statementId,
          action,
          decision,
          signal,
          ...(options.onHeld ? { onHeld: options.onHeld } : {}),
          ...(options.onHoldSettled ? { onHoldSettled: options.onHoldSettled } : {}),
        })
        .catch((cause: unknown) => ({
          approved: false as const,
          message: isGatewayError(cause) ? cause.message : 'the approval request failed',
        }));
      if (!outcome.approved) {
        return this.refuse(
          statementId,
          seq,
          action,
          decision,
          new GatewayError(ERROR_CODES.REVIEW_REQUIRED, outcome.message, { ruleId: decision.ruleId }),
        );
      }
    }
    // 6. record, durably, before the engine forwards
    try {
      await this.deps.store.recordStatement(this.statementRecord(statementId, seq, action, decision));
    } catch (cause) {
      this.deps.logger.error({ err: String(cause), session: this.id }, 'statement not recorded; refused');
      return {
        allowed: false,
        statementId,
        decision,
        error: new GatewayError(
          ERROR_CODES.RECORD_FAILED,
          'the statement could not be recorded, so it was not sent',
          { cause },
        ),
      };
    }
    const obligations = decision.obligations;
    const masker = obligations.mask
      ? this.deps.masking.forAction(this.identity, action, obligations)
      : passThroughMasker;
    const sampler = this.deps.sampler?.();
    return {
      allowed: true,
      statementId,
      decision,
      masker,
      ...(sampler ? { sampler } : {}),
      ...(obligations.rowCap !== undefined ? { rowCap: obligations.rowCap } : {}),
      startedAt: performance.now(),
    };
  }

  /** 9. Records the result of an admitted action as the client saw it. Never throws. */
  settle(admission: Admission, result: Omit<StatementResult, 'durationMs'> & { durationMs?: number }): void {
    const counted = admission.allowed && admission.masker.active ? admission.masker.counts() : undefined;
    const masked = counted !== undefined && hasEntries(counted) ? counted : undefined;
    gateInstruments(this.deps.metrics).settled(this.record, result.error, masked);
    const durationMs =
      result.durationMs ??
      (admission.allowed ? Math.round((performance.now() - admission.startedAt) * 1000) / 1000 : 0);
    const sample = admission.allowed ? admission.sampler?.result() : undefined;
    // Built field by field, not by spreading: this runs once per statement and a spread of objects of
    // varying shapes takes V8's slow copy path.
    const done: Mutable<StatementResult> = { durationMs };
    if (result.rows !== undefined) done.rows = result.rows;
    if (result.error !== undefined) done.error = result.error;
    if (masked !== undefined) done.masked = masked;
    else if (result.masked !== undefined) done.masked = result.masked;
    if (sample !== undefined) done.sample = sample;
    else if (result.sample !== undefined) done.sample = result.sample;
    if (result.sampleRef !== undefined) done.sampleRef = result.sampleRef;
    if (result.terminal !== undefined) done.terminal = result.terminal;
    if (result.terminalRef !== undefined) done.terminalRef = result.terminalRef;
    this.deps.store
      .completeStatement(admission.statementId, done)
      .catch((err: unknown) =>
        this.deps.logger.error({ err: String(err), session: this.id }, 'statement result not recorded'),
      );
  }

  /**
   * Adds an event the engine learnt to the session's hash-chained record (e.g. `upstream.login`:
   * the upstream role and backend process the session got). Data must be JSON and hold no secret.
   * Best effort: never throws, never delays the session.
   */
  note(type: string, data: Readonly<Record<string, unknown>>): void {
    const at = this.deps.now?.() ?? new Date();
    (async () => this.deps.store.appendEvent(this.id, { type, at, data }))().catch((err: unknown) =>
      this.deps.logger.error({ err: String(err), session: this.id, type }, 'session event not recorded'),
    );
  }

  /**
   * Records, durably, an event about an admitted statement that the engine is about to forward
   * something of (the rows of a COPY FROM STDIN, as they come): resolves once committed, in the
   * session's chain after the statement; rejects with RECORD_FAILED otherwise, and then the engine
   * must not forward it. Data must be JSON.
   */
  async recordFor(statementId: string, type: string, data: Readonly<Record<string, unknown>>): Promise<void> {
    const at = this.deps.now?.() ?? new Date();
    try {
      await this.deps.store.appendEvent(this.id, { type, at, statementId, data });
    } catch (cause) {
      this.deps.logger.error({ err: String(cause), session: this.id, type }, 'event not recorded; not sent');
      throw new GatewayError(ERROR_CODES.RECORD_FAILED, 'it could not be recorded, so it was not sent', {
        cause,
      });
    }
  }

  /**
   * Records a refusal the engine made itself of something that is not an action the gate decides (a
   * channel or request it will not open, a message it will not read, a per-session limit): a
   * `refusal` event with what was asked (`request`), the rule and the message the client got, and
   * the protocol's error code when it has one. Data must hold no statement text or secret. Resolves
   * once written (or once the failure is logged); never throws.
   */
  async refused(refusal: {
    readonly request: string;
    readonly ruleId: string;
    readonly message: string;
    readonly code?: string;
    /** How many refusals this one event stands for, when an engine counts repeats instead. */
    readonly count?: number;
  }): Promise<void> {
    const at = this.deps.now?.() ?? new Date();
    const data = {
      request: refusal.request,
      ruleId: refusal.ruleId,
      message: refusal.message,
      ...(refusal.code !== undefined ? { code: refusal.code } : {}),
      ...(refusal.count !== undefined ? { count: refusal.count } : {}),
    };
    try {
      await this.deps.store.appendEvent(this.id, { type: 'refusal', at, data });
    } catch (err) {
      this.deps.logger.error({ err: String(err), session: this.id, ...data }, 'refusal not recorded');
    }
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    gateInstruments(this.deps.metrics).closed(this.record);
    await this.deps.store
      .endSession(this.id, this.deps.now?.() ?? new Date(), reason)
      .catch((err: unknown) =>
        this.deps.logger.error({ err: String(err), session: this.id }, 'session end not recorded'),
      );
  }

  private statementRecord(id: string, seq: number, action: Action, decision: Decision | undefined) {
    const d = action.describe;
    return {
      id,
      sessionId: this.id,
      seq,
      at: this.deps.now?.() ?? new Date(),
      via: d.via,
      text: d.text,
      kind: d.kind,
      categories: d.categories,
      effect: decision?.effect ?? 'deny',
      ruleId: decision?.ruleId ?? 'internal-error',
      ...(decision && decision.effect !== 'allow' ? { message: decision.message } : {}),
      ...(d.params ? { params: d.params } : {}),
      ...(d.body ? { body: { sha256: d.body.sha256, bytes: d.body.bytes } } : {}),
      ...this.lineageOf(action),
    };
  }

  private lineageOf(action: Action): { lineage?: StatementLineage } {
    try {
      const lineage = this.deps.lineage?.forStatement(this.identity, this.record, action);
      return lineage ? { lineage } : {};
    } catch (err) {
      // Lineage is context for the record, never a reason to refuse: record the statement without it.
      this.deps.logger.warn({ err: String(err), session: this.id }, 'prompt lineage unavailable');
      return {};
    }
  }

  private async refuse(
    statementId: string,
    seq: number,
    action: Action,
    decision: Decision | undefined,
    error: GatewayError,
  ): Promise<Admission> {
    const rec = this.statementRecord(statementId, seq, action, decision);
    // A refusal that does not reach the upstream is still recorded; if that fails, it is still refused.
    await this.deps.store
      .recordStatement(
        decision?.effect === 'review' ? { ...rec, effect: 'review', message: error.message } : rec,
      )
      .catch((err: unknown) =>
        this.deps.logger.error({ err: String(err), session: this.id }, 'refusal not recorded'),
      );
    return { allowed: false, statementId, decision, error };
  }
}

interface SessionSlot {
  release(): void;
}

/** The live sessions of this gate, with their counts per principal and per connection. */
class LiveSessions {
  private readonly byId = new Map<string, GateSession>();
  private readonly perPrincipal = new Map<string, number>();
  private readonly perConnection = new Map<string, { agents: number; people: number }>();

  all(): GateSession[] {
    return [...this.byId.values()];
  }

  find(id: string): GateSession | undefined {
    return this.byId.get(id);
  }

  add(s: GateSession): void {
    this.byId.set(s.id, s);
  }

  remove(s: GateSession): void {
    this.byId.delete(s.id);
  }

  /** Takes a slot or throws LIMIT_EXCEEDED with a message that says which limit and what to do. */
  reserve(identity: Identity, connection: string, limits: SessionLimits | undefined): SessionSlot {
    const principal = principalKey(identity);
    const mine = this.perPrincipal.get(principal) ?? 0;
    const conn = this.perConnection.get(connection) ?? { agents: 0, people: 0 };
    if (limits) {
      if (mine >= limits.sessionsPerPrincipal) {
        throw new GatewayError(
          ERROR_CODES.LIMIT_EXCEEDED,
          `too many sessions: ${identity.subject}${identity.agent ? ' (an agent)' : ''} already holds ${mine} (limit ${limits.sessionsPerPrincipal} per principal); close one and retry`,
        );
      }
      const c = limits.connection(connection);
      if (c) {
        const used = conn.agents + conn.people;
        const agentCap = Math.max(0, c.maxSessions - c.reservedForPeople);
        if (used >= c.maxSessions || (identity.agent && conn.agents >= agentCap)) {
          throw new GatewayError(
            ERROR_CODES.LIMIT_EXCEEDED,
            identity.agent && used < c.maxSessions
              ? `too many agent sessions on connection "${connection}" (${conn.agents} of the ${agentCap} agents may hold; ${c.reservedForPeople} are kept for people); retry later`
              : `too many sessions on connection "${connection}" (limit ${c.maxSessions}); retry later`,
          );
        }
      }
    }
    this.perPrincipal.set(principal, mine + 1);
    if (identity.agent) conn.agents++;
    else conn.people++;
    this.perConnection.set(connection, conn);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const n = (this.perPrincipal.get(principal) ?? 1) - 1;
        if (n <= 0) this.perPrincipal.delete(principal);
        else this.perPrincipal.set(principal, n);
        if (identity.agent) conn.agents--;
        else conn.people--;
      },
    };
  }
}

function hasEntries(o: Readonly<Record<string, number>>): boolean {
  for (const _ in o) return true;
  return false;
}
