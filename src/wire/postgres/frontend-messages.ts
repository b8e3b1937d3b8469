// Decoders for messages a PostgreSQL client sends (protocol 3.0, section 55.7). Pure functions over
// a frame body; malformed bodies raise ProtocolError.

import { createHash } from 'node:crypto';
import { ProtocolError } from './protocol-error.js';
import { BodyReader } from './reader.js';
import { StartupCode } from './message-codes.js';

export type StartupPacket =
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: Buffer }
  | {
      readonly kind: 'startup';
      readonly major: number;
      readonly minor: number;
      readonly params: Readonly<Record<string, string>>;
    };

/** Decodes the body of an untyped startup-phase packet (after its length). */
export function decodeStartup(body: Buffer): StartupPacket {
  const r = new BodyReader(body);
  const code = r.int32();
  if (code === StartupCode.SSLRequest) return { kind: 'ssl' };
  if (code === StartupCode.GSSENCRequest) return { kind: 'gssenc' };
  if (code === StartupCode.CancelRequest) {
    const processId = r.int32();
    // Protocol 3.2 allows a secret key of up to 256 bytes; 3.0 uses 4.
    const secretKey = r.rest();
    if (secretKey.length < 4 || secretKey.length > 256) throw new ProtocolError('invalid cancel key');
    return { kind: 'cancel', processId, secretKey };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) throw new ProtocolError(`unsupported frontend protocol ${major}.${minor}`);
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = r.cstring();
    if (name === '') break;
    params[name] = r.cstring();
  }
  return { kind: 'startup', major, minor, params };
}

export function decodeQuery(body: Buffer): string {
  return new BodyReader(body).cstring();
}

export interface ParseMessage {
  readonly name: string;
  readonly text: string;
  readonly paramTypes: readonly number[];
}

export function decodeParse(body: Buffer): ParseMessage {
  const r = new BodyReader(body);
  const name = r.cstring();
  const text = r.cstring();
  const n = r.int16();
  if (n < 0) throw new ProtocolError('negative parameter count');
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(r.int32());
  return { name, text, paramTypes };
}

export interface BindMessage {
  readonly portal: string;
  readonly statement: string;
  readonly paramFormats: readonly number[];
  /** Parameter values as raw bytes (null for SQL NULL). */
  readonly params: readonly (Buffer | null)[];
  readonly resultFormats: readonly number[];
}

export function decodeBind(body: Buffer): BindMessage {
  const r = new BodyReader(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const nf = r.int16();
  if (nf < 0) throw new ProtocolError('negative format count');
  const paramFormats: number[] = [];
  for (let i = 0; i < nf; i++) paramFormats.push(r.int16());
  const np = r.int16();
  if (np < 0) throw new ProtocolError('negative parameter count');
  const params: (Buffer | null)[] = [];
  for (let i = 0; i < np; i++) {
    const len = r.int32();
    params.push(len === -1 ? null : r.bytes(len));
  }
  const nr = r.int16();
  if (nr < 0) throw new ProtocolError('negative result format count');
  const resultFormats: number[] = [];
  for (let i = 0; i < nr; i++) resultFormats.push(r.int16());
  return { portal, statement, paramFormats, params, resultFormats };
}

/** Bytes of each bind parameter that records and approval requests show. */
export const SHOWN_PARAM_BYTES = 1024;

/** True when bindParamsAsText clips a parameter of this Bind. */
export function bindClipsParams(bind: BindMessage, maxBytesEach = SHOWN_PARAM_BYTES): boolean {
  return bind.params.some((p) => p !== null && p.length > maxBytesEach);
}

/**
 * Bind parameters as text for records and approvals; binary values are shown as hex. A parameter
 * longer than `maxBytesEach` is shown as its first bytes, then `… (clipped: <n> bytes in all, sha256
 * <hex>)`: the record binds the whole value it does not show, so two values that share their first
 * kilobyte are two values in it, and a reader can tell a clipped value from one that ends in `…` and
 * check a value against it (docs/security.md, class 259). The digest is taken only of a clipped one.
 */
export function bindParamsAsText(bind: BindMessage, maxBytesEach = SHOWN_PARAM_BYTES): (string | null)[] {
  return bind.params.map((p, i) => {
    if (p === null) return null;
    const fmt = bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i];
    if (p.length <= maxBytesEach) return fmt === 1 ? `\\x${p.toString('hex')}` : p.toString('utf8');
    const v = p.subarray(0, maxBytesEach);
    const s = fmt === 1 ? `\\x${v.toString('hex')}` : v.toString('utf8');
    return `${s}… (clipped: ${p.length} bytes in all, sha256 ${createHash('sha256').update(p).digest('hex')})`;
  });
}

export interface ExecuteMessage {
  readonly portal: string;
  readonly maxRows: number;
}

export function decodeExecute(body: Buffer): ExecuteMessage {
  const r = new BodyReader(body);
  return { portal: r.cstring(), maxRows: r.int32() };
}

/** Describe and Close share a shape: 'S' (statement) or 'P' (portal) and a name. */
export interface TargetMessage {
  readonly target: 'S' | 'P';
  readonly name: string;
}

export function decodeTarget(body: Buffer): TargetMessage {
  const r = new BodyReader(body);
  const t = r.byte();
  if (t !== 0x53 && t !== 0x50) throw new ProtocolError('invalid describe/close target');
  return { target: t === 0x53 ? 'S' : 'P', name: r.cstring() };
}

export interface FunctionCallMessage {
  readonly functionOid: number;
  /** Argument format codes, as a Bind's parameter formats (none: all text; one: all alike). */
  readonly argFormats: readonly number[];
  readonly args: readonly (Buffer | null)[];
}

export function decodeFunctionCall(body: Buffer): FunctionCallMessage {
  const r = new BodyReader(body);
  const functionOid = r.int32();
  const nf = r.int16();
  if (nf < 0) throw new ProtocolError('negative format count');
  const argFormats: number[] = [];
  for (let i = 0; i < nf; i++) argFormats.push(r.int16());
  const na = r.int16();
  if (na < 0) throw new ProtocolError('negative argument count');
  const args: (Buffer | null)[] = [];
  for (let i = 0; i < na; i++) {
    const len = r.int32();
    args.push(len === -1 ? null : r.bytes(len));
  }
  return { functionOid, argFormats, args };
}

/** A FunctionCall's arguments in the shape of a Bind's parameters (bindParamsAsText, bindClipsParams). */
export function functionCallAsBind(call: FunctionCallMessage): BindMessage {
  return { portal: '', statement: '', paramFormats: call.argFormats, params: call.args, resultFormats: [] };
}

/** PasswordMessage: a NUL-terminated password (here, the Gatehouse token). */
export function decodePassword(body: Buffer): string {
  return new BodyReader(body).cstring();
}
