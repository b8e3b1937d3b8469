// Property and example tests for the pure PostgreSQL codec: any split of the byte stream yields the
// same frames; hostile lengths and garbage raise ProtocolError (never anything else, never a hang);
// encoders and decoders agree. Fixtures are built from the spec's message layouts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  ProtocolError,
  bindParamsAsText,
  decodeBind,
  decodeDataRow,
  decodeErrorFields,
  decodeExecute,
  decodeFunctionCall,
  decodeParse,
  decodeQuery,
  decodeRowDescription,
  decodeStartup,
  decodeTarget,
  encode,
  rowsFromCommandTag,
} from './index.js';

/** A typed message per 55.7: type byte, int32 length (including itself), body. */
function typed(type: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

function frames(reader: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  for (let f = reader.next(); f; f = reader.next()) {
    // raw, body and the range all name the same bytes.
    expect(f.bytes.subarray(f.start, f.end)).toEqual(f.raw);
    expect(f.raw[0]).toBe(f.type);
    expect(f.body).toEqual(f.raw.subarray(5));
    out.push(Buffer.from(f.raw));
  }
  return out;
}

const messageArb = fc
  .tuple(fc.constantFrom('Q', 'P', 'B', 'E', 'S', 'D', 'C', 'd'), fc.uint8Array({ maxLength: 300 }))
  .map(([t, body]) => typed(t, Buffer.from(body)));

describe('FrameReader', () => {
  it('yields the same frames however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          const stream = Buffer.concat(msgs);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const reader = new FrameReader(1 << 20);
          const got: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            reader.push(stream.subarray(prev, p));
            got.push(...frames(reader));
            prev = p;
          }
          expect(got).toEqual(msgs);
          expect(reader.buffered).toBe(0);
        },
      ),
    );
  });

  it('waits on a partial frame instead of failing', () => {
    const q = encode.query('SELECT 1');
    const reader = new FrameReader(1024);
    reader.push(q.subarray(0, 3));
    expect(reader.next()).toBeUndefined();
    reader.push(q.subarray(3));
    expect(reader.next()?.type).toBe(0x51);
  });

  it('refuses hostile lengths with ProtocolError', () => {
    const huge = new FrameReader(1024);
    huge.push(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]));
    expect(() => huge.next()).toThrow(ProtocolError);
    const negative = new FrameReader(1024);
    negative.push(Buffer.from([0x51, 0xff, 0xff, 0xff, 0xf0]));
    expect(() => negative.next()).toThrow(ProtocolError);
    const tooShort = new FrameReader(1024);
    tooShort.push(Buffer.from([0x51, 0, 0, 0, 3]));
    expect(() => tooShort.next()).toThrow(ProtocolError);
    const startup = new FrameReader(1024, true);
    startup.push(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]));
    expect(() => startup.next()).toThrow(/startup packet length/);
  });

  it('marks a size-limit refusal as a limit, not a malformed message', () => {
    const r = new FrameReader(100);
    r.push(typed('Q', Buffer.alloc(200)));
    try {
      r.next();
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).limit).toBe(true);
    }
  });

  it('on garbage only ever returns frames or throws ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), (bytes, startup) => {
        const r = new FrameReader(4096, startup);
        r.push(Buffer.from(bytes));
        try {
          for (let i = 0; i < 1000 && r.next(); i++);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});

describe('decoders on hostile bodies', () => {
  const decoders = [
    decodeStartup,
    decodeQuery,
    decodeParse,
    decodeBind,
    decodeExecute,
    decodeTarget,
    decodeFunctionCall,
    decodeErrorFields,
    decodeRowDescription,
    decodeDataRow,
  ];
  it('throw only ProtocolError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const d of decoders) {
          try {
            d(Buffer.from(bytes));
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        }
      }),
    );
  });

  it('a DataRow claiming more bytes than it has is refused', () => {
    const body = Buffer.alloc(2 + 4 + 2);
    body.writeInt16BE(1, 0);
    body.writeInt32BE(1_000_000, 2);
    expect(() => decodeDataRow(body)).toThrow(ProtocolError);
  });
});

