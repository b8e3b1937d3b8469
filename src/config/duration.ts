// Durations as the config writes them ("10s", "5m", 250 ms). Apart from the schema so that the CLI
// commands that parse a --ttl or --wait do not load zod and the whole config schema to start.

/** Parses "10s", "5m", 250 … into milliseconds. */
export function toMs(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return n * unit;
}
