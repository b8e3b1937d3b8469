// Encoders for the messages Gatehouse itself writes, in both directions (protocol 3.0, 55.7).
// Built from the spec's message layouts; every length field is computed, never hand-written.

import { ErrorField, FrontendCode, StartupCode, type TransactionStatus } from './message-codes.js';

function typed(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

// ---- backend messages (gateway → client) ----

export function authenticationOk(): Buffer {
  return typed('R', int32(0));
}

export function authenticationCleartextPassword(): Buffer {
  return typed('R', int32(3));
}

export function parameterStatus(name: string, value: string): Buffer {
  return typed('S', Buffer.concat([cstr(name), cstr(value)]));
}

export function backendKeyData(processId: number, secretKey: Buffer): Buffer {
  return typed('K', Buffer.concat([int32(processId), secretKey]));
}

export function readyForQuery(status: TransactionStatus): Buffer {
  return typed('Z', Buffer.from(status, 'latin1'));
}

export interface ErrorFieldsInput {
  readonly severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the query text (55.8, field P). */
  readonly position?: string;
}

function fieldsBody(f: ErrorFieldsInput): Buffer {
  const parts: Buffer[] = [];
  const add = (code: number, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(Buffer.from([code]), cstr(v));
  };
  add(ErrorField.Severity, f.severity);
  add(ErrorField.SeverityV, f.severity);
  add(ErrorField.Code, f.code);
  add(ErrorField.Message, f.message);
  add(ErrorField.Detail, f.detail);
  add(ErrorField.Hint, f.hint);
  add(ErrorField.Position, f.position);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function errorResponse(f: ErrorFieldsInput): Buffer {
  return typed('E', fieldsBody(f));
}

export function noticeResponse(f: ErrorFieldsInput): Buffer {
  return typed('N', fieldsBody(f));
}

/** Re-encodes decoded error/notice fields (after masking), preserving every field. */
export function fieldsMessage(type: 'E' | 'N', fields: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from([k.charCodeAt(0)]), cstr(v));
  parts.push(Buffer.from([0]));
  return typed(type, Buffer.concat(parts));
}

/** NegotiateProtocolVersion: newest minor version we support, and the options we did not recognise. */
export function negotiateProtocolVersion(minor: number, unrecognised: readonly string[]): Buffer {
  return typed(
    'v',
    Buffer.concat([int32((3 << 16) | minor), int32(unrecognised.length), ...unrecognised.map(cstr)]),
  );
}

// ---- frontend messages (gateway → upstream) ----

export function startupMessage(params: Readonly<Record<string, string>>): Buffer {
  const body = Buffer.concat([
    int32(StartupCode.ProtocolV3),
    ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(4 + body.length), body]);
}

export function sslRequest(): Buffer {
  return Buffer.concat([int32(8), int32(StartupCode.SSLRequest)]);
}

export function cancelRequest(processId: number, secretKey: Buffer): Buffer {
  return Buffer.concat([
    int32(12 + secretKey.length),
    int32(StartupCode.CancelRequest),
    int32(processId),
    secretKey,
  ]);
}

export function passwordMessage(password: string): Buffer {
  return typed('p', cstr(password));
}

export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  return typed('p', Buffer.concat([cstr(mechanism), int32(data.length), data]));
}

export function saslResponse(data: Buffer): Buffer {
  return typed('p', data);
}

export function query(text: string): Buffer {
  return typed('Q', cstr(text));
}

/**
 * A frontend message built in one allocation: the type byte, the length, then `fill` writes the body
 * (of exactly `bodyBytes` bytes) from offset 5. Parse, Bind, Describe and Execute go upstream for
 * extended-protocol statements: no intermediate buffers per message.
 */
function frontend(type: number, bodyBytes: number, fill: (out: Buffer) => number): Buffer {
  const out = Buffer.allocUnsafe(5 + bodyBytes);
  out[0] = type;
  out.writeInt32BE(4 + bodyBytes, 1);
  const end = fill(out);
  if (end !== out.length) throw new Error(`encoder wrote ${end - 5} of ${bodyBytes} body bytes`);
  return out;
}

/** Writes `s` and its terminating NUL at `at`; returns the offset after them. */
function putCstr(out: Buffer, s: string, at: number): number {
  const end = at + out.write(s, at, 'utf8');
  out[end] = 0;
  return end + 1;
}

const cstrBytes = (s: string) => Buffer.byteLength(s, 'utf8') + 1;

export function parse(name: string, text: string, paramTypes: readonly number[] = []): Buffer {
  const n = paramTypes.length;
  return frontend(FrontendCode.Parse, cstrBytes(name) + cstrBytes(text) + 2 + 4 * n, (out) => {
    let at = putCstr(out, text, putCstr(out, name, 5));
    out.writeInt16BE(n, at);
    at += 2;
    for (const t of paramTypes) at = out.writeInt32BE(t, at);
    return at;
  });
}

/**
 * A Bind of `portal` to `statement` whose parameters and result formats are `rest`, as a client's
 * Bind carries them after its two names (the gateway forwards a client's Bind under its own names).
 */
export function bind(portal: string, statement: string, rest: Buffer): Buffer {
  return frontend(FrontendCode.Bind, cstrBytes(portal) + cstrBytes(statement) + rest.length, (out) => {
    const at = putCstr(out, statement, putCstr(out, portal, 5));
    return at + rest.copy(out, at);
  });
}

export function execute(portal: string, maxRows = 0): Buffer {
  return frontend(FrontendCode.Execute, cstrBytes(portal) + 4, (out) =>
    out.writeInt32BE(maxRows, putCstr(out, portal, 5)),
  );
}

/** A Describe ('D') or Close ('C') of a statement ('S') or portal ('P'). */
function targeted(type: number, target: 'S' | 'P', name: string): Buffer {
  return frontend(type, 1 + cstrBytes(name), (out) => {
    out[5] = target.charCodeAt(0);
    return putCstr(out, name, 6);
  });
}

/** Describe ('D') of a statement ('S') or portal ('P'). */
export function describe(target: 'S' | 'P', name: string): Buffer {
  return targeted(FrontendCode.Describe, target, name);
}

/** Close ('C') of a statement ('S') or portal ('P'). */
export function close(target: 'S' | 'P', name: string): Buffer {
  return targeted(FrontendCode.Close, target, name);
}

export function sync(): Buffer {
  return typed('S', Buffer.alloc(0));
}

export function flush(): Buffer {
  return typed('H', Buffer.alloc(0));
}

export function terminate(): Buffer {
  return typed('X', Buffer.alloc(0));
}

/**
 * CopyInResponse (55.7): the overall format (0 text, 1 binary) and one format code per column, all
 * equal to it (PostgreSQL's COPY uses one format for every column).
 */
export function copyInResponse(format: 0 | 1, columns: number): Buffer {
  const body = Buffer.allocUnsafe(3 + 2 * columns);
  body[0] = format;
  body.writeInt16BE(columns, 1);
  for (let i = 0; i < columns; i++) body.writeInt16BE(format, 3 + 2 * i);
  return typed('G', body);
}

/** CommandComplete (55.7): the command tag, as `SELECT 5`. */
export function commandComplete(tag: string): Buffer {
  return typed('C', cstr(tag));
}
