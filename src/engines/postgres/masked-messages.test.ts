import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResultMasker, RowMasker } from '../../core/masking.js';
import {
  ProtocolError,
  decodeDataRow,
  decodeErrorFields,
  decodeNotification,
  encode,
} from '../../wire/postgres/index.js';
import {
  maskDataRow,
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
