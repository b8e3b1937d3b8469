// Decorators that trace and time the gate's ports, so each step of the pipeline (authenticate,
// decide, approve, record) is a span under the gate's own span and the store's write latency and
// the approval waits are metrics, without any of those adapters knowing about telemetry.

import type { HeldNotice } from '../core/held-notice.js';
import { secondsSince, type MetricRegistry } from '../core/metrics.js';
import type { Approver, Authenticator, PolicyDecider, SessionStore } from '../core/ports.js';
import { noTracer, type Tracer } from '../core/tracing.js';
import { WAIT_BUCKETS } from './prometheus-registry.js';

export function tracedAuthenticator(inner: Authenticator, tracer: Tracer): Authenticator {
  const out: Authenticator = {
    authenticate: (token) =>
      tracer.span('gatehouse.authenticate', {}, async (span) => {
        const id = await inner.authenticate(token);
        span.set({ 'gatehouse.token_kind': id.tokenKind, 'gatehouse.agent': id.agent });
        return id;
      }),
  };
  // Keep the optional re-check (revocation) the gate uses, untraced (it runs on a timer).
  return inner.revalidate ? { ...out, revalidate: inner.revalidate.bind(inner) } : out;
}

export function tracedPolicy(inner: PolicyDecider, tracer: Tracer): PolicyDecider {
  if (tracer === noTracer) return inner;
  return {
    get version() {
      return inner.version;
    },
    connectionAccess: (identity, connection) => inner.connectionAccess(identity, connection),
    decide: (identity, action) =>
      tracer.spanSync('gatehouse.decide', { 'gatehouse.policy_version': inner.version }, (span) => {
        const d = inner.decide(identity, action);
        span.set({ 'gatehouse.decision': d.effect, 'gatehouse.rule': d.ruleId });
        return d;
      }),
  };
}

/**
 * The current policy, traced: wrapped once per policy (a reload brings a new one), not once per
 * decision (the gate asks for the policy at every statement).
 */
export function tracedPolicySource(current: () => PolicyDecider, tracer: Tracer): () => PolicyDecider {
  let inner: PolicyDecider | undefined;
  let traced: PolicyDecider | undefined;
  return () => {
    const p = current();
    if (p !== inner) {
      inner = p;
      traced = tracedPolicy(p, tracer);
    }
    return traced!;
  };
}

/** The store as the gate writes to it: each write timed (the record step's latency) and traced. */
export function instrumentedStore<S extends SessionStore>(
  inner: S,
  metrics: MetricRegistry,
  tracer: Tracer,
): S {
  const latency = metrics.histogram({
    name: 'gatehouse_store_write_seconds',
    help: 'Time until a record write is durable (the record step: queueing and group commit included)',
    labels: ['op'],
  });
  const failures = metrics.counter({
    name: 'gatehouse_store_write_failures_total',
    help: 'Record writes that failed (a statement that cannot be recorded is not forwarded)',
    labels: ['op'],
  });
  const timed = <A extends unknown[]>(op: string, traced: boolean, fn: (...a: A) => Promise<void>) => {
    // Made once: the registry keys a frozen label set once (prometheus-registry.ts keyOf).
    const labels = Object.freeze({ op });
    const spanName = `gatehouse.record.${op}`;
    const failed = (e: unknown): never => {
      failures.inc(labels);
      throw e;
    };
    // Two writes per statement come through here: one closure each (the time it started), no more.
    const timedWrite = (a: A, t0: number): Promise<void> =>
      fn(...a).then(() => latency.observe(labels, secondsSince(t0)), failed);
    return (...a: A): Promise<void> => {
      const t0 = performance.now();
      return traced && tracer !== noTracer
        ? tracer.span(spanName, {}, () => timedWrite(a, t0))
        : timedWrite(a, t0);
    };
  };
  return Object.assign(Object.create(inner) as S, {
    startSession: timed('session_start', true, inner.startSession.bind(inner)),
    recordStatement: timed('statement', true, inner.recordStatement.bind(inner)),
    completeStatement: timed('result', false, inner.completeStatement.bind(inner)),
    endSession: timed('session_end', false, inner.endSession.bind(inner)),
    appendEvent: timed('event', false, inner.appendEvent.bind(inner)),
    // The rest of the port runs on the inner store itself (its private fields are not the wrapper's).
    listSessions: inner.listSessions.bind(inner),
    getSession: inner.getSession.bind(inner),
    close: inner.close.bind(inner),
    ...(inner.commitDeferred ? { commitDeferred: inner.commitDeferred.bind(inner) } : {}),
  });
}

/** The approve step traced, with how long held clients wait and how many wait now. */
export function instrumentedApprover(inner: Approver, metrics: MetricRegistry, tracer: Tracer): Approver {
  const wait = metrics.histogram({
    name: 'gatehouse_approval_wait_seconds',
    help: 'How long a held client waited for a decision, by outcome',
    labels: ['connection', 'outcome'],
    buckets: WAIT_BUCKETS,
  });
  const held = metrics.gauge({
    name: 'gatehouse_approvals_held',
    help: 'Clients held on this replica now, waiting for a decision',
    labels: ['connection'],
  });
  const requested = metrics.counter({
    name: 'gatehouse_approval_requests_total',
    help: 'Approval requests tied to actions, by mode (hold, defer)',
    labels: ['connection', 'mode'],
  });
  return {
    request: (ctx) =>
      tracer.span('gatehouse.approve', { 'gatehouse.mode': ctx.decision.mode }, async (span) => {
        const connection = ctx.action.connection;
        let heldAt: number | undefined;
        const outcome = await inner.request({
          ...ctx,
          onHeld: (n: HeldNotice) => {
            requested.inc({ connection, mode: n.mode });
            if (n.mode === 'hold') {
              heldAt = performance.now();
              held.inc({ connection });
            }
            span.set({ 'gatehouse.approval_request': n.requestId });
            ctx.onHeld?.(n);
          },
          onHoldSettled: (n) => {
            if (heldAt !== undefined) {
              held.dec({ connection });
              wait.observe({ connection, outcome: n.outcome }, secondsSince(heldAt));
              heldAt = undefined;
            }
            ctx.onHoldSettled?.(n);
          },
        });
        // A hold that ended without a settle notice (the approver failed) still stops counting.
        if (heldAt !== undefined) held.dec({ connection });
        span.set({ 'gatehouse.approved': outcome.approved });
        return outcome;
      }),
  };
}
