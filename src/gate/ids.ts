// Time-ordered identifiers (UUIDv7 layout, RFC 9562 §5.7) so records sort by creation and inserts
// land at the end of the store's indexes instead of spreading across pages.
import { randomBytes } from 'node:crypto';

export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Statement ids sort in session order: `<session id>:<seq, zero-padded>`. */
export function statementId(sessionId: string, seq: number): string {
  return `${sessionId}:${String(seq).padStart(8, '0')}`;
}

/** The value of `id`'s characters from `from` to its end as decimal digits; -1 if any is not a digit. */
function digitsValue(id: string, from: number): number {
  let v = 0;
  for (let i = from; i < id.length; i++) {
    const d = id.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Whether `id` is `statementId(sessionId, seq)`, without building it (the store asks several times per
 * statement). False for anything statementId would not give: a seq that is not a safe non-negative
 * integer, other digits, a sign, extra leading zeros.
 */
export function isStatementId(id: string, sessionId: string, seq: number): boolean {
  if (!Number.isSafeInteger(seq) || seq < 0) return false;
  const n = sessionId.length;
  const digits = id.length - n - 1;
  if (digits < 8 || id.charCodeAt(n) !== 58 || !id.startsWith(sessionId)) return false;
  // Zero-padded to eight digits: a longer number has no leading zero.
  if (digits > 8 && id.charCodeAt(n + 1) === 48) return false;
  return digitsValue(id, n + 1) === seq;
}

/**
 * The session and seq of an id `statementId` gives with eight digits (seq below 100,000,000);
 * undefined for any other id.
 */
export function parseStatementId(id: string): { session: string; seq: number } | undefined {
  const colon = id.length - 9;
  if (colon < 1 || id.charCodeAt(colon) !== 58) return undefined;
  const seq = digitsValue(id, colon + 1);
  return seq < 0 ? undefined : { session: id.slice(0, colon), seq };
}
