// Decodes an `aws-chunked` request body (S3 streaming uploads) into the plain object bytes, verifying
// each chunk's signature when the body is signed. Incremental: a partial chunk header is not an error,
// a malformed or oversized one is.
//
// Spec: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
// sigv4-streaming-trailers.html. Signed chunks are `hex(size);chunk-signature=<sig>\r\n<data>\r\n`,
// ending with a 0-size chunk; unsigned ones are `hex(size)\r\n<data>\r\n`. A trailer section
// (`name:value\r\n`…, then `x-amz-trailer-signature:<sig>\r\n` when signed) may follow the last chunk.
// The chunk string to sign is AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous sig>\n<sha256("")>\n
// <sha256(data)>, chained from the request's own signature (the seed).

import { Transform, type TransformCallback } from 'node:stream';
import { EMPTY_SHA256, sha256Hex } from '../../../wire/aws/node-sha256.js';
import { signString } from './signing-key.js';

export interface ChunkSigning {
  readonly key: Buffer;
  /** x-amz-date of the request. */
  readonly amzDate: string;
  /** <date>/<region>/<service>/aws4_request */
  readonly scope: string;
  /** The request's header signature. */
  readonly seedSignature: string;
}

export interface AwsChunkedOptions {
  /** Verify chunk and trailer signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]); unsigned otherwise. */
  readonly signing?: ChunkSigning;
  /** x-amz-decoded-content-length: the decoded body must be exactly this long. */
  readonly decodedLength: number;
  /** Largest single chunk buffered for signature verification (default 16 MiB). */
  readonly maxChunkBytes?: number;
}

export class AwsChunkedError extends Error {
  override readonly name = 'AwsChunkedError';
}

const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'header';
  private remaining = 0;
  private chunkSignature: string | undefined;
  private chunkParts: Buffer[] = [];
  private previousSignature: string;
  private decoded = 0;
  private readonly trailerLines: string[] = [];
  /** Trailing headers received (checksums), lower-case names. */
  readonly trailers = new Map<string, string>();

  constructor(private readonly options: AwsChunkedOptions) {
    super();
    this.previousSignature = options.signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.drain();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state !== 'done' || this.buf.length !== 0) {
      done(new AwsChunkedError('the aws-chunked body ended early or has trailing bytes'));
      return;
    }
    if (this.decoded !== this.options.decodedLength) {
      done(new AwsChunkedError('the aws-chunked body does not match x-amz-decoded-content-length'));
      return;
    }
    done();
  }

  private line(): string | undefined {
    const i = this.buf.indexOf(CRLF);
    if (i < 0) {
      if (this.buf.length > MAX_LINE) throw new AwsChunkedError('an aws-chunked header line is too long');
      return undefined;
    }
    if (i > MAX_LINE) throw new AwsChunkedError('an aws-chunked header line is too long');
    const text = this.buf.subarray(0, i).toString('latin1');
    this.buf = this.buf.subarray(i + 2);
    return text;
  }

  private drain(): void {
    for (;;) {
      switch (this.state) {
        case 'header': {
          const text = this.line();
          if (text === undefined) return;
          this.startChunk(text);
          break;
        }
        case 'data': {
          if (this.buf.length === 0) return;
          const take = Math.min(this.remaining, this.buf.length);
          const part = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.remaining -= take;
          this.decoded += take;
          if (this.decoded > this.options.decodedLength)
            throw new AwsChunkedError('the aws-chunked body is longer than declared');
          // Signed chunks are held until their signature checks out; unsigned ones stream through.
          if (this.options.signing) this.chunkParts.push(Buffer.from(part));
          else this.push(part);
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          if (this.buf.length < 2) return;
          if (this.buf[0] !== 13 || this.buf[1] !== 10)
            throw new AwsChunkedError('an aws-chunked chunk is not followed by CRLF');
          this.buf = this.buf.subarray(2);
          this.endChunk();
          this.state = 'header';
          break;
        }
        case 'trailer': {
          const text = this.line();
          if (text === undefined) return;
          if (text === '') {
            this.endTrailers();
            this.state = 'done';
          } else this.trailerLines.push(text);
          break;
        }
        case 'done':
          if (this.buf.length !== 0)
            throw new AwsChunkedError('bytes follow the end of the aws-chunked body');
          return;
      }
    }
  }

  private startChunk(text: string): void {
    const semi = text.indexOf(';');
    const sizeText = semi < 0 ? text : text.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText))
      throw new AwsChunkedError('an aws-chunked chunk size is malformed');
    const size = parseInt(sizeText, 16);
    const max = this.options.maxChunkBytes ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(size) || (this.options.signing && size > max))
      throw new AwsChunkedError('an aws-chunked chunk is too large');
    if (this.options.signing) {
      const m = /^chunk-signature=([0-9a-f]{64})$/.exec(semi < 0 ? '' : text.slice(semi + 1));
      if (!m) throw new AwsChunkedError('a signed aws-chunked chunk has no chunk-signature');
      this.chunkSignature = m[1];
    } else if (semi >= 0) {
      throw new AwsChunkedError('an unsigned aws-chunked body carries chunk extensions');
    }
    this.chunkParts = [];
    if (size === 0) {
      this.endChunk();
      this.state = 'trailer';
      return;
    }
    this.remaining = size;
    this.state = 'data';
  }

  private endChunk(): void {
    const s = this.options.signing;
    if (!s) return;
    const data = this.chunkParts.length === 1 ? this.chunkParts[0]! : Buffer.concat(this.chunkParts);
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      s.amzDate,
      s.scope,
      this.previousSignature,
      EMPTY_SHA256,
      sha256Hex(data),
    ].join('\n');
    const expected = signString(s.key, stringToSign);
    if (expected !== this.chunkSignature)
      throw new AwsChunkedError('an aws-chunked chunk signature does not match');
    this.previousSignature = expected;
    if (data.length > 0) this.push(data);
    this.chunkParts = [];
  }

  private endTrailers(): void {
    let trailerSignature: string | undefined;
    const signedLines: string[] = [];
    for (const line of this.trailerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new AwsChunkedError('an aws-chunked trailer is malformed');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSignature = value;
      else {
        this.trailers.set(name, value);
        signedLines.push(`${name}:${value}\n`);
      }
    }
    const s = this.options.signing;
    if (s && this.trailerLines.length > 0) {
      // sigv4-streaming-trailers.html: AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<last chunk sig>\n<sha256(trailers)>
      const stringToSign = [
        'AWS4-HMAC-SHA256-TRAILER',
        s.amzDate,
        s.scope,
        this.previousSignature,
        sha256Hex(signedLines.join('')),
      ].join('\n');
      if (trailerSignature !== signString(s.key, stringToSign))
        throw new AwsChunkedError('the aws-chunked trailer signature does not match');
    }
  }
}
