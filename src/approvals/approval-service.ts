// The approval service: the gate's Approver (hold or defer a statement until a person decides),
// the decisions approvers make through the API, page, CLI and Slack, and time-bound access grants.
// It must never let an agent or the requester approve, nor let a statement run without an approval.

import { randomUUID } from 'node:crypto';
import type { Action, BoundHeader, RequestBody, SqlAction } from '../core/action.js';
import { headersText } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import { clipShown } from '../core/visible-text.js';
import type { HeldNotice, HoldSettledNotice } from '../core/held-notice.js';
import { meaningSettings } from '../sql/postgres/setting-risks.js';
import type { ApprovalContext, ApprovalOutcome, Approver, Logger } from '../core/ports.js';
import type { AccessGrantConfig, ApprovalsConfig } from '../config/schema.js';
import { toMs } from '../config/schema.js';
import type { ApprovalNotifier, NoticeEvent } from './approval-notifier.js';
import type { ApprovalRepository, RequestFilter } from './approval-repository.js';
import { canonicalPerson } from './person-aliases.js';
import { normalisePerson } from '../identity/claim-mapping.js';
import {
  approverRefusal,
  resolveRule,
  samePerson,
  isRequesterOf,
  samePrincipal,
  tally,
  type EffectiveRule,
} from './approval-rules.js';
import type { ApprovalSignal } from './approval-signal.js';
import {
  discardApprovalEvents,
  type ApprovalDetails,
  type ApprovalEventSink,
  type ApprovalEventType,
  type ApprovalPrincipal,
  type ApprovalRequest,
  type ApprovalVia,
  type ImpactPreview,
  type ImpactPreviewer,
} from './approval-types.js';
import { REDACTED, redactSqlSecrets } from '../sql/sql-secret-redaction.js';
import { statementHash } from './statement-hash.js';

export interface ApprovalServiceDeps {
  readonly repository: ApprovalRepository;
  readonly signal: ApprovalSignal;
  /** The running `approvals:` config (replaced on reload). */
  readonly config: () => ApprovalsConfig;
  /** Admin groups (api.adminGroups): they may read every request; also the implicit default approvers. */
  readonly adminGroups: () => readonly string[];
  readonly previewer: ImpactPreviewer;
  readonly notifier: ApprovalNotifier;
  readonly sink?: ApprovalEventSink;
  readonly logger: Logger;
  /** Base URL of the approval pages (no trailing slash). */
  readonly publicUrl: () => string;
  /**
   * The reason or prompt the agent gave for this statement, when known. Default: the statement's
   * sqlcommenter `reason`, `prompt` or `gatehouse_reason` comment. The recording work replaces it.
   */
  readonly reason?: (ctx: ApprovalContext) => string | undefined;
  readonly now?: () => Date;
  /** The preview may take this long before the request goes out without it (default 5 s). */
  readonly previewTimeoutMs?: number;
  /** How often overdue pending requests are expired (default 5 s). */
  readonly sweepIntervalMs?: number;
  /** A held client re-reads its request this often even without a signal (default 2 s). */
  readonly pollIntervalMs?: number;
}

export type DecideResult =
  | { readonly ok: true; readonly details: ApprovalDetails }
  | { readonly ok: false; readonly status: 403 | 404 | 409 | 400; readonly message: string };

export interface DecideOptions {
  readonly comment?: string;
  readonly via: ApprovalVia;
  /** Defer requests: runs allowed (default 1). */
  readonly uses?: number;
  /** Defer requests: usable for this long (then without a use limit unless `uses` is also given). */
  readonly forMs?: number;
}

export interface AccessRequestInput {
  readonly connection: string;
  readonly durationMs: number;
  readonly reason: string;
  readonly grant?: string;
}

/** What a viewer who may not see a request's impact preview gets in its place. */
export const PREVIEW_FOR_APPROVERS: ImpactPreview = {
  kind: 'none',
  notes: ['the impact preview is shown to the approvers only'],
  tookMs: 0,
};

/**
 * An approval step's data as the session's record keeps it. The record is read by whoever may see the
 * session — its own principal in the console, and a person the sessions of her agents — not only by
 * the request's approvers; the impact preview ran with the requester's rights on data policy may keep
 * from the requester, so it stays in the approval's own history (read through `get`, which shows it
 * to approvers and admins only) and the record says where it went. What the approval is bound to
 * besides the text (the session's own settings, the body's digest) stays: the requester sent it.
 */
export function forSessionRecord(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (data.preview === undefined) return { ...data };
  const p: unknown = data.preview;
  const settings = p !== null && typeof p === 'object' ? (p as { settings?: unknown }).settings : undefined;
  return { ...data, preview: { ...PREVIEW_FOR_APPROVERS, ...(settings ? { settings } : {}) } };
}

export function principalOf(identity: Identity): ApprovalPrincipal {
  return {
    subject: identity.subject,
    issuer: identity.issuer,
    groups: identity.groups,
    agent: identity.agent,
    ...personOf(identity.person),
  };
}

/** `{ person }` when a person is named (normalised as identity providers' claims are), else nothing. */
export function personOf(person: string | undefined): { person?: string } {
  const p = normalisePerson(person);
  return p !== undefined ? { person: p } : {};
}

