import { describe, expect, test } from 'vitest';
import type { ServiceTokenRecord, SessionRecord, StatementRecord } from '../core/records.js';
import {
  resultToColumns,
  rowToSession,
  rowToStatement,
  rowToToken,
  sessionToRow,
  statementToRow,
  tokenToRow,
} from './row-mapping.js';

describe('row mapping', () => {
  test('sessions round-trip, including optional fields', () => {
    const full: SessionRecord = {
      id: 's',
      startedAt: new Date('2026-01-01T00:00:00.123Z'),
      endedAt: new Date('2026-01-01T01:00:00.000Z'),
      subject: 'alice',
      groups: ['a', 'b'],
      tokenKind: 'service',
      agent: true,
      issuer: 'gatehouse',
      clientAddress: '[::1]:5000',
      clientUser: 'app',
      application: 'psql',
      connection: 'prod',
      protocol: 'postgres',
      endReason: 'idle timeout',
    };
    const row = sessionToRow(full);
    expect(row).toMatchObject({ started_at: 1767225600123, agent: 1, groups: '["a","b"]' });
    expect(rowToSession(row)).toEqual(full);
    const { endedAt: _e, endReason: _r, clientUser: _c, application: _a, ...minimal } = full;
    expect(rowToSession(sessionToRow(minimal))).toEqual(minimal);
  });

  test('PostgreSQL-style string integers read back as numbers', () => {
    const row = {
      ...sessionToRow({ ...minimalSession(), agent: false }),
      started_at: '1767225600123' as unknown as number,
    };
    expect(rowToSession(row).startedAt.getTime()).toBe(1767225600123);
  });

  test('statements round-trip with params and result', () => {
    const st: StatementRecord = {
      id: 'x',
      sessionId: 's',
      seq: 4,
      at: new Date(5000),
      via: 'extended',
      text: 'select $1',
      kind: 'select',
      categories: ['read'],
      effect: 'review',
      ruleId: 'r',
      message: 'needs approval',
      params: ['a', null],
    };
    const result = { durationMs: 0.75, rows: 0, masked: { email: 3 } };
    expect(rowToStatement(statementToRow(st, resultToColumns(result)))).toEqual({ ...st, result });
    expect(rowToStatement(statementToRow(st))).toEqual(st);
  });

  test('tokens round-trip', () => {
    const t: ServiceTokenRecord = {
      id: 'j',
      subject: 'bot',
      groups: [],
      agent: true,
      issuedAt: new Date(1),
      expiresAt: new Date(2),
      revokedAt: new Date(3),
      description: 'd',
    };
    expect(rowToToken(tokenToRow(t))).toEqual(t);
  });

  test('invalid dates and durations are refused', () => {
    expect(() => sessionToRow({ ...minimalSession(), startedAt: new Date('nope') })).toThrow(TypeError);
    expect(() => resultToColumns({ durationMs: Number.NaN })).toThrow(TypeError);
  });
});

function minimalSession(): SessionRecord {
  return {
    id: 's',
    startedAt: new Date(0),
    subject: 'x',
    groups: [],
    tokenKind: 'oidc',
    agent: false,
    issuer: 'i',
    clientAddress: 'a',
    connection: 'c',
    protocol: 'postgres',
  };
}
