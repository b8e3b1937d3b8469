// Reading a request body into memory, capped: only for bodies the gateway must see whole to classify
// or verify (AWS JSON and query protocols, S3 DeleteObjects). Everything else streams.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/** Whether the request carries a body at all (RFC 9112 §6.3). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

export function declaredLength(req: IncomingMessage): number | undefined {
  const len = req.headers['content-length'];
  if (len === undefined || !/^\d{1,15}$/.test(len)) return undefined;
  return Number(len);
}

export async function readCapped(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > max)
    throw new BodyTooLarge(`the request body is larger than ${max} bytes`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new BodyTooLarge(`the request body is larger than ${max} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

/**
 * Reads a stream to its end, or until it passes `max` bytes ('too-large': it is paused then, not
 * destroyed, so the refusal can still be written on the client's connection).
 */
export function readUpTo(from: Readable, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      from.off('data', onData);
      from.off('end', onEnd);
      from.off('error', onError);
      from.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        stop();
        from.pause();
        from.on('error', () => undefined);
        resolve('too-large');
        return;
      }
      parts.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(parts, size));
    };
    const onError = (e: Error): void => {
      stop();
      reject(e);
    };
    const onClose = (): void => {
      stop();
      reject(new Error('the request body ended early: the client went away'));
    };
    from.on('data', onData);
    from.on('end', onEnd);
    from.on('error', onError);
    from.on('close', onClose);
  });
}
