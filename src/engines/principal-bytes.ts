// What one principal's sessions make the gateway hold of the messages they send, counted together
// (docs/security.md class 215). Each session bounds a message at maxMessageBytes; a principal may
// hold many sessions, each with a message arriving or held (a statement waiting for its approval
// keeps its Bind and its parameters), so without a bound across them one principal could make the
// gateway hold sessionsPerPrincipal × maxMessageBytes and more. Pure: no I/O.

/** The bytes each principal's sessions hold, against one budget per principal. */
export class PrincipalBytes {
  private readonly held = new Map<string, number>();

  /** Adds `bytes` to what `principal` holds; false, and nothing added, when that would pass `budget`. */
  reserve(principal: string, bytes: number, budget: number): boolean {
    const now = this.held.get(principal) ?? 0;
    if (now + bytes > budget) return false;
    this.held.set(principal, now + bytes);
    return true;
  }

  /** Gives back `bytes` that `principal` held. */
  release(principal: string, bytes: number): void {
    if (bytes <= 0) return;
    const left = (this.held.get(principal) ?? 0) - bytes;
    if (left <= 0) this.held.delete(principal);
    else this.held.set(principal, left);
  }

  /** What `principal` holds now (tests, inspection). */
  holding(principal: string): number {
    return this.held.get(principal) ?? 0;
  }
}
