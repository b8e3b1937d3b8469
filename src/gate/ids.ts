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
