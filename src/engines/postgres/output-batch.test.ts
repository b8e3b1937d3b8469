import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputBatch } from './output-batch.js';

describe('OutputBatch', () => {
  it('takes exactly the bytes added, in order, whether added as Buffers or ranges', () => {
    // Pieces cut from a few shared buffers, so neighbours in the same buffer are often adjacent.
    const sources = [
      Buffer.from('0123456789abcdefghij'),
      Buffer.from('KLMNOPQRSTUVWXYZ'),
      Buffer.alloc(8, 0x2a),
    ];
    const piece = fc.tuple(fc.nat(sources.length - 1), fc.nat(), fc.nat(), fc.boolean());
    fc.assert(
      fc.property(fc.array(fc.array(piece, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), (takes) => {
        const batch = new OutputBatch();
        for (const pieces of takes) {
          const expected: Buffer[] = [];
          for (const [si, a, b, asRange] of pieces) {
            const src = sources[si]!;
            const start = a % (src.length + 1);
            const end = start + (b % (src.length - start + 1));
            expected.push(src.subarray(start, end));
            if (asRange) batch.addRange(src, start, end);
            else batch.add(src.subarray(start, end));
          }
          const want = Buffer.concat(expected);
          const got = batch.take();
          if (want.length === 0) expect(got === undefined || got.length === 0).toBe(true);
          else expect(got).toEqual(want);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes adjacent frames of one buffer as one slice, without copying', () => {
    const chunk = Buffer.from('aaaabbbbcccc');
    const batch = new OutputBatch();
    batch.add(chunk.subarray(0, 4));
    batch.addRange(chunk, 4, 8);
    batch.add(chunk.subarray(8, 12));
    const out = batch.take()!;
    expect(out.toString()).toBe('aaaabbbbcccc');
    expect(out.buffer).toBe(chunk.buffer);
    expect(batch.take()).toBeUndefined();
  });
});
