import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { sqlAction } from '../../core/action.js';
import type { Identity } from '../../core/identity.js';
import type { ResultMasker, RowMasker } from '../../core/masking.js';
import { createDetectorSet } from '../../masking/detector-set.js';
import { maskingSchema } from '../../masking/masking-schema.js';
import { cellsToMask, createSqlMaskerFactory, type ResolvedColumnRef } from '../../masking/result-masker.js';
import {
  ProtocolError,
  decodeDataRow,
  decodeErrorFields,
  decodeNotification,
  encode,
} from '../../wire/postgres/index.js';
import {
  RowArena,
  maskDataRow,
  maskDataRowInto,
  maskFieldsMessage,
  maskFunctionResult,
  maskNotification,
  maskParameterStatus,
} from './masked-messages.js';

/** DataRow per 55.7: 'D', Int32 length, Int16 count, then Int32 length (-1: NULL) and bytes per cell. */
function dataRow(cells: (Buffer | null)[]): Buffer {
  const parts = cells.flatMap((c) => {
    const len = Buffer.alloc(4);
    len.writeInt32BE(c === null ? -1 : c.length);
    return c === null ? [len] : [len, c];
  });
  const body = Buffer.concat([Buffer.from([cells.length >> 8, cells.length & 0xff]), ...parts]);
  const head = Buffer.alloc(5);
  head[0] = 0x44;
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const CARD = '4111111111111111';
const text: Pick<ResultMasker, 'maskText'> = {
  maskText: (t) => (t.includes(CARD) ? t.split(CARD).join('[X]') : undefined),
};
const rowMasker = (f: (i: number, v: Buffer) => Buffer | null | undefined): RowMasker => ({ maskCell: f });

describe('maskDataRow', () => {
  it('rewrites lengths exactly, for growing, shrinking and nulled cells', () => {
    const cell = fc.option(
      fc.string({ maxLength: 30 }).map((s) => Buffer.from(s)),
      { nil: null },
    );
    const change = fc.constantFrom('keep', 'grow', 'shrink', 'null');
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, change), { maxLength: 12 }), (spec) => {
        const raw = dataRow(spec.map(([c]) => c));
        const expected = spec.map(([c, k]) =>
          c === null
            ? null
            : k === 'grow'
              ? Buffer.concat([c, c, Buffer.from('++')])
              : k === 'shrink'
                ? c.subarray(0, 1)
                : k === 'null'
                  ? null
                  : c,
        );
        const out = maskDataRow(
          raw,
          rowMasker((i) => {
            const k = spec[i]![1];
            if (k === 'keep') return undefined;
            return expected[i];
          }),
          undefined,
        );
        const changed = spec.some(([c, k]) => c !== null && k !== 'keep');
        if (!changed) {
          expect(out).toBeUndefined();
          return;
        }
        expect(out!.readInt32BE(1)).toBe(out!.length - 1);
        expect(decodeDataRow(out!.subarray(5))).toEqual(expected);
      }),
    );
  });

  it('masks a row given as a range into the arena exactly as maskDataRow does', () => {
    const cell = fc.option(
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
      { nil: null },
    );
    const arena = new RowArena();
    const grow = rowMasker((_i, v) =>
      v.length % 3 === 0 ? undefined : Buffer.concat([v, Buffer.from('+')]),
    );
    fc.assert(
      fc.property(fc.array(cell, { maxLength: 10 }), fc.uint8Array({ maxLength: 9 }), (cells, pad) => {
        const raw = dataRow(cells);
        const padded = Buffer.concat([Buffer.from(pad), raw, Buffer.from(pad)]);
        const expected = maskDataRow(raw, grow, undefined);
        const at = maskDataRowInto(padded, pad.length, pad.length + raw.length, grow, undefined, arena);
        if (expected === undefined) expect(at).toBe(-1);
        else expect(arena.slab.subarray(at, arena.end)).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
    // A full slab is replaced, never reused: rows already handed out keep their bytes.
    const big = dataRow([Buffer.alloc(40_000, 0x61)]);
    const first = maskDataRowInto(big, 0, big.length, grow, undefined, arena);
    const firstSlab = arena.slab;
    const copy = Buffer.from(firstSlab.subarray(first, arena.end));
    maskDataRowInto(big, 0, big.length, grow, undefined, arena);
    expect(arena.slab).not.toBe(firstSlab);
    expect(firstSlab.subarray(first, first + copy.length)).toEqual(copy);
  });

  it('asks only for the cells marked as work, and refuses malformed rows', () => {
    const raw = dataRow([Buffer.from('a'), Buffer.from('b')]);
    const asked: number[] = [];
    maskDataRow(
      raw,
      rowMasker((i) => void asked.push(i)),
      [false, true],
    );
    expect(asked).toEqual([1]);
    const truncated = raw.subarray(0, raw.length - 1);
    expect(() =>
      maskDataRow(
        truncated,
        rowMasker(() => undefined),
        undefined,
      ),
    ).toThrow(ProtocolError);
    expect(() =>
      maskDataRow(
        Buffer.concat([raw, Buffer.from('x')]),
        rowMasker(() => undefined),
        undefined,
      ),
    ).toThrow(ProtocolError);
  });
});

describe('maskDataRow with the SQL masker: the byte pre-filter', () => {
  // Cells of random bytes built from pieces that reach every detector and every pre-filter branch,
  // valid UTF-8 or not.
  const piece = fc.oneof(
    fc.constantFrom(
      '4111 1111 1111 1111',
      '123-45-6789',
      '123456789',
      'alice@example.com',
      'DE89 3704 0044 0532 0130 00',
      'AKIAIOSFODNN7EXAMPLE',
      `ghp_${'aB3'.repeat(12)}`,
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
      'NDExMTExMTExMTExMTExMQ==',
      '{"email": "x"}',
      '"secret"',
      // Field names a value may hold (no detector finds the values after them).
      'password=',
      'DB_PASSWORD',
      ': ',
      '\n',
      '"token":',
      'customer 42',
      'é€😀',
      ' ',
      '-',
      '@',
      '$',
    ),
    fc.string({ maxLength: 6 }),
    fc
      .constantFrom('1', 'a', '-', ' ', '/')
      .chain((c) => fc.integer({ min: 2, max: 45 }).map((n) => c.repeat(n))),
  );
  const cellBytes = fc.oneof(
    fc.array(piece, { maxLength: 8 }).map((ps) => Buffer.from(ps.join(''), 'utf8')),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc
      .tuple(fc.array(piece, { maxLength: 4 }), fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([ps, junk]) => Buffer.concat([Buffer.from(ps.join('')), Buffer.from(junk)])),
  );
  const identity = { subject: 'a', groups: [], agent: true } as unknown as Identity;
  const action = sqlAction({
    connection: 'app',
    via: 'simple-query',
    statement: {
      text: 'SELECT 1',
      kind: 'select',
      categories: ['read'],
      tables: [{ name: 't' }],
      functions: [],
    },
  });
  const factories = [
    createSqlMaskerFactory(
      maskingSchema.parse({
        columns: [
          { column: 't.ruled', detectors: ['ssn', 'email'] },
          { column: 't.whole', tag: 'w' },
        ],
        styles: { email: 'partial', credit_card: 'null', ssn: 'hash' },
        jsonKeys: ['secret'],
      }),
      { hashKey: Buffer.alloc(32, 3) },
    ),
    createSqlMaskerFactory(maskingSchema.parse({ detectors: { enabled: ['credit_card', 'email'] } }), {}),
  ];
  const col = (name: string, typeOid: number): ResolvedColumnRef => ({
    name,
    tableOid: 16384,
    columnNumber: 1,
    typeOid,
    format: 0,
    source: { schema: 'public', table: 't', column: name },
  });
  // text, varchar, json, text[] (text form), an enum-like type printed as text, a column rule with
  // detectors, a column masked whole.
  const columns = [
    col('a', 25),
    col('b', 1043),
    col('c', 114),
    col('d', 1009),
    col('e', 99999),
    col('ruled', 25),
    col('whole', 25),
  ];
  // The pre-filter the masker asks (with the bytes' feature bits, F_FIELDS included): forced to
  // "maybe", every cell is decoded and scanned.
  const proto = Object.getPrototypeOf(createDetectorSet()) as { couldMatchFeatures: () => boolean };

  it('gives the same bytes and counts as decoding and scanning every cell', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(cellBytes, { nil: null, freq: 6 }), {
          minLength: columns.length,
          maxLength: columns.length,
        }),
        fc.nat(factories.length - 1),
        (cells, fi) => {
          const raw = dataRow(cells);
          const run = () => {
            const masker = factories[fi]!.forAction(identity, action, { mask: true });
            const rows = masker.forColumns(columns)!;
            const out = maskDataRow(raw, rows, cellsToMask(rows));
            return { out: out === undefined ? undefined : [...out], counts: masker.counts() };
          };
          const filtered = run();
          const spy = vi.spyOn(proto, 'couldMatchFeatures').mockReturnValue(true);
          try {
            expect(run()).toEqual(filtered);
          } finally {
            spy.mockRestore();
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('text messages', () => {
  it('masks data-bearing error fields and keeps severity, SQLSTATE and position', () => {
    const raw = encode.fieldsMessage('E', {
      S: 'ERROR',
      V: 'ERROR',
      C: '22P02',
      M: `invalid input syntax for type integer: "${CARD}"`,
      D: `see ${CARD}`,
      P: '8',
    });
    const r = maskFieldsMessage('E', raw, raw.subarray(5), text as ResultMasker);
    expect(r.fields).toEqual({
      S: 'ERROR',
      V: 'ERROR',
      C: '22P02',
      M: 'invalid input syntax for type integer: "[X]"',
      D: 'see [X]',
      P: '8',
    });
    expect(decodeErrorFields(r.raw.subarray(5))).toEqual(r.fields);
    expect(r.raw.readInt32BE(1)).toBe(r.raw.length - 1);
    const clean = encode.fieldsMessage('N', { S: 'NOTICE', M: 'fine' });
    expect(maskFieldsMessage('N', clean, clean.subarray(5), text as ResultMasker).raw).toBe(clean);
  });

  it('masks notification payloads, parameter values and fast-path results', () => {
    const body = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from(`ch\0card ${CARD}\0`)]);
    const n = maskNotification(body, text as ResultMasker)!;
    expect(decodeNotification(n.subarray(5))).toEqual({ processId: 7, channel: 'ch', payload: 'card [X]' });
    expect(n.readInt32BE(1)).toBe(n.length - 1);
    expect(
      maskNotification(
        Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ch\0ok\0')]),
        text as ResultMasker,
      ),
    ).toBeUndefined();
    const ps = maskParameterStatus(Buffer.from(`application_name\0${CARD}\0`), text as ResultMasker)!;
    expect(ps.subarray(5).toString()).toBe('application_name\0[X]\0');
    const fr = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from(CARD)]);
    expect(maskFunctionResult(fr, text as ResultMasker)!.readInt32BE(5)).toBe(-1);
  });
});
