// What a detector reports and what masking returns: plain data shared by every detector and masker.
// No detection logic here; only the types and the rule for overlapping findings.

/** One sensitive span of a text. Indexes are UTF-16 code units, `end` exclusive. */
export interface Finding {
  /** Detector name (`credit_card`, a custom detector's name, or `encoded:<name>`). */
  readonly detector: string;
  readonly start: number;
  readonly end: number;
  /** text.slice(start, end). Sensitive: never log it. */
  readonly text: string;
}

/**
 * How a finding is replaced.
 * - redact: `[REDACTED:<detector>]`
 * - partial: letters and digits become `*` except the last 4 (when there are at least 9), separators stay
 * - hash: `hmac:<16 hex>`, keyed HMAC-SHA-256, deterministic for joins and GROUP BY
 * - null: the whole cell becomes SQL NULL; inside a larger text it degrades to redact
 */
export type MaskStyle = 'redact' | 'partial' | 'hash' | 'null';

export const MASK_STYLES = ['redact', 'partial', 'hash', 'null'] as const satisfies readonly MaskStyle[];

/** A style for every finding, or one chosen per detector name (the name without `encoded:`). */
export type StyleChoice = MaskStyle | ((detector: string) => MaskStyle);

/**
 * Where the masked text goes. `cell`: a whole value (a DataRow column, a JSON string) that may become
 * NULL. `text`: part of something larger (an error message, an HTTP body), where null means redact.
 */
export type MaskContext = 'cell' | 'text';

export interface MaskResult {
  /**
   * The masked text. Always safe to show: when `isNull` is true it still holds the text with every
   * finding redacted, so a caller that ignores `isNull` leaks nothing.
   */
  readonly text: string;
  /** Findings replaced, per detector name. */
  readonly counts: Readonly<Record<string, number>>;
  /** A `null`-style finding was in a `cell`: the caller should send SQL NULL (or JSON null). */
  readonly isNull: boolean;
}

export const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/**
 * Sorts findings and merges overlaps into their union (named after the finding that starts first,
 * the longer one on a tie), so that masking one span can never leave part of another visible.
 */
export function resolveOverlaps(text: string, findings: Finding[]): Finding[] {
  if (findings.length < 2) return findings;
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Finding[] = [];
  let cur = findings[0] as Finding;
  for (let i = 1; i < findings.length; i++) {
    const f = findings[i] as Finding;
    if (f.start < cur.end) {
      if (f.end > cur.end) {
        cur = { detector: cur.detector, start: cur.start, end: f.end, text: text.slice(cur.start, f.end) };
      }
      continue;
    }
    out.push(cur);
    cur = f;
  }
  out.push(cur);
  return out;
}
