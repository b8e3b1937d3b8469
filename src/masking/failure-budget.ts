// Resource failures of statements that read masked values, counted per principal (docs/security.md
// class 224). Whether a statement fails is a bit of what it reads; lineage counts every failure it
// can see coming (class 153) and every value that can reach the server's size limits (class 212).
// What it cannot see: a statement cancelled by statement_timeout after work a masked value decided
// (`CASE WHEN secret < 'm' THEN (SELECT count(*) FROM generate_series(1, 1e9)) END`), a value grown
// in a table by earlier writes, the server running out of memory or temporary file space. Those
// surface as the server's resource errors; past a few of them within an hour, every further
// statement of that principal that reads a masked value is held as a masked predicate.

/** SQLSTATEs of resources running out: classes 53 and 54, a cancelled statement, an internal error. */
export function isResourceFailure(code: string): boolean {
  return code.startsWith('53') || code.startsWith('54') || code === '57014' || code === 'XX000';
}

export interface FailureBudgetOptions {
  /** Failures allowed within the window; the next statement reading a masked value is held. */
  readonly max?: number;
  readonly windowMs?: number;
  /** Principals remembered at most (the oldest are forgotten: their budget starts again). */
  readonly maxPrincipals?: number;
  readonly now?: () => number;
}

export class ResourceFailureBudget {
  readonly max: number;
  readonly windowMs: number;
  private readonly maxPrincipals: number;
  private readonly now: () => number;
  /** Principal → times of its recent failures, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(options: FailureBudgetOptions = {}) {
    this.max = options.max ?? 3;
    this.windowMs = options.windowMs ?? 60 * 60 * 1000;
    this.maxPrincipals = options.maxPrincipals ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** A statement of `principal` that read a masked value failed for want of a resource. */
  note(principal: string): void {
    const times = this.recent(principal);
    times.push(this.now());
    if (times.length > this.max + 1) times.splice(0, times.length - this.max - 1);
    this.failures.delete(principal);
    this.failures.set(principal, times);
    if (this.failures.size > this.maxPrincipals) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** Why `principal`'s statements reading masked values are held now, or undefined. */
  exhausted(principal: string): string | undefined {
    const n = this.recent(principal).length;
    if (n < this.max) return undefined;
    const minutes = Math.round(this.windowMs / 60_000);
    return `${n} statements of this principal that read masked values failed for want of a server resource (a size limit, memory, statement_timeout) within ${minutes} minutes, and whether such a statement fails can reveal a fact about the values`;
  }

  private recent(principal: string): number[] {
    const times = this.failures.get(principal);
    if (!times) return [];
    const since = this.now() - this.windowMs;
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures.delete(principal);
    return times;
  }
}
