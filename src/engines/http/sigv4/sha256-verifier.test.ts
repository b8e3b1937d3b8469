import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { PayloadHashMismatch, Sha256Verifier } from './sha256-verifier.js';

async function run(parts: Buffer[], expected: string): Promise<{ out: Buffer[]; error?: unknown }> {
  const out: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => out.push(c));
  try {
    await pipeline(Readable.from(parts), new Sha256Verifier(expected), sink);
    return { out };
  } catch (error) {
    return { out, error };
  }
}

describe('Sha256Verifier', () => {
  const parts = [Buffer.from('hello '), Buffer.from('signed '), Buffer.from('world')];
  const good = createHash('sha256').update(Buffer.concat(parts)).digest('hex');

  it('passes a body that matches its hash', async () => {
    const r = await run(parts, good);
    expect(r.error).toBeUndefined();
    expect(Buffer.concat(r.out).toString()).toBe('hello signed world');
  });

  it('fails a tampered body and never releases its last piece', async () => {
    const r = await run([parts[0]!, parts[1]!, Buffer.from('World')], good);
    expect(r.error).toBeInstanceOf(PayloadHashMismatch);
    expect(Buffer.concat(r.out).toString()).toBe('hello signed ');
  });
});
