// Clients that stop reading (docs/security.md, "clients that stop reading"). Every relay already stops
// reading its upstream while the client's socket buffer is full (write() false → pause until
// 'drain'), so such a client cannot grow the gateway's memory. This bounds the time: a client whose
// output has been waiting with no byte of it written for `timeoutMs` is closed (its upstream stream
// with it), as nginx's send_timeout and HAProxy's `timeout client` do.
//
// The clock runs only while output is waiting (the stream's writableLength > 0): a watch, a logs
// follow or a shell that is merely quiet is never cut. There is no timer per write and nothing on
// the write path: one interval, shared by every watched stream and running only while there is one,
// looks at each stream's buffered bytes and at how many bytes the kernel has taken since it last
// looked.

import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';

/** Why the stream was closed, for the record of the session or request it carried. */
export const CLIENT_STALLED = 'client_stalled';

/** The error a request or stream that ended so is recorded with. */
export const STALLED_ERROR = {
  code: CLIENT_STALLED,
  message: 'the client stopped reading the response (writeStallTimeout); its connection was closed',
} as const;

export function stallMessage(timeoutMs: number): string {
  return `client_stalled: the client read none of its response for ${formatMs(timeoutMs)} (writeStallTimeout); the connection was closed`;
}

interface Watched {
  readonly stream: Writable;
  readonly timeoutMs: number;
  readonly onStall: () => void;
  /** When output was first seen waiting with no progress since; 0: nothing waiting. */
  since: number;
  /** Bytes the stream had handed on (to the kernel, or the layer below) when `since` was set. */
  progress: number;
  /** 'drain' events so far (streams that are not sockets count progress this way, see progressOf). */
  drains: number;
  length: number;
  onDrain: (() => void) | undefined;
}

const watched = new Set<Watched>();
const stalledStreams = new WeakSet<Writable>();
let interval: NodeJS.Timeout | undefined;
let tickMs = 0;
let peakBuffered = 0;

/**
 * Closes `stream`'s connection (through `onStall`) when output has been waiting on it for
 * `timeoutMs` with none of it written. Returns how to stop watching (also stopped by 'close').
 * `onStall` runs at most once; the stream is marked first, so that whoever sees it break can tell
 * (`wasStalled`).
 */
export function watchWriteStall(stream: Writable, timeoutMs: number, onStall: () => void): () => void {
  const w: Watched = {
    stream,
    timeoutMs,
    onStall,
    since: 0,
    progress: 0,
    drains: 0,
    length: 0,
    onDrain: undefined,
  };
  if (!isSocket(stream)) {
    const onDrain = (): void => void w.drains++;
    w.onDrain = onDrain;
    stream.on('drain', onDrain);
  }
  watched.add(w);
  const stop = (): void => unwatch(w);
  stream.once('close', stop);
  schedule(timeoutMs);
  return stop;
}

/** Whether the stream was closed because its client stopped reading. */
export function wasStalled(stream: Writable | null | undefined): boolean {
  return stream != null && stalledStreams.has(stream);
}

/**
 * Bytes waiting in user space on every watched stream now (the sockets' write buffers), and the
 * largest sum any check has seen: what stalled clients hold of the gateway's memory (tests, metrics).
 */
export function bufferedOutput(): { now: number; peak: number } {
  let now = 0;
  for (const w of watched) now += w.stream.writableLength;
  if (now > peakBuffered) peakBuffered = now;
  return { now, peak: peakBuffered };
}

/** Streams watched now (tests). */
export function watchedStreams(): number {
  return watched.size;
}

function unwatch(w: Watched): void {
  if (!watched.delete(w)) return;
  if (w.onDrain) w.stream.off('drain', w.onDrain);
  if (watched.size === 0 && interval !== undefined) {
    clearInterval(interval);
    interval = undefined;
    tickMs = 0;
  }
}

/** A quarter of the shortest timeout watched, between 10 ms and 1 s. */
function schedule(timeoutMs: number): void {
  const want = Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));
  if (interval !== undefined && tickMs <= want) return;
  if (interval !== undefined) clearInterval(interval);
  tickMs = want;
  interval = setInterval(sweep, want);
  interval.unref();
}

function isSocket(s: Writable): s is Socket & Writable {
  return typeof (s as Partial<Socket>).bytesWritten === 'number';
}

/**
 * How far the stream has got. A socket: the bytes it has handed to the kernel (bytesWritten counts
 * the ones still buffered too). Any other stream (an SSH channel): its 'drain' events and the bytes
 * it still holds, so a shrinking buffer is progress.
 */
function progressOf(w: Watched): number {
  const s = w.stream;
  if (isSocket(s)) return s.bytesWritten - s.writableLength;
  return w.drains;
}

function sweep(): void {
  const now = Date.now();
  let buffered = 0;
  for (const w of watched) {
    const s = w.stream;
    if (s.destroyed) {
      unwatch(w);
      continue;
    }
    const length = s.writableLength;
    buffered += length;
    if (length === 0) {
      w.since = 0;
      continue;
    }
    const progress = progressOf(w);
    const shrank = length < w.length;
    w.length = length;
    if (w.since === 0 || progress !== w.progress || shrank) {
      w.since = now;
      w.progress = progress;
      continue;
    }
    if (now - w.since < w.timeoutMs) continue;
    unwatch(w);
    stalledStreams.add(s);
    try {
      w.onStall();
    } catch {
      // The stream goes regardless: a failing callback must not keep it, or stop the sweep.
    }
    if (!s.destroyed) s.destroy();
  }
  if (buffered > peakBuffered) peakBuffered = buffered;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