export function describePrincipal(p: Pick<ApprovalPrincipal, 'subject' | 'issuer'>): string {
  return `${p.subject} (${p.issuer})`;
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

const REASON_KEYS = ['reason', 'gatehouse_reason', 'prompt'];

/** What an approval request shows and hashes for an action: a SQL statement, or an HTTP request line. */
interface ActionSubject {
  /** Exact text and parameters: what the statement hash binds the approval to. */
  readonly text: string;
  readonly params?: readonly (string | null)[];
  /** What is stored, shown and recorded: passwords the statement carries are redacted. */
  readonly shownText: string;
  readonly shownParams?: readonly (string | null)[];
  readonly kind: string;
  readonly categories: readonly string[];
  /**
   * What else the action's meaning depends on, hashed with it like a SQL session's meaning-changing
   * settings (an SSH command's terminal).
   */
  readonly binding?: Readonly<Record<string, string>>;
}

/**
 * What a SQL statement's approval is bound to besides its text and parameters: the session's
 * meaning-changing settings, and, when any parameter is binary or any type is declared, the parameters'
 * formats and declared types (`params` shows a binary 0x41 and the text `\x41` alike, and a declared
 * type can choose another overload). Undefined when there is nothing (the v1 hash).
 */
function sqlBinding(action: SqlAction): Readonly<Record<string, string>> | undefined {
  const settings = action.settings ? meaningSettings(action.settings) : undefined;
  const n = action.params?.length ?? 0;
  const formats = action.paramFormats ?? [];
  const types = action.paramTypes ?? [];
  const formatOf = (i: number) => (formats.length === 1 ? formats[0] : (formats[i] ?? 0)) ?? 0;
  let plain = types.every((t) => t === 0);
  for (let i = 0; i < n && plain; i++) if (formatOf(i) !== 0) plain = false;
  // A COPY FROM STDIN's rows, collected before the approval was asked for: bound by their digest.
  const rows = action.copyData ? { 'body.sha256': action.copyData.sha256 } : undefined;
  if (plain) return rows ? { ...settings, ...rows } : settings;
  return {
    ...settings,
    'gatehouse:param_formats': Array.from({ length: n }, (_, i) => String(formatOf(i))).join(','),
    'gatehouse:param_types': types.join(','),
    ...rows,
  };
}

/** A bind parameter up to this many characters is shown to the approver whole… */
export const SHOWN_WHOLE_PARAM_CHARS = 64 * 1024;
/** …as long as the request's parameters together stay within this many. */
const SHOWN_WHOLE_PARAMS_CHARS = 256 * 1024;
/** A longer one is shown clipped to this many, saying so and how long it is. */
const SHOWN_CLIPPED_PARAM_CHARS = 4096;

/**
 * The bind parameters as the approver is shown them: whole (not the record's 1 KiB clip, whose `…`
 * an approver cannot tell from a value that ends so, and behind which a hostile client puts what it
 * wants unseen), up to SHOWN_WHOLE_PARAM_CHARS each and SHOWN_WHOLE_PARAMS_CHARS in all; past that,
 * clipped with `… (clipped: <n> characters in all)`, so the approver knows they do not see it all.
 */
function shownSqlParams(params: readonly (string | null)[]): (string | null)[] {
  let budget = SHOWN_WHOLE_PARAMS_CHARS;
  return params.map((p) => {
    if (p === null) return null;
    if (p.length <= SHOWN_WHOLE_PARAM_CHARS && p.length <= budget) {
      budget -= p.length;
      return p;
    }
    return clipShown(p, SHOWN_CLIPPED_PARAM_CHARS);
  });
}

function subjectOf(action: Action): ActionSubject {
  if (action.kind === 'sql') {
    const s = action.statement;
    const shown = redactSqlSecrets(s.text);
    const clipped = action.params;
    // Bound whole: two values that differ only past the record's clip are two statements.
    const params = clipped ? (action.paramsInFull?.() ?? clipped) : undefined;
    const shownParams =
      params && clipped
        ? shownSqlParams(params).map((p, i) => (shown.params.includes(i) ? REDACTED : p))
        : undefined;
    // A COPY FROM STDIN's rows are shown after any parameters, as `rows (N bytes, sha256 …): …`.
    const rows = action.copyData;
    return {
      text: s.text,
      shownText: shown.text,
      kind: s.kind,
      categories: s.categories,
      ...(params && clipped ? { params } : {}),
      ...(shownParams || rows
        ? {
            shownParams: [
              ...(shownParams ?? []),
              ...(rows ? [`rows (${rows.bytes} bytes, sha256 ${rows.sha256}): ${rows.shown}`] : []),
            ],
          }
        : {}),
    };
  }
  if (action.kind === 'kubernetes') {
    // The whole request line: describe.text is clipped for records, and two requests that differ
    // only past the clip must not share an approval.
    const d = action.describe;
    const shownParams = withShownBody(
      d.params || action.boundHeaders
        ? [...(d.params ?? []), ...shownHeaders(action.boundHeaders)]
        : undefined,
      action.body,
    );
    return {
      text: action.requestLine,
      shownText: action.requestLine,
      kind: d.kind,
      categories: d.categories,
      ...(d.params ? { params: d.params } : {}),
      ...(shownParams ? { shownParams } : {}),
      ...(action.body || action.boundHeaders
        ? {
            binding: {
              ...headerBinding(action.boundHeaders),
              ...(action.body ? { 'body.sha256': action.body.sha256 } : {}),
            },
          }
        : {}),
    };
  }
  if (action.kind === 'ssh') {
    const d = action.describe;
    const line = action.request === 'exec' || action.request === 'line';
    // exec and line: the whole command line (describe.text is clipped for records), and whether it
    // runs with a terminal: a command approved without one is not approved with one.
    const text = line ? (action.command ?? '') : d.text;
    const terminal = line && action.tty === true;
    // The environment passed with it, as `NAME=value` parameters: a variable the connection lets
    // through can change what the command does, so it is shown and bound like a bind parameter.
    const env = Object.entries(action.env ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`);
    const params = env.length > 0 ? env : d.params;
    return {
      text,
      shownText: text,
      kind: terminal ? `${d.kind} (with a terminal)` : d.kind,
      categories: d.categories,
      ...(params ? { params, shownParams: params } : {}),
      ...(terminal ? { binding: { 'ssh.terminal': 'on' } } : {}),
    };
  }
  // Bound to the whole target (the recorded path masks secret query values and is clipped), to the
  // operation (an AWS JSON or query protocol request names it in a header or the body, so two
  // operations on one resource share a method and path: dynamodb:PutItem and DeleteTable, POST /),
  // and to what the request implies (an S3 copy's source read), each part as decided.
  // The headers decided with each part (an ACL a PutObject sets) are bound too, whole.
  const implied = action.implied ?? [];
  let text = `${action.method} ${action.target ?? action.path}${headersText(action.headers)}`;
  for (const a of implied)
    text += ` + ${a.operation ?? a.method.toLowerCase()} ${a.method} ${a.target ?? a.path}${headersText(a.headers)}`;
  // Shown whole (secret query values masked): the record's text clips a long target (class 278).
  let shown = `${action.method} ${action.shownPath ?? action.path}${headersText(action.headers)}`;
  for (const a of implied)
    shown += ` + ${a.operation ?? a.method.toLowerCase()} ${a.method} ${a.shownPath ?? a.path}${headersText(a.headers)}`;
  const resources = [action, ...implied].flatMap((a) => (a.resource ? [a.resource] : []));
  const shownParams = withShownBody(
    resources.length > 0 || action.boundHeaders
      ? [...resources, ...shownHeaders(action.boundHeaders)]
      : undefined,
    action.body,
  );
  // The body as read whole before the approval was asked for, and forwarded as read: its digest; and
  // the headers forwarded with it, each by its digest (class 205).
  const binding = {
    ...(action.operation !== undefined ? { 'http.operation': action.operation } : {}),
    ...headerBinding(action.boundHeaders),
    ...(action.body ? { 'body.sha256': action.body.sha256 } : {}),
  };
  return {
    text,
    shownText: shown,
    kind: action.operation ?? action.method.toLowerCase(),
    categories: [],
    ...(resources.length > 0 ? { params: resources } : {}),
    ...(shownParams ? { shownParams } : {}),
    ...(Object.keys(binding).length > 0 ? { binding } : {}),
  };
}

/** `header <name>: <value>` for each header bound to an approval (values masked by name). */
function shownHeaders(headers: readonly BoundHeader[] | undefined): string[] {
  return (headers ?? []).map((h) => `header ${h.name}: ${h.shown}`);
}

/** Each header bound to an approval, by its value's digest (`header:<name>` → `sha256:<hex>`). */
function headerBinding(headers: readonly BoundHeader[] | undefined): Record<string, string> {
  return Object.fromEntries((headers ?? []).map((h) => [`header:${h.name}`, `sha256:${h.sha256}`]));
}

/**
 * The parameters an approver is shown, with the request's body (masked and clipped by the engine) as
 * the last one: `body (N bytes, sha256 <hex>): <text>`. The body is bound by its digest, not as a param.
 */
function withShownBody(
  params: readonly (string | null)[] | undefined,
  body: RequestBody | undefined,
): readonly (string | null)[] | undefined {
  if (!body) return params;
  return [...(params ?? []), `body (${body.bytes} bytes, sha256 ${body.sha256}): ${body.shown}`];
}

/** The preview carrying the settings place of the statement hash's document (sorted by name). */
function withBound(p: ImpactPreview, bound: Readonly<Record<string, string>> | undefined): ImpactPreview {
  const names = Object.keys(bound ?? {}).sort();
  if (!bound || names.length === 0) return p;
  return { ...p, settings: Object.fromEntries(names.map((n) => [n, bound[n]!])) };
}

function defaultReason(ctx: ApprovalContext): string | undefined {
  if (ctx.action.kind !== 'sql') return undefined;
  const c = ctx.action.statement.comments;
  if (!c) return undefined;
  for (const k of REASON_KEYS) if (c[k]) return c[k];
  return undefined;
}

/** Finds the grant for a connection: the named one, else the first whose connections cover it. */
export function grantFor(
  config: ApprovalsConfig,
  connection: string,
  name?: string,
): { name: string; grant: AccessGrantConfig } | undefined {
  const covers = (g: AccessGrantConfig) => g.connections.includes('*') || g.connections.includes(connection);
  if (name !== undefined) {
    const g = config.grants[name];
    return g && covers(g) ? { name, grant: g } : undefined;
  }
  for (const [n, g] of Object.entries(config.grants)) if (covers(g)) return { name: n, grant: g };
  return undefined;
}

export class ApprovalService implements Approver {
  readonly #deps: ApprovalServiceDeps;
  readonly #sink: ApprovalEventSink;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping = false;
  #closed = false;

  constructor(deps: ApprovalServiceDeps) {
    this.#deps = deps;
    this.#sink = deps.sink ?? discardApprovalEvents;
  }

  get repository(): ApprovalRepository {
    return this.#deps.repository;
  }

  get signal(): ApprovalSignal {
    return this.#deps.signal;
  }

  /** Starts the expiry sweeper. */
  start(): void {
    const every = this.#deps.sweepIntervalMs ?? 5_000;
    this.#sweeper = setInterval(() => void this.sweep(), every);
    this.#sweeper.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await this.#deps.notifier.drain();
  }

  approvalUrl(id: string): string {
    return `${this.#deps.publicUrl()}/approvals/${encodeURIComponent(id)}`;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  rule(name: string | undefined): EffectiveRule | undefined {
    return resolveRule(this.#deps.config(), name, this.#deps.adminGroups());
  }
  /**
   * The principal with its person as `approvals.people` names them (one person under several
   * addresses): applied to requesters, approvers and stored votes alike, read on each use so a
   * reload applies to pending requests too.
   */
  #canonical<P extends ApprovalPrincipal>(p: P): P {
    const people = this.#deps.config().people;
    if (!people || p.person === undefined) return p;
    const person = canonicalPerson(p.person, people);
    return person === p.person ? p : { ...p, ...(person !== undefined ? { person } : {}) };
  }

  // ------------------------------------------------------------------ the gate's approve step

  async request(ctx: ApprovalContext): Promise<ApprovalOutcome> {
    const { action, decision, identity } = ctx;
    const rule = this.rule(decision.approvalRule);
    if (!rule) {
      return {
        approved: false,
        message: `${decision.message} Approval rule "${decision.approvalRule ?? ''}" is not configured on this gateway, so the statement was refused.`,
      };
    }
    const subject = subjectOf(action);
    const requester = this.#canonical(principalOf(identity));
    const settings = action.kind === 'sql' ? sqlBinding(action) : subject.binding;
    const hash = statementHash({
      connection: action.connection,
      subject: requester.subject,
      issuer: requester.issuer,
      text: subject.text,
      ...(subject.params ? { params: subject.params } : {}),
      ...(settings ? { settings } : {}),
    });

    if (decision.mode === 'defer') {
      // Only an approval given under the rule this decision names: who had to approve is part of
      // what was approved (a stricter rule now, e.g. for another of the principal's groups or after
      // a reload, is not met by an approval under a laxer one).
      const used = await this.#deps.repository.consumeDeferApproval(
        hash,
        { ...requester, connection: action.connection },
        rule.name,
        this.#now(),
      );
      if (used) {
        await this.#event(
          used,
          'approval.executed',
          undefined,
          {
            statementId: ctx.statementId,
            executingSessionId: ctx.sessionId,
            use: used.uses,
            ...(used.usesAllowed !== undefined ? { usesAllowed: used.usesAllowed } : {}),
          },
          ctx.sessionId,
        );
        return {
          approved: true,
          requestId: used.id,
          approvedBy: (used.decidedBy ?? '').split(', ').filter(Boolean),
        };
      }
      const pending = await this.#deps.repository.findPending(
        hash,
        'defer',
        this.#now(),
        requester.agent,
        rule.name,
      );
      if (pending) this.#tellHeld(ctx, pending, rule);
      if (pending)
        return {
          approved: false,
          requestId: pending.id,
          message: this.#deferMessage(decision.message, pending.id, true),
        };
    }

    const full = await this.#tooManyPending(requester);
    if (full) return { approved: false, message: `${decision.message} ${full}` };
    const created = await this.#create(ctx, action, subject, rule, hash, settings);
    this.#tellHeld(ctx, created, rule);
    if (decision.mode === 'defer') {
      return {
        approved: false,
        requestId: created.id,
        message: this.#deferMessage(decision.message, created.id, false),
      };
    }
    const outcome = await this.#hold(created, rule, ctx);
    if (ctx.onHoldSettled) await this.#tellSettled(ctx, created.id, outcome);
    return outcome;
  }

  /**
   * Why this principal may not open another request now (undefined when it may): one principal's
   * pending requests are bounded, so a client in a loop cannot flood the approvers' channels and
   * the upstream with requests and previews.
   */
  async #tooManyPending(
    p: Pick<ApprovalPrincipal, 'subject' | 'issuer' | 'agent'>,
  ): Promise<string | undefined> {
    const max = this.#deps.config().maxPendingPerPrincipal;
    const now = this.#now();
    const n = await this.#deps.repository.countPending(p, now, max);
    if (n >= max)
      return `Gatehouse: ${describePrincipal(p)} already has ${max} approval requests waiting (approvals.maxPendingPerPrincipal), so no new one was opened and nothing was run; wait for those to be decided or to expire.`;
    // Pending ones alone do not bound a client that withdraws each request it opens (a held
    // statement cancelled at once): each would still cost a preview and a notice to every channel.
    const perMinute = this.#deps.config().maxRequestsPerMinute;
    const recent = await this.#deps.repository.countOpenedSince(
      p,
      new Date(now.getTime() - 60_000),
      perMinute,
    );
    if (recent < perMinute) return undefined;
    return `Gatehouse: ${describePrincipal(p)} opened ${perMinute} approval requests in the last minute (approvals.maxRequestsPerMinute), so no new one was opened and nothing was run; try again in a minute.`;
  }

  /** Tells the engine that the action now waits on this request (it tells its client). */
  #tellHeld(ctx: ApprovalContext, r: ApprovalRequest, rule: EffectiveRule): void {
    if (!ctx.onHeld) return;
    const hold = r.mode === 'hold';
    const waitMs = hold ? Math.max(0, r.expiresAt.getTime() - this.#now().getTime()) : 0;
    const url = this.approvalUrl(r.id);
    const who = rule.approverGroups.join(' or ');
    const notice: HeldNotice = {
      requestId: r.id,
      url,
      mode: hold ? 'hold' : 'defer',
      approvalRule: rule.name,
      policyRule: ctx.decision.ruleId,
      approverGroups: rule.approverGroups,
      waitMs,
      expiresAt: r.expiresAt,
      message: hold
        ? `Gatehouse: held for approval by ${who} (rule ${ctx.decision.ruleId}, approval rule ${rule.name}); request ${r.id}: ${url} — waiting up to ${formatDuration(waitMs)}.`
        : `Gatehouse: approval request ${r.id} for ${who} (rule ${ctx.decision.ruleId}): ${url} — run it again once approved.`,
    };
    try {
      ctx.onHeld(notice);
    } catch (err) {
      this.#deps.logger.warn({ err: String(err), request: r.id }, 'hold listener failed');
    }
  }

  async #tellSettled(ctx: ApprovalContext, id: string, outcome: ApprovalOutcome): Promise<void> {
    const r = await this.#deps.repository.getRequest(id).catch(() => undefined);
    const status = r?.status ?? (outcome.approved ? 'approved' : 'withdrawn');
    const result: HoldSettledNotice['outcome'] = status === 'pending' ? 'withdrawn' : status;
    const by = r?.decidedBy;
    const comment = r?.decisionComment;
    const notice: HoldSettledNotice = {
      requestId: id,
      url: this.approvalUrl(id),
      outcome: result,
      ...(by ? { by } : {}),
      ...(comment ? { comment } : {}),
      message: outcome.approved
        ? `Gatehouse: request ${id} was approved${by ? ` by ${by}` : ''}${comment ? `: "${comment}"` : ''}; running the statement.`
        : outcome.message,
    };
    try {
      ctx.onHoldSettled?.(notice);
    } catch (err) {
      this.#deps.logger.warn({ err: String(err), request: id }, 'hold listener failed');
    }
  }

  #deferMessage(policyMessage: string, id: string, existing: boolean): string {
    return `${policyMessage} Approval request ${id} ${existing ? 'is still pending' : 'was created'}: ${this.approvalUrl(id)} — re-run the same statement once approved.`;
  }

  async #create(
    ctx: ApprovalContext,
    action: Action,
    subject: ActionSubject,
    rule: EffectiveRule,
    hash: string,
    bound: Readonly<Record<string, string>> | undefined,
  ): Promise<ApprovalRequest> {
    const now = this.#now();
    // What the hash binds besides the text and parameters (the session's meaning-changing settings,
    // the parameters' formats and types, an HTTP body's digest…) goes with the preview, whatever the
    // preview's own outcome, so every approver surface shows it: an approver who cannot see that the
    // session runs under DateStyle = DMY, TimeZone or search_path approves a statement other than
    // the one they read.
    const preview = withBound(await this.#preview(action, ctx.identity), bound);
    const mode = ctx.decision.mode;
    const ttl = mode === 'hold' ? Math.min(rule.holdTimeoutMs, rule.expiresAfterMs) : rule.expiresAfterMs;
    const reason = (this.#deps.reason ?? defaultReason)(ctx);
    const request: ApprovalRequest = {
      id: randomUUID(),
      kind: 'statement',
      mode,
      status: 'pending',
      ruleName: rule.name,
      policyRuleId: ctx.decision.ruleId,
      connection: action.connection,
      requester: this.#canonical(principalOf(ctx.identity)),
      sessionId: ctx.sessionId,
      statementId: ctx.statementId,
      statement: {
        text: subject.shownText,
        kind: subject.kind,
        categories: subject.categories,
        ...(subject.shownParams ? { params: subject.shownParams } : {}),
        hash,
      },
      ...(reason ? { reason } : {}),
      message: ctx.decision.message,
      preview,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl),
      uses: 0,
    };
    await this.#deps.repository.insertRequest(request);
    await this.#event(request, 'approval.requested', undefined, {
      mode,
      rule: rule.name,
      policyRule: ctx.decision.ruleId,
      statementHash: hash,
      text: subject.shownText,
      ...(subject.shownParams ? { params: subject.shownParams } : {}),
      ...(reason ? { reason } : {}),
      preview,
      expiresAt: request.expiresAt.toISOString(),
      url: this.approvalUrl(request.id),
    });
    this.#notify('approval.requested', request);
    // Wakes open inboxes (the console's event stream) so a new request shows up without a reload.
    await this.#deps.signal.publish(request.id, request.kind);
    this.#deps.logger.info(
      {
        request: request.id,
        session: ctx.sessionId,
        subject: request.requester.subject,
        mode,
        rule: rule.name,
      },
      'approval requested',
    );
    return request;
  }

  async #preview(action: Action, identity: Identity): Promise<ImpactPreview> {
    if (action.kind !== 'sql')
      return {
        kind: 'none',
        notes: [`no impact preview for ${action.kind === 'http' ? 'HTTP' : 'Kubernetes'} requests`],
        tookMs: 0,
      };
    // The preview reads committed data on a connection of its own: after writes its transaction
    // has not committed, it would show the statement over other data (docs/security.md, class 66).
    const shown = (texts: readonly string[]) =>
      texts.map((t) => clipShown(redactSqlSecrets(t).text, 300)).join(' ; ');
    if (action.afterUncommitted !== undefined && action.afterUncommitted.length > 0)
      return {
        kind: 'none',
        notes: [
          'no impact preview: this statement runs after writes its transaction has not committed, which a ' +
            'preview on another connection cannot see, so it would show the statement over other data. ' +
            `Read what it will do from these writes: ${shown(action.afterUncommitted)}`,
        ],
        tookMs: 0,
      };
    // Its session's unqualified names reach its temporary relations first; the preview's have none.
    if (action.temporaryObjects !== undefined && action.temporaryObjects.length > 0)
      return {
        kind: 'none',
        notes: [
          'no impact preview: this session has (or may have) temporary tables, which its unqualified names ' +
            'reach before any other schema and which a preview on another connection cannot see, so it would ' +
            `show the statement over other tables. They come from: ${shown(action.temporaryObjects)} ` +
            '(DISCARD TEMP drops them, and previews resume).',
        ],
        tookMs: 0,
      };
    const settings = action.settings ? meaningSettings(action.settings) : undefined;
    const timeout = this.#deps.previewTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    try {
      return await Promise.race([
        this.#deps.previewer.preview({
          connection: action.connection,
          statement: action.statement,
          identity,
          ...(action.params ? { params: action.paramsInFull?.() ?? action.params } : {}),
          ...(action.params && action.paramFormats ? { paramFormats: action.paramFormats } : {}),
          ...(action.params && action.paramTypes ? { paramTypes: action.paramTypes } : {}),
          ...(settings ? { settings } : {}),
        }),
        new Promise<ImpactPreview>((resolve) => {
          timer = setTimeout(
            () =>
              resolve({
                kind: 'none',
                notes: [`the impact preview took longer than ${timeout} ms and was left out`],
                tookMs: Date.now() - started,
              }),
            timeout,
          );
        }),
      ]);
    } catch (err) {
      this.#deps.logger.warn({ err: String(err) }, 'impact preview failed');
      return { kind: 'none', notes: ['the impact preview failed'], tookMs: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for a decision, the hold timeout, or the client's cancel. */
  async #hold(request: ApprovalRequest, rule: EffectiveRule, ctx: ApprovalContext): Promise<ApprovalOutcome> {
    const outcome = await this.#wait(
      request.id,
      request.expiresAt.getTime() - this.#now().getTime(),
      ctx.signal,
    );
    if (outcome === 'aborted') {
      if (
        await this.#deps.repository.settle(request.id, 'withdrawn', {
          decidedAt: this.#now(),
          comment: 'the client cancelled',
        })
      ) {
        const r = (await this.#deps.repository.getRequest(request.id)) ?? request;
        await this.#event(r, 'approval.withdrawn', undefined, { by: 'client cancel' });
        this.#notify('approval.withdrawn', r);
        await this.#deps.signal.publish(request.id, request.kind);
        return {
          approved: false,
          requestId: request.id,
          message: `Gatehouse: approval request ${request.id} was withdrawn because the client cancelled; the statement was not run.`,
        };
      }
    } else if (outcome === 'timeout') {
      if (await this.#expire(request.id)) {
        return {
          approved: false,
          requestId: request.id,
          message: `Gatehouse: no approver decided request ${request.id} within ${formatDuration(rule.holdTimeoutMs)}, so it expired and the statement was not run.`,
        };
      }
    }
    const current = await this.#deps.repository.getRequest(request.id);
    if (!current)
      return {
        approved: false,
        requestId: request.id,
        message: `Gatehouse: approval request ${request.id} disappeared; the statement was not run.`,
      };
    if (outcome === 'aborted') {
      return {
        approved: false,
        requestId: request.id,
        message: `Gatehouse: the client cancelled while request ${request.id} was ${current.status}; the statement was not run.`,
      };
    }
    return this.#holdOutcome(current, ctx);
  }

  async #holdOutcome(r: ApprovalRequest, ctx: ApprovalContext): Promise<ApprovalOutcome> {
    switch (r.status) {
      case 'approved':
        await this.#event(r, 'approval.executed', undefined, { statementId: ctx.statementId });
        return {
          approved: true,
          requestId: r.id,
          approvedBy: (r.decidedBy ?? '').split(', ').filter(Boolean),
        };
      case 'denied':
        return {
          approved: false,
          requestId: r.id,
          message: `Gatehouse: ${r.decidedBy ?? 'an approver'} denied approval request ${r.id}${r.decisionComment ? `: "${r.decisionComment}"` : ' (no reason given)'}. The statement was not run.`,
        };
      case 'expired':
        return {
          approved: false,
          requestId: r.id,
          message: `Gatehouse: approval request ${r.id} expired before anyone decided; the statement was not run.`,
        };
      case 'withdrawn':
        return {
          approved: false,
          requestId: r.id,
          message: `Gatehouse: approval request ${r.id} was withdrawn; the statement was not run.`,
        };
      case 'pending':
        return {
          approved: false,
          requestId: r.id,
          message: `Gatehouse: approval request ${r.id} is still pending; the statement was not run.`,
        };
    }
  }

  #wait(id: string, timeoutMs: number, signal: AbortSignal): Promise<'decided' | 'timeout' | 'aborted'> {
    return new Promise((resolve) => {
      let done = false;
      let checking = false;
      const finish = (v: 'decided' | 'timeout' | 'aborted') => {
        if (done) return;
        done = true;
        unsubscribe();
        clearTimeout(timer);
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const check = () => {
        if (done || checking) return;
        checking = true;
        this.#deps.repository
          .getRequest(id)
          .then((r) => {
            if (!r || r.status !== 'pending') finish('decided');
          })
          .catch((err: unknown) =>
            this.#deps.logger.warn({ err: String(err), request: id }, 'approval status check failed'),
          )
          .finally(() => (checking = false));
      };
      const unsubscribe = this.#deps.signal.subscribe((changed) => {
        if (changed === id || changed === '*') check();
      });
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
      const poll = setInterval(check, this.#deps.pollIntervalMs ?? 2_000);
      if (signal.aborted) return finish('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  /** Marks a pending request expired; true when this call did it. */
  async #expire(id: string): Promise<boolean> {
    if (!(await this.#deps.repository.settle(id, 'expired', { decidedAt: this.#now() }))) return false;
    const r = await this.#deps.repository.getRequest(id);
    if (r) {
      await this.#event(r, 'approval.expired', undefined, {});
      this.#notify('approval.expired', r);
    }
    await this.#deps.signal.publish(id, r?.kind);
    return true;
  }

  /** Expires overdue pending requests (every replica runs it; the conditional update picks one). */
  async sweep(): Promise<number> {
    if (this.#sweeping || this.#closed) return 0;
    this.#sweeping = true;
    let n = 0;
    try {
      for (const id of await this.#deps.repository.overdue(this.#now())) if (await this.#expire(id)) n++;
    } catch (err) {
      this.#deps.logger.warn({ err: String(err) }, 'approval expiry sweep failed');
    } finally {
      this.#sweeping = false;
    }
    return n;
  }

  // ------------------------------------------------------------------ reading

  /**
   * May this identity see this request? The requester, its eligible approvers, and admins may. The
   * requester is its issuer, subject *and* agent flag: a token an MCP client holds in a person's name
   * is an agent's (class 72), and reads none of the person's own requests (class 258).
   */
  canView(viewer: Identity, r: ApprovalRequest): boolean {
    if (isRequesterOf(r, viewer)) return true;
    if (viewer.agent) return false;
    if (viewer.groups.some((g) => this.#deps.adminGroups().includes(g))) return true;
    const rule = this.rule(r.ruleName);
    return !!rule && viewer.groups.some((g) => rule.approverGroups.includes(g));
  }

  /**
   * May this viewer see the impact preview? Those who may decide on the request and admins, never an
   * agent. The preview ran with the requester's rights on data policy may keep from the requester
   * (a count over a denied table, a filter on a masked column): shown to the requester, it would
   * answer what the statement asks before anyone approved it.
   */
  mayPreview(viewer: Identity, r: ApprovalRequest): boolean {
    if (viewer.agent) return false;
    if (viewer.groups.some((g) => this.#deps.adminGroups().includes(g))) return true;
    const rule = this.rule(r.ruleName);
    return !!rule && viewer.groups.some((g) => rule.approverGroups.includes(g));
  }

  /** The request as this viewer may see it (the impact preview only for its approvers and admins). */
  #forViewer(viewer: Identity, r: ApprovalRequest): ApprovalRequest {
    if (!r.preview || this.mayPreview(viewer, r)) return r;
    return { ...r, preview: PREVIEW_FOR_APPROVERS };
  }

  async get(viewer: Identity, id: string): Promise<ApprovalDetails | 'forbidden' | undefined> {
    const request = await this.#deps.repository.getRequest(id);
    if (!request) return undefined;
    if (!this.canView(viewer, request)) return 'forbidden';
    const d = await this.details(request);
    if (this.mayPreview(viewer, request)) return d;
    return {
      ...d,
      request: this.#forViewer(viewer, request),
      history: d.history.map((e) =>
        e.data.preview === undefined ? e : { ...e, data: { ...e.data, preview: PREVIEW_FOR_APPROVERS } },
      ),
    };
  }

  async details(request: ApprovalRequest): Promise<ApprovalDetails> {
    const [votes, history] = await Promise.all([
      this.#deps.repository.listVotes(request.id),
      this.#deps.repository.listEvents(request.id),
    ]);
    return { request, votes, history };
  }

  async list(viewer: Identity, filter: RequestFilter): Promise<ApprovalRequest[]> {
    const rows = await this.#deps.repository.listRequests(filter);
    return rows.filter((r) => this.canView(viewer, r)).map((r) => this.#forViewer(viewer, r));
  }

  // ------------------------------------------------------------------ deciding

  async decide(
    id: string,
    asGiven: ApprovalPrincipal,
    vote: 'approve' | 'deny',
    opts: DecideOptions,
  ): Promise<DecideResult> {
    const repo = this.#deps.repository;
    const now = this.#now();
    const approver = this.#canonical(asGiven);
    const request = await repo.getRequest(id);
    if (!request) return { ok: false, status: 404, message: 'no such approval request' };
    const rule = this.rule(request.ruleName);
    if (!rule)
      return { ok: false, status: 409, message: `approval rule ${request.ruleName} is no longer configured` };
    const refusal = approverRefusal(rule, this.#canonical(request.requester), approver, now);
    if (refusal) return { ok: false, status: 403, message: refusal };
    if (request.status === 'pending' && request.expiresAt.getTime() <= now.getTime()) {
      await this.#expire(request.id);
      return { ok: false, status: 409, message: `approval request ${id} has expired` };
    }
    if (request.status !== 'pending')
      return { ok: false, status: 409, message: `approval request ${id} is already ${request.status}` };
    const comment = opts.comment?.trim() ? opts.comment.trim().slice(0, 2000) : undefined;
    if (opts.uses !== undefined && (!Number.isInteger(opts.uses) || opts.uses < 1 || opts.uses > 1000)) {
      return { ok: false, status: 400, message: 'uses must be a whole number from 1 to 1000' };
    }
    if (
      opts.forMs !== undefined &&
      (!Number.isFinite(opts.forMs) || opts.forMs < 1000 || opts.forMs > 30 * 86_400_000)
    ) {
      return { ok: false, status: 400, message: 'for must be between 1 s and 30 days' };
    }
    // One person, one vote: a vote already cast under another identity of the same person stands for
    // this one (the store's unique index on the person refuses it too, when two come at once).
    // An identity that names no person is only itself: nothing to look up before its vote.
    const earlier =
      approver.person === undefined
        ? undefined
        : (await repo.listVotes(id)).find(
            (v) => samePerson(this.#canonical(v.approver), approver) && !samePrincipal(v.approver, approver),
          );
    if (earlier)
      return {
        ok: false,
        status: 409,
        message: `you have already decided on this request as ${describePrincipal(earlier.approver)} (the same person: ${approver.person})`,
      };
    const inserted = await repo.insertVote(id, {
      approver,
      vote,
      ...(comment ? { comment } : {}),
      via: opts.via,
      at: now,
    });
    if (!inserted) return { ok: false, status: 409, message: 'you have already decided on this request' };
    await repo.appendEvent({
      requestId: id,
      at: now,
      type: 'approval.vote',
      actor: describePrincipal(approver),
      data: { vote, via: opts.via, ...(comment ? { comment } : {}) },
    });
    const votes = (await repo.listVotes(id)).map((v) => ({ ...v, approver: this.#canonical(v.approver) }));
    const outcome = tally(rule, votes);
    if (outcome !== 'pending') {
      const deciders =
        outcome === 'denied'
          ? votes.filter((v) => v.vote === 'deny')
          : votes.filter((v) => v.vote === 'approve');
      const decidedBy = deciders.map((v) => describePrincipal(v.approver)).join(', ');
      const comments = deciders
        .map((v) => v.comment)
        .filter(Boolean)
        .join(' / ');
      const grantFields =
        outcome !== 'approved'
          ? {}
          : request.kind === 'access'
            ? { validUntil: new Date(now.getTime() + (request.requestedDurationMs ?? 0)) }
            : request.mode === 'defer'
              ? opts.forMs !== undefined
                ? {
                    validUntil: new Date(now.getTime() + opts.forMs),
                    ...(opts.uses !== undefined ? { usesAllowed: opts.uses } : {}),
                  }
                : { validUntil: new Date(now.getTime() + rule.grantValidForMs), usesAllowed: opts.uses ?? 1 }
              : {};
      const settled = await repo.settle(id, outcome, {
        decidedAt: now,
        decidedBy,
        ...(comments ? { comment: comments } : {}),
        ...grantFields,
      });
      if (settled) {
        const r = (await repo.getRequest(id)) ?? request;
        await this.#event(
          r,
          outcome === 'approved' ? 'approval.approved' : 'approval.denied',
          describePrincipal(approver),
          {
            by: decidedBy,
            via: opts.via,
            ...(comments ? { comment: comments } : {}),
            ...(r.usesAllowed !== undefined ? { usesAllowed: r.usesAllowed } : {}),
            ...(r.validUntil ? { validUntil: r.validUntil.toISOString() } : {}),
          },
        );
        this.#notify(outcome === 'approved' ? 'approval.approved' : 'approval.denied', r);
        this.#deps.logger.info({ request: id, outcome, by: decidedBy, via: opts.via }, 'approval decided');
      }
    }
    await this.#deps.signal.publish(id, request.kind);
    const after = await repo.getRequest(id);
    return { ok: true, details: await this.details(after ?? request) };
  }

  // ------------------------------------------------------------------ time-bound access grants

  async requestAccess(
    identity: Identity,
    input: AccessRequestInput,
  ): Promise<{ ok: true; request: ApprovalRequest } | { ok: false; status: 400 | 404; message: string }> {
    const config = this.#deps.config();
    const found = grantFor(config, input.connection, input.grant);
    if (!found) {
      return {
        ok: false,
        status: 404,
        message: input.grant
          ? `no access grant "${input.grant}" covers connection ${input.connection}`
          : `no access grant is configured for connection ${input.connection}`,
      };
    }
    const max = toMs(found.grant.maxDuration);
    if (!Number.isFinite(input.durationMs) || input.durationMs < 60_000 || input.durationMs > max) {
      return {
        ok: false,
        status: 400,
        message: `the duration must be between 1m and ${formatDuration(max)} (grant ${found.name})`,
      };
    }
    const reason = input.reason.trim();
    if (!reason) return { ok: false, status: 400, message: 'a reason is required' };
    const rule = this.rule(found.grant.approval);
    if (!rule)
      return {
        ok: false,
        status: 400,
        message: `approval rule ${found.grant.approval ?? 'default'} is not configured`,
      };
    const full = await this.#tooManyPending(identity);
    if (full) return { ok: false, status: 400, message: full };
    const now = this.#now();
    const request: ApprovalRequest = {
      id: randomUUID(),
      kind: 'access',
      mode: 'access',
      status: 'pending',
      ruleName: rule.name,
      connection: input.connection,
      requester: this.#canonical(principalOf(identity)),
      reason: reason.slice(0, 2000),
      grantName: found.name,
      requestedDurationMs: input.durationMs,
      createdAt: now,
      expiresAt: new Date(now.getTime() + rule.expiresAfterMs),
      uses: 0,
    };
    await this.#deps.repository.insertRequest(request);
    await this.#event(request, 'approval.requested', describePrincipal(request.requester), {
      grant: found.name,
      connection: input.connection,
      durationMs: input.durationMs,
      reason: request.reason,
      url: this.approvalUrl(request.id),
    });
    this.#notify('approval.requested', request);
    return { ok: true, request };
  }

  // ------------------------------------------------------------------ events

  #notify(event: NoticeEvent, request: ApprovalRequest): void {
    this.#deps.notifier.notify({ event, request, url: this.approvalUrl(request.id), at: this.#now() });
  }

  /** Called by the notifier after a channel delivered a notice. */
  noteDelivered(channel: string, event: NoticeEvent, request: ApprovalRequest): void {
    if (event !== 'approval.requested') return;
    void this.#event(request, 'approval.notified', undefined, { channel }).catch(() => undefined);
  }

  /** Appends to the request's history and sends the step to the session record. Never throws. */
  async #event(
    request: ApprovalRequest,
    type: ApprovalEventType,
    actor: string | undefined,
    data: Record<string, unknown>,
    sessionId: string | undefined = request.sessionId,
  ): Promise<void> {
    const at = this.#now();
    try {
      await this.#deps.repository.appendEvent({
        requestId: request.id,
        at,
        type,
        ...(actor ? { actor } : {}),
        data,
      });
    } catch (err) {
      this.#deps.logger.error({ err: String(err), request: request.id, type }, 'approval event not stored');
    }
    if (!sessionId) return;
    const statementId = typeof data.statementId === 'string' ? data.statementId : request.statementId;
    await this.#sink
      .record(sessionId, {
        type,
        at,
        requestId: request.id,
        ...(statementId ? { statementId } : {}),
        data: { ...forSessionRecord(data), ...(actor ? { actor } : {}) },
      })
      .catch((err: unknown) =>
        this.#deps.logger.error(
          { err: String(err), request: request.id, type },
          'approval event not recorded in the session',
        ),
      );
  }
}
