// One upstream connection carried by an agent: a Duplex over one HTTP/2 CONNECT stream, shaped
// enough like a net.Socket for the engines (and for tls.connect / undici on top of it). Its point is
// failure semantics: when the stream dies under it — the agent was lost or revoked, or reset the
// stream because the upstream reset the TCP connection — it is destroyed with an Error that says
// which, instead of the silent close an HTTP/2 stream gives, so engines can tell the client why.

import http2, { type ClientHttp2Stream } from 'node:http2';
import { Duplex } from 'node:stream';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_CONNECT_ERROR } = http2.constants;

export class TunnelSocket extends Duplex {
  /** Set by the hub before the stream is torn down, so the error names the real cause. */
  private lostReason: string | undefined;
  private remoteEnded = false;
  private localEnded = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily = 'tunnel';
  readonly connecting = false;
  bytesRead = 0;
  bytesWritten = 0;

  constructor(
    private readonly stream: ClientHttp2Stream,
    readonly target: { host: string; port: number },
    private readonly agent: string,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = target.host;
    this.remotePort = target.port;
    stream.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      if (!this.push(chunk)) stream.pause();
    });
    stream.on('end', () => {
      // A stream torn down with its connection also "ends": that is a loss, not the upstream's FIN.
      // (RST_STREAM NO_ERROR after the agent's END_STREAM is a normal close, RFC 9113 §8.1; the agent
      // resets streams it abandons with CANCEL, never NO_ERROR.)
      const reset = stream.rstCode !== undefined && stream.rstCode !== NGHTTP2_NO_ERROR;
      if (reset || !stream.session) {
        this.lostReason ??= `the agent "${agent}" disconnected`;
        this.destroy(this.failure(undefined));
        return;
      }
      this.remoteEnded = true;
      this.push(null);
    });
    stream.on('drain', () => this.emit('tunnel-drain'));
    stream.on('error', (err: Error) => this.destroy(this.failure(err.message)));
    stream.on('close', () => {
      if (this.destroyed) return;
      const clean = stream.rstCode === NGHTTP2_NO_ERROR && this.remoteEnded;
      if (clean && this.localEnded) this.destroy();
      else if (!clean) {
        // The whole connection went (the agent died, or the network): streams close before the
        // session says so, so name the cause here rather than report a bare stream reset.
        const session = stream.session;
        if (!session || session.destroyed || session.closed)
          this.lostReason ??= `the agent "${agent}" disconnected`;
        this.destroy(this.failure(undefined));
      }
    });
  }

  /** Marks the stream as lost for this reason and destroys it. */
  lose(reason: string): void {
    this.lostReason ??= reason;
    this.destroy(this.failure(undefined));
  }

  private failure(detail: string | undefined): Error {
    if (this.lostReason) return new Error(this.lostReason);
    const code = this.stream.rstCode;
    if (code === NGHTTP2_CONNECT_ERROR)
      return new Error(`the upstream reset the connection (through agent "${this.agent}")`);
    return new Error(
      `the connection through agent "${this.agent}" was reset${detail ? `: ${detail}` : code ? ` (HTTP/2 code ${code})` : ''}`,
    );
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    if (this.stream.write(chunk)) cb();
    else this.once('tunnel-drain', () => cb());
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.localEnded = true;
    this.stream.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stream.destroyed) this.stream.close(err ? NGHTTP2_CANCEL : NGHTTP2_NO_ERROR);
    this.emit('tunnel-drain');
    cb(err);
  }

  // net.Socket's knobs: the tunnel has no socket of its own (the agent's upstream socket has them).
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  destroySoon(): void {
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
    this.end();
  }
}
