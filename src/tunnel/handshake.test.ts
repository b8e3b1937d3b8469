import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HANDSHAKE_MAX_BYTES, encodeFrame, readFrame } from './handshake.js';

describe('handshake frames', () => {
  it('reads one frame and leaves what follows in the stream', async () => {
    const s = new PassThrough();
    s.write(Buffer.concat([encodeFrame({ a: 1 }), Buffer.from('PRI * HTTP/2.0')]));
    expect(await readFrame(s, 1000)).toEqual({ a: 1 });
    expect((s.read() as Buffer).toString()).toBe('PRI * HTTP/2.0');
  });

  it('reads a frame that arrives a byte at a time', async () => {
    const s = new PassThrough();
    const bytes = encodeFrame({ hello: 'world' });
    const p = readFrame(s, 1000);
    for (const b of bytes) s.write(Buffer.from([b]));
    expect(await p).toEqual({ hello: 'world' });
  });

  it('refuses a hostile length, non-JSON, an early end and silence', async () => {
    const big = new PassThrough();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(HANDSHAKE_MAX_BYTES + 1);
    big.write(head);
    await expect(readFrame(big, 1000)).rejects.toThrow(/exceeds/);
    const junk = new PassThrough();
    junk.write(Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]));
    await expect(readFrame(junk, 1000)).rejects.toThrow(/not JSON/);
    const ended = new PassThrough();
    ended.end(Buffer.from([0, 0]));
    await expect(readFrame(ended, 1000)).rejects.toThrow(/closed/);
    await expect(readFrame(new PassThrough(), 50)).rejects.toThrow(/timed out/);
    expect(() => encodeFrame({ x: 'y'.repeat(HANDSHAKE_MAX_BYTES) })).toThrow(/too large/);
  });
});
