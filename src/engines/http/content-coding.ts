// A body's Content-Encoding undone as frameworks' body parsers undo it (Express's body-parser, Rack,
// PHP): gzip, deflate (zlib-wrapped, or raw as some servers also take it) and br, within a bound.
// Used where Gatehouse must read a body as its upstream will (method overrides in a body, class 204)
// or show it so to an approver (class 211).

import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** Why a body's codings could not be undone: one Gatehouse does not know, or one past `max` bytes (or corrupt). */
export interface UndecodableCoding {
  readonly coding: string;
  readonly reason: 'unknown' | 'undecodable';
}

/**
 * The body with every coding of `contentEncoding` undone (listed in the order applied: undone from the
 * last), each within `max` bytes of output; `identity` and the codings in `skip` are passed over.
 */
export function undoContentCodings(
  body: Buffer,
  contentEncoding: string | undefined,
  max: number,
  skip: readonly string[] = [],
): Buffer | UndecodableCoding {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity' && !skip.includes(c));
  let out = body;
  for (const coding of codings.reverse()) {
    try {
      if (coding === 'gzip' || coding === 'x-gzip') out = gunzipSync(out, { maxOutputLength: max });
      else if (coding === 'deflate') {
        try {
          out = inflateSync(out, { maxOutputLength: max });
        } catch {
          out = inflateRawSync(out, { maxOutputLength: max });
        }
      } else if (coding === 'br') out = brotliDecompressSync(out, { maxOutputLength: max });
      else return { coding, reason: 'unknown' };
    } catch {
      return { coding, reason: 'undecodable' };
    }
  }
  return out;
}
