// The metric registry behind /metrics: keeps counters, gauges and histograms in memory and renders
// them in the Prometheus text exposition format (version 0.0.4). Label sets are bounded by the
// callers (connections, rules, decisions); this registry does not cap them.

import type {
  Counter,
  Gauge,
  GaugeReading,
  Histogram,
  MetricDefinition,
  MetricLabels,
  MetricRegistry,
} from '../core/metrics.js';

/** Latency buckets in seconds: from 100 µs (a cached decision) to 10 s. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Waits for a person, in seconds: 1 s to 1 day. */
export const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14_400, 86_400] as const;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly def: MetricDefinition;
  readonly kind: Kind;
  readonly values: Map<string, { labels: MetricLabels; value: number }>;
  readonly buckets?: readonly number[];
  readonly histograms?: Map<string, { labels: MetricLabels; counts: number[]; sum: number; count: number }>;
  readonly read?: () => readonly GaugeReading[] | Promise<readonly GaugeReading[]>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: MetricLabels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * The key of a label set (the same whatever order its names were written in). Runs several times per
 * statement: names sorted in place and joined with control characters, no JSON.
 */
function keyOf(labels: MetricLabels | undefined): string {
  if (!labels) return '';
  const frozen = Object.isFrozen(labels);
  if (frozen) {
    const known = frozenKeys.get(labels);
    if (known !== undefined) return known;
  }
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let k = '';
  for (const n of names) k += `${n}\u0000${String(labels[n])}\u0001`;
  if (frozen) frozenKeys.set(labels, k);
  return k;
}

/**
 * Keys of frozen label sets: a caller that passes the same frozen object every time (the gate's
 * per-connection label sets) has it keyed once. A frozen object cannot change, so its key cannot.
 */
const frozenKeys = new WeakMap<MetricLabels, string>();

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class PrometheusRegistry implements MetricRegistry {
  readonly #families = new Map<string, Family>();

  #family(def: MetricDefinition, kind: Kind, extra: Partial<Family> = {}): Family {
    const existing = this.#families.get(def.name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${def.name} is already a ${existing.kind}`);
      return existing;
    }
    if (!NAME.test(def.name)) throw new Error(`bad metric name ${def.name}`);
    const f: Family = { def, kind, values: new Map(), ...extra };
    this.#families.set(def.name, f);
    return f;
  }

  #add(f: Family, labels: MetricLabels | undefined, by: number): void {
    const k = keyOf(labels);
    const cur = f.values.get(k);
    if (cur) cur.value += by;
    else f.values.set(k, { labels: labels ?? {}, value: by });
  }

  counter(def: MetricDefinition): Counter {
    const f = this.#family(def, 'counter');
    return { inc: (labels, by = 1) => this.#add(f, labels, Math.max(0, by)) };
  }

  gauge(def: MetricDefinition): Gauge {
    const f = this.#family(def, 'gauge');
    return {
      set: (labels, value) => void f.values.set(keyOf(labels), { labels, value }),
      inc: (labels, by = 1) => this.#add(f, labels, by),
      dec: (labels, by = 1) => this.#add(f, labels, -by),
    };
  }

  histogram(def: MetricDefinition & { readonly buckets?: readonly number[] }): Histogram {
    const buckets = [...(def.buckets ?? LATENCY_BUCKETS)].sort((a, b) => a - b);
    const f = this.#family(def, 'histogram', { buckets, histograms: new Map() });
    return {
      observe: (labels, value) => {
        const k = keyOf(labels);
        let h = f.histograms!.get(k);
        if (!h) {
          h = { labels, counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 };
          f.histograms!.set(k, h);
        }
        // Counts per bucket are kept non-cumulative and summed when rendered.
        const i = buckets.findIndex((b) => value <= b);
        if (i >= 0) h.counts[i]! += 1;
        h.sum += value;
        h.count += 1;
      },
    };
  }

  gaugeFrom(def: MetricDefinition, read: Family['read']): void {
    this.#family(def, 'gauge', { read });
  }

  counterFrom(def: MetricDefinition, read: Family['read']): void {
    this.#family(def, 'counter', { read });
  }

  /** The text exposition format, every family in registration order. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const f of this.#families.values()) {
      out.push(`# HELP ${f.def.name} ${escapeHelp(f.def.help)}`, `# TYPE ${f.def.name} ${f.kind}`);
      if (f.read) {
        let readings: readonly GaugeReading[] = [];
        try {
          readings = await f.read();
        } catch {
          continue; // a source that cannot be read now is left out of this scrape
        }
        for (const r of readings)
          out.push(`${f.def.name}${labelText(r.labels ?? {})} ${formatValue(r.value)}`);
      } else if (f.kind === 'histogram') {
        for (const h of f.histograms!.values()) {
          let cumulative = 0;
          f.buckets!.forEach((b, i) => {
            cumulative += h.counts[i]!;
            out.push(`${f.def.name}_bucket${labelText(h.labels, ['le', formatValue(b)])} ${cumulative}`);
          });
          out.push(`${f.def.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${h.count}`);
          out.push(`${f.def.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
          out.push(`${f.def.name}_count${labelText(h.labels)} ${h.count}`);
        }
      } else {
        for (const v of f.values.values())
          out.push(`${f.def.name}${labelText(v.labels)} ${formatValue(v.value)}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}

/** The content type of the text format (Prometheus scrapers send Accept and expect this back). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