describe('encoders and decoders agree', () => {
  it('startup parameters round-trip', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z_]{1,12}$/),
          fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')),
        ),
        (params) => {
          const msg = encode.startupMessage(params);
          const r = new FrameReader(1024, true);
          r.push(msg);
          const p = decodeStartup(r.next()!.body);
          expect(p.kind).toBe('startup');
          if (p.kind === 'startup') expect({ ...p.params }).toEqual(params);
        },
      ),
    );
  });

  it('queries and Parse round-trip, including non-ASCII text', () => {
    const text = `SELECT 'ëñ 漢字 🙂', $1::int`;
    const r = new FrameReader(1024);
    r.push(Buffer.concat([encode.query(text), encode.parse('s1', text, [23])]));
    expect(decodeQuery(r.next()!.body)).toBe(text);
    expect(decodeParse(r.next()!.body)).toEqual({ name: 's1', text, paramTypes: [23] });
  });

  it('Parse, Bind, Execute, Describe and Close are the spec layout, byte for byte, for any names', () => {
    // The reference: each message as the spec lays it out (55.7), built part by part.
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const int16 = (n: number) => {
      const b = Buffer.alloc(2);
      b.writeInt16BE(n);
      return b;
    };
    const cstring = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
    const message = (type: string, ...body: Buffer[]) => {
      const b = Buffer.concat(body);
      return Buffer.concat([Buffer.from(type, 'latin1'), int32(4 + b.length), b]);
    };
    const name = fc.string({ maxLength: 24, unit: 'grapheme' });
    fc.assert(
      fc.property(
        name,
        name,
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom<'S' | 'P'>('S', 'P'),
        (a, b, types, maxRows, target) => {
          const parse = encode.parse(a, b, types);
          expect(parse).toEqual(
            message('P', cstring(a), cstring(b), int16(types.length), ...types.map(int32)),
          );
          const execute = encode.execute(a, maxRows);
          expect(execute).toEqual(message('E', cstring(a), int32(maxRows)));
          expect(encode.describe(target, a)).toEqual(message('D', Buffer.from(target), cstring(a)));
          expect(encode.close(target, b)).toEqual(message('C', Buffer.from(target), cstring(b)));
          const rest = Buffer.concat([int16(0), int16(types.length), ...types.map(int32), int16(0)]);
          expect(encode.bind(a, b, rest)).toEqual(message('B', cstring(a), cstring(b), rest));
          if (!a.includes('\0') && !b.includes('\0')) {
            const r = new FrameReader(1 << 16);
            r.push(Buffer.concat([parse, execute, encode.describe(target, a), encode.close(target, b)]));
            expect(decodeParse(r.next()!.body)).toEqual({ name: a, text: b, paramTypes: types });
            expect(decodeExecute(r.next()!.body)).toEqual({ portal: a, maxRows });
            expect(decodeTarget(r.next()!.body)).toEqual({ target, name: a });
            expect(decodeTarget(r.next()!.body)).toEqual({ target, name: b });
          }
        },
      ),
    );
  });

  it('error fields round-trip', () => {
    const msg = encode.errorResponse({
      severity: 'ERROR',
      code: '42501',
      message: 'refused',
      detail: 'rule x',
      hint: 'do y',
    });
    const r = new FrameReader(1024);
    r.push(msg);
    const f = r.next()!;
    expect(String.fromCharCode(f.type)).toBe('E');
    expect(decodeErrorFields(f.body)).toMatchObject({
      S: 'ERROR',
      V: 'ERROR',
      C: '42501',
      M: 'refused',
      D: 'rule x',
      H: 'do y',
    });
  });

  it('a cancel request carries the key', () => {
    const msg = encode.cancelRequest(1234, Buffer.from([1, 2, 3, 4]));
    expect(msg.readInt32BE(0)).toBe(16);
    const r = new FrameReader(1024, true);
    r.push(msg);
    expect(decodeStartup(r.next()!.body)).toEqual({
      kind: 'cancel',
      processId: 1234,
      secretKey: Buffer.from([1, 2, 3, 4]),
    });
  });

  it('Bind parameters become text for records (binary as hex)', () => {
    const parts = [Buffer.from('\0s\0'), Buffer.from([0, 2, 0, 0, 0, 1]), Buffer.from([0, 3])];
    const p1 = Buffer.from('42');
    const len = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const body = Buffer.concat([
      ...parts,
      len(2),
      p1,
      len(2),
      Buffer.from([0xde, 0xad]),
      len(-1),
      Buffer.from([0, 0]),
    ]);
    const bind = decodeBind(body);
    expect(bindParamsAsText(bind)).toEqual(['42', '\\xdead', null]);
  });

  it('row counts come from command tags', () => {
    const tag = (s: string) => Buffer.from(`${s}\0`);
    expect(rowsFromCommandTag(tag('SELECT 5'))).toBe(5);
    expect(rowsFromCommandTag(tag('INSERT 0 3'))).toBe(3);
    expect(rowsFromCommandTag(tag('UPDATE 0'))).toBe(0);
    expect(rowsFromCommandTag(tag('BEGIN'))).toBeUndefined();
    expect(rowsFromCommandTag(tag('CREATE TABLE'))).toBeUndefined();
  });
});
