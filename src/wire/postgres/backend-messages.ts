// Decoders for messages a PostgreSQL server sends (protocol 3.0, section 55.7). Pure functions.

import { ProtocolError } from './protocol-error.js';
import { BodyReader } from './reader.js';
import type { TransactionStatus } from './message-codes.js';

export type AuthenticationRequest =
  | { readonly kind: 'ok' }
  | { readonly kind: 'cleartext' }
  | { readonly kind: 'md5'; readonly salt: Buffer }
  | { readonly kind: 'sasl'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'sasl-continue'; readonly data: Buffer }
  | { readonly kind: 'sasl-final'; readonly data: Buffer }
  | { readonly kind: 'unsupported'; readonly code: number };

export function decodeAuthentication(body: Buffer): AuthenticationRequest {
  const r = new BodyReader(body);
  const code = r.int32();
  switch (code) {
    case 0:
      return { kind: 'ok' };
    case 3:
      return { kind: 'cleartext' };
    case 5:
      return { kind: 'md5', salt: Buffer.from(r.bytes(4)) };
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const m = r.cstring();
        if (m === '') break;
        mechanisms.push(m);
      }
      return { kind: 'sasl', mechanisms };
    }
    case 11:
      return { kind: 'sasl-continue', data: Buffer.from(r.rest()) };
    case 12:
      return { kind: 'sasl-final', data: Buffer.from(r.rest()) };
    default:
      return { kind: 'unsupported', code };
  }
}

export function decodeBackendKeyData(body: Buffer): { processId: number; secretKey: Buffer } {
  const r = new BodyReader(body);
  return { processId: r.int32(), secretKey: Buffer.from(r.rest()) };
}

export function decodeParameterStatus(body: Buffer): { name: string; value: string } {
  const r = new BodyReader(body);
  return { name: r.cstring(), value: r.cstring() };
}

export function decodeReadyForQuery(body: Buffer): TransactionStatus {
  if (body.length !== 1) throw new ProtocolError('invalid ReadyForQuery');
  const s = String.fromCharCode(body[0]!);
  if (s !== 'I' && s !== 'T' && s !== 'E') throw new ProtocolError('invalid transaction status');
  return s;
}

/** ErrorResponse/NoticeResponse fields keyed by their type byte as a character ('C', 'M', …). */
export type ErrorFields = Record<string, string>;

export function decodeErrorFields(body: Buffer): ErrorFields {
  const r = new BodyReader(body);
  const fields: ErrorFields = {};
  for (;;) {
    const t = r.byte();
    if (t === 0) break;
    fields[String.fromCharCode(t)] = r.cstring();
  }
  return fields;
}

/** Row count from a CommandComplete tag: `SELECT 5`, `INSERT 0 1`, `UPDATE 3`, `COPY 10`. */
export function rowsFromCommandTag(body: Buffer): number | undefined {
  const end = body.indexOf(0);
  const tag = body.toString('latin1', 0, end < 0 ? body.length : end);
  const sp = tag.lastIndexOf(' ');
  if (sp < 0) return undefined;
  const n = Number(tag.slice(sp + 1));
  return Number.isFinite(n) && /^(SELECT|INSERT|UPDATE|DELETE|MERGE|COPY|FETCH|MOVE) /.test(tag)
    ? n
    : undefined;
}

export interface ColumnDescription {
  readonly name: string;
  readonly tableOid: number;
  readonly columnNumber: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: number;
}

export function decodeRowDescription(body: Buffer): ColumnDescription[] {
  const r = new BodyReader(body);
  const n = r.int16();
  const cols: ColumnDescription[] = [];
  for (let i = 0; i < n; i++) {
    cols.push({
      name: r.cstring(),
      tableOid: r.int32() >>> 0,
      columnNumber: r.int16(),
      typeOid: r.int32() >>> 0,
      typeSize: r.int16(),
      typeModifier: r.int32(),
      format: r.int16(),
    });
  }
  return cols;
}

/** DataRow cells as raw slices (null for SQL NULL). */
export function decodeDataRow(body: Buffer): (Buffer | null)[] {
  const r = new BodyReader(body);
  const n = r.int16();
  const cells: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) {
    const len = r.int32();
    cells.push(len === -1 ? null : r.bytes(len));
  }
  return cells;
}

export function decodeNotification(body: Buffer): { processId: number; channel: string; payload: string } {
  const r = new BodyReader(body);
  return { processId: r.int32(), channel: r.cstring(), payload: r.cstring() };
}
