// The metrics port: counters, gauges and histograms the gate, engines and services record through.
// Where nothing collects metrics the do-nothing registry is passed, so no caller branches on whether
// metrics are on. Label values must come from a bounded set (connections, rules, decisions), never
// from client input such as statement text.

export type MetricLabels = Readonly<Record<string, string>>;

export interface MetricDefinition {
  /** Prometheus name, e.g. `gatehouse_statements_total` (docs/operations.md lists them all). */
  readonly name: string;
  readonly help: string;
  /** Label names every observation carries, in order. */
  readonly labels?: readonly string[];
}

export interface Counter {
  inc(labels?: MetricLabels, by?: number): void;
}

export interface Gauge {
  set(labels: MetricLabels, value: number): void;
  inc(labels?: MetricLabels, by?: number): void;
  dec(labels?: MetricLabels, by?: number): void;
}

export interface Histogram {
  /** Records one value (seconds for durations). */
  observe(labels: MetricLabels, value: number): void;
}

/** A value read at scrape time (queue depths, pool use, pending approvals). */
export type GaugeReading = { readonly labels?: MetricLabels; readonly value: number };

export interface MetricRegistry {
  counter(def: MetricDefinition): Counter;
  gauge(def: MetricDefinition): Gauge;
  histogram(def: MetricDefinition & { readonly buckets?: readonly number[] }): Histogram;
  /** A gauge whose readings are taken when metrics are scraped; a failing read is skipped. */
  gaugeFrom(
    def: MetricDefinition,
    read: () => readonly GaugeReading[] | Promise<readonly GaugeReading[]>,
  ): void;
  /** A counter whose total is read when metrics are scraped (counts kept elsewhere, e.g. SIEM drops). */
  counterFrom(
    def: MetricDefinition,
    read: () => readonly GaugeReading[] | Promise<readonly GaugeReading[]>,
  ): void;
}

const nothing = {
  inc: () => undefined,
  set: () => undefined,
  dec: () => undefined,
  observe: () => undefined,
};

/** Records nothing: the registry when metrics are not collected (tests, CLI commands). */
export const noMetrics: MetricRegistry = {
  counter: () => nothing,
  gauge: () => nothing,
  histogram: () => nothing,
  gaugeFrom: () => undefined,
  counterFrom: () => undefined,
};

/** Seconds since `start` (a `performance.now()` reading), for histograms. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
