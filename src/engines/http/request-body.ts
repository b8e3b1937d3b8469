// Reading a request body into memory, capped: only for bodies the gateway must see whole to classify
// or verify (AWS JSON and query protocols, S3 DeleteObjects). Everything else streams.

import type { IncomingMessage } from 'node:http';

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
