import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../store/event-queries.js';
import { CopyRowsReader } from './copy-rows.js';
import { Timeline } from './replay-timeline.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The rows split into parts as the engine records them: text when a part is UTF-8, else base64. */
function parts(rows: Buffer, at: number[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let from = 0;
  for (const [i, to] of [...at, rows.length].entries()) {
    const b = rows.subarray(from, to);
    from = to;
    let text: string | undefined;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      text = undefined;
    }
    out.push(
      text !== undefined
        ? { part: i + 1, bytes: b.length, text }
        : { part: i + 1, bytes: b.length, base64: b.toString('base64') },
    );
  }
  return out;
}

describe('CopyRowsReader', () => {
  const rows = Buffer.from('1\théllo\n2\twörld\n');
  // Cut inside "é" (two bytes): the first two parts are not UTF-8 on their own.
  const cut = rows.indexOf(Buffer.from('é')) + 1;

  it('joins the parts, a character cut between two included, and checks them against the end', () => {
    const r = new CopyRowsReader();
    for (const p of parts(rows, [cut])) r.add(p);
    const s = r.summary({ end: 'done', parts: 2, bytes: rows.length, sha256: sha256(rows) });
    expect(s.intact).toBe(true);
    expect(s.shown).toBe(rows.toString());
    expect(s.head).toBe(
      `rows sent: ${rows.length} bytes in 2 part(s), sha256 ${sha256(rows)}, ended by CopyDone`,
    );
  });

  it('clips what it shows, with the whole length, keeping no more than it shows', () => {
    const big = Buffer.from('x'.repeat(10_000));
    const r = new CopyRowsReader(100);
    for (const p of parts(big, [3000, 6000])) r.add(p);
    const s = r.summary({ end: 'done', parts: 3, bytes: big.length, sha256: sha256(big) });
    expect(s.shown).toBe(`${'x'.repeat(100)}… (clipped: 10000 characters in all)`);
  });

  it('says when the parts do not match the end, and when there is no end', () => {
    const r = new CopyRowsReader();
    const [first] = parts(rows, [cut]);
    r.add(first!);
    const s = r.summary({ end: 'done', parts: 2, bytes: rows.length, sha256: sha256(rows) });
    expect(s.intact).toBe(false);
    expect(s.head).toMatch(/parts are missing or changed/);
    const open = new CopyRowsReader();
    open.add(first!);
    expect(open.summary(undefined).head).toMatch(/no end recorded$/);
  });

  it('does not show binary rows', () => {
    const r = new CopyRowsReader();
    const bin = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
    for (const p of parts(bin, [])) r.add(p);
    expect(r.summary({ end: 'done', parts: 1, bytes: bin.length, sha256: sha256(bin) }).shown).toBe(
      '(not shown: binary COPY data or not UTF-8 text)',
    );
  });
});

describe('the replay of a COPY', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const ev = (seq: number, type: string, data: Record<string, unknown>, statement?: string): StoredEvent =>
    ({ seq, type, at, data, ...(statement ? { statement } : {}) }) as unknown as StoredEvent;

  it('shows the rows at their end, with control characters made visible, or at the session end without one', () => {
    const rows = 'a\tb\u001b[2J\n';
    const events = [
      ev(1, 'session.start', { subject: 'claude', connection: 'app', protocol: 'postgres', client: {} }),
      ev(
        2,
        'statement',
        {
          seq: 1,
          effect: 'allow',
          ruleId: 'r',
          kind: 'copy',
          categories: ['write'],
          text: 'COPY t FROM STDIN',
        },
        's:1',
      ),
      ev(3, 'copy.data', { part: 1, bytes: Buffer.byteLength(rows), text: rows }, 's:1'),
      ev(
        4,
        'copy.end',
        { end: 'done', parts: 1, bytes: Buffer.byteLength(rows), sha256: sha256(rows) },
        's:1',
      ),
      ev(
        5,
        'statement',
        {
          seq: 2,
          effect: 'allow',
          ruleId: 'r',
          kind: 'copy',
          categories: ['write'],
          text: 'COPY u FROM STDIN',
        },
        's:2',
      ),
      ev(6, 'copy.data', { part: 1, bytes: 2, text: 'z\n' }, 's:2'),
      ev(7, 'session.end', { reason: 'client disconnected' }),
    ];
    const out = new Timeline().render(events);
    expect(out).toContain(
      `rows of #1: rows sent: ${Buffer.byteLength(rows)} bytes in 1 part(s), sha256 ${sha256(rows)}, ended by CopyDone\n`,
    );
    expect(out).toContain('│ a  b⟨U+001B⟩[2J\n');
    expect(out).not.toContain('\u001b');
    expect(out).toMatch(
      /rows of #2: rows sent: 2 bytes in 1 part\(s\), sha256 [0-9a-f]{64}, no end recorded\n +│ z\n/,
    );
  });
});
