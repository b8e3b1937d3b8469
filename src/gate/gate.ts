// The gate: the one place where the order of enforcement is written, for every protocol.
// Engines call it; it never speaks a wire protocol and never imports an engine.
//
//   openSession: 1. authenticate   the presented token → Identity (or refuse)
//                2. connection     may this principal use this connection at all?
//                3. record         the session start, durably, before anything is forwarded
//   admit:       4. decide         policy over the parsed action → allow | deny | review
//                5. approve        review → hold for a human (or defer); the approver decides
//                6. record         the action and its decision, durably; not recorded → not forwarded
//   (engine)     7. forward        the engine sends the action upstream
//   (engine)     8. mask           every value the client sees goes through the admission's masker
//   settle:      9. record result  rows, errors, timing, masking counts — as the client saw them

import type { Action } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import { ERROR_CODES, GatewayError, isGatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
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
  readonly now?: () => Date;
}

export interface SessionRequest {
  readonly token: string;
  readonly connection: string;
  readonly protocol: string;
  readonly clientAddress: string;
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

export interface AdmitOptions {
  /** Aborted when the client cancels or disconnects (withdraws a held approval). */
  readonly signal?: AbortSignal;
  /**
   * A decision already taken for this exact statement by `decide` (the extended protocol decides
   * at Parse and executes later); step 4 is then not repeated.
   */
  readonly decision?: Decision;
}

export class Gate {
  constructor(private readonly deps: GateDeps) {}

  async openSession(req: SessionRequest): Promise<GateSession> {
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
    return new GateSession(this.deps, identity, record);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

export class GateSession {
  private seq = 0;
  private closed = false;

  constructor(
    private readonly deps: GateDeps,
    readonly identity: Identity,
    readonly record: SessionRecord,
  ) {}

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

  async admit(action: Action, options: AdmitOptions = {}): Promise<Admission> {
    const statementId = makeStatementId(this.record.id, ++this.seq);
    const seq = this.seq;
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
      const signal = options.signal ?? new AbortController().signal;
      const outcome = await this.deps.approver
        .request({ identity: this.identity, sessionId: this.id, statementId, action, decision, signal })
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
    const durationMs =
      result.durationMs ??
      (admission.allowed ? Math.round((performance.now() - admission.startedAt) * 1000) / 1000 : 0);
    const masked = admission.allowed && admission.masker.active ? admission.masker.counts() : undefined;
    const sample = admission.allowed ? admission.sampler?.result() : undefined;
    this.deps.store
      .completeStatement(admission.statementId, {
        ...result,
        durationMs,
        ...(masked && Object.keys(masked).length ? { masked } : {}),
        ...(sample ? { sample } : {}),
      })
      .catch((err: unknown) =>
        this.deps.logger.error({ err: String(err), session: this.id }, 'statement result not recorded'),
      );
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
