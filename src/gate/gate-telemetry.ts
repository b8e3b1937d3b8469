// What the gate counts and traces (docs/operations.md): sessions open and total by connection and
// protocol, refusals and limits hit, actions by decision and rule, the latency the gate adds,
// masking counts. Recorded through the metric and tracing ports, whose do-nothing implementations
// stand in when metrics or tracing are off, so the gate has no `if (enabled)`.

import { ERROR_CODES, isGatewayError } from '../core/errors.js';
import { noMetrics, type MetricLabels, type MetricRegistry } from '../core/metrics.js';
import type { SessionRecord, StatementResult } from '../core/records.js';

export const GATE_METRICS = {
  sessionsTotal: 'gatehouse_sessions_total',
  sessionsOpen: 'gatehouse_sessions_open',
  sessionsRefused: 'gatehouse_sessions_refused_total',
  limitsHit: 'gatehouse_limits_hit_total',
  actions: 'gatehouse_statements_total',
  addedLatency: 'gatehouse_gate_added_latency_seconds',
  masked: 'gatehouse_masked_values_total',
  results: 'gatehouse_statement_results_total',
} as const;

export class GateInstruments {
  readonly #sessionsTotal;
  readonly #sessionsOpen;
  readonly #sessionsRefused;
  readonly #limitsHit;
  readonly #actions;
  readonly #addedLatency;
  readonly #masked;
  readonly #results;
  // One table per family, so label sets of different families never share a key.
  readonly #actionLabels = new LabelSets(['decision', 'rule', 'outcome']);
  readonly #latencyLabels = new LabelSets(['decision']);
  readonly #resultLabels = new LabelSets(['result']);

  constructor(m: MetricRegistry) {
    const cp = ['connection', 'protocol'];
    this.#sessionsTotal = m.counter({
      name: GATE_METRICS.sessionsTotal,
      help: 'Sessions opened',
      labels: cp,
    });
    this.#sessionsOpen = m.gauge({ name: GATE_METRICS.sessionsOpen, help: 'Sessions open now', labels: cp });
    this.#sessionsRefused = m.counter({
      name: GATE_METRICS.sessionsRefused,
      help: 'Sessions refused at open (bad token, no access, limit, record failure), by error code',
      labels: [...cp, 'code'],
    });
    this.#limitsHit = m.counter({
      name: GATE_METRICS.limitsHit,
      help: 'Sessions refused because a per-principal or per-connection limit was reached',
      labels: cp,
    });
    this.#actions = m.counter({
      name: GATE_METRICS.actions,
      help: 'Statements and requests decided, by decision (allow, deny, review), rule and outcome (admitted, refused)',
      labels: [...cp, 'decision', 'rule', 'outcome'],
    });
    this.#addedLatency = m.histogram({
      name: GATE_METRICS.addedLatency,
      help: 'Time the gate adds before an action is forwarded or refused (decide and record; approval waits excluded)',
      labels: [...cp, 'decision'],
    });
    this.#masked = m.counter({
      name: GATE_METRICS.masked,
      help: 'Values masked in results, by detector or column tag',
      labels: [...cp, 'kind'],
    });
    this.#results = m.counter({
      name: GATE_METRICS.results,
      help: 'Results of admitted actions: ok, or error',
      labels: [...cp, 'result'],
    });
  }

  opened(r: Pick<SessionRecord, 'connection' | 'protocol'>): void {
    const l = { connection: r.connection, protocol: r.protocol };
    this.#sessionsTotal.inc(l);
    this.#sessionsOpen.inc(l);
  }

  closed(r: Pick<SessionRecord, 'connection' | 'protocol'>): void {
    this.#sessionsOpen.dec({ connection: r.connection, protocol: r.protocol });
  }

  refused(req: { connection: string; protocol: string }, err: unknown): void {
    const l = { connection: req.connection, protocol: req.protocol };
    const code = isGatewayError(err) ? err.code : ERROR_CODES.INTERNAL;
    this.#sessionsRefused.inc({ ...l, code });
    if (code === ERROR_CODES.LIMIT_EXCEEDED) this.#limitsHit.inc(l);
  }

  decided(
    r: Pick<SessionRecord, 'connection' | 'protocol'>,
    decision: { effect: string; ruleId: string } | undefined,
    admitted: boolean,
    seconds: number,
  ): void {
    const effect = decision?.effect ?? 'deny';
    const rule = decision?.ruleId ?? 'internal-error';
    const outcome = admitted ? 'admitted' : 'refused';
    this.#actions.inc(this.#actionLabels.get(r, effect, rule, outcome));
    // A reviewed action's time is mostly a person's: that goes to the approval wait histogram.
    if (effect !== 'review') this.#addedLatency.observe(this.#latencyLabels.get(r, effect), seconds);
  }

  settled(
    r: Pick<SessionRecord, 'connection' | 'protocol'>,
    error: StatementResult['error'],
    masked: StatementResult['masked'],
  ): void {
    this.#results.inc(this.#resultLabels.get(r, error ? 'error' : 'ok'));
    if (masked === undefined) return;
    const l = { connection: r.connection, protocol: r.protocol };
    for (const kind in masked) {
      const n = masked[kind]!;
      if (n > 0) this.#masked.inc({ ...l, kind }, n);
    }
  }
}

/**
 * The label sets of the per-statement counters, made once each and frozen (the registry then keys
 * each once): a statement would otherwise build two or three objects and sort their names. Bounded:
 * connections and rules come from the configuration, and a reload that brings new ones may at worst
 * refill the table.
 */
class LabelSets {
  readonly #sets = new Map<string, MetricLabels>();

  /** `names`: the labels after connection and protocol (up to three), in the order `get` takes them. */
  constructor(private readonly names: readonly string[]) {}

  get(r: Pick<SessionRecord, 'connection' | 'protocol'>, a: string, b = '', c = ''): MetricLabels {
    const key = `${r.connection}\u0000${r.protocol}\u0000${a}\u0000${b}\u0000${c}`;
    let set = this.#sets.get(key);
    if (set === undefined) {
      if (this.#sets.size >= 10_000) this.#sets.clear();
      const labels: Record<string, string> = { connection: r.connection, protocol: r.protocol };
      const values = [a, b, c];
      this.names.forEach((name, i) => (labels[name] = values[i]!));
      set = Object.freeze(labels);
      this.#sets.set(key, set);
    }
    return set;
  }
}

const cache = new WeakMap<MetricRegistry, GateInstruments>();

/** The gate's instruments on a registry (made once per registry). */
export function gateInstruments(m: MetricRegistry = noMetrics): GateInstruments {
  let i = cache.get(m);
  if (!i) {
    i = new GateInstruments(m);
    cache.set(m, i);
  }
  return i;
}
