// Passes a request body through while hashing it, and fails the stream when the SHA-256 the client
// signed (x-amz-content-sha256) does not match. The last piece is held back until the hash is
// checked, so an upstream reading a Content-Length body never receives all of a tampered one.

import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export class PayloadHashMismatch extends Error {
  override readonly name = 'PayloadHashMismatch';
}

export class Sha256Verifier extends Transform {
  private readonly hash = createHash('sha256');
  private held: Buffer | undefined;

  constructor(private readonly expectedHex: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.hash.digest('hex') !== this.expectedHex.toLowerCase()) {
      done(new PayloadHashMismatch('the request body does not match its signed x-amz-content-sha256'));
      return;
    }
    if (this.held) this.push(this.held);
    done();
  }
}
