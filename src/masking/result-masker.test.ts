import { describe, expect, it } from 'vitest';
import { type SqlAction, httpAction, sqlAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import { passThroughMasker, type ColumnRef } from '../core/masking.js';
import { maskingSchema } from './masking-schema.js';
import {
  cellsToMask,
  createSqlMaskerFactory,
  nulledCells,
  sqlMaskerOf,
  unknownMaskingProfiles,
  type ResolvedColumnRef,
} from './result-masker.js';

const config = maskingSchema.parse({
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card' },
    { column: 'customers.email', style: 'hash', tag: 'cust_email' },
    { column: 'customers.ssn', detectors: ['ssn'] },
    { column: 'customers.score' },
  ],
  profiles: { strict: { style: 'null' } },
});
const factory = createSqlMaskerFactory(config, { hashKey: Buffer.alloc(32, 9) });
const identity = { subject: 'claude', groups: [], agent: true } as unknown as Identity;

function action(tables: { schema?: string; name: string }[] = []): SqlAction {
  return sqlAction({
    connection: 'app',
    via: 'simple-query',
    statement: { text: 'SELECT 1', kind: 'select', categories: ['read'], tables, functions: [] },
  });
}

function masker(profile?: string) {
  return factory.forAction(identity, action(), { mask: profile ? { profile } : true });
}

const col = (typeOid: number, format = 0, extra: Partial<ResolvedColumnRef> = {}): ResolvedColumnRef => ({
  name: 'c',
  tableOid: 0,
  columnNumber: 0,
  typeOid,
  format,
  ...extra,
});
const from = (column: string, typeOid = 25, format = 0): ResolvedColumnRef =>
  col(typeOid, format, {
    tableOid: 16384,
    columnNumber: 2,
    source: { schema: 'public', table: 'customers', column },
  });

const cell = (m: ReturnType<typeof masker>, columns: ColumnRef[], index: number, value: Buffer | string) =>
  m.forColumns(columns)?.maskCell(index, typeof value === 'string' ? Buffer.from(value) : value);

describe('the plan for a result set', () => {
  it('passes integers, dates, uuids and booleans without looking at them', () => {
    const m = masker();
    expect(m.forColumns([col(23), col(1184), col(2950), col(16), col(1007, 1)])).toBeUndefined();
    const r = m.forColumns([col(23), col(25), col(1082)])!;
    expect(cellsToMask(r)).toEqual([false, true, false]);
  });

  it('scans text by content, and leaves short and benign values alone', () => {
    const m = masker();
    expect(cell(m, [col(25)], 0, 'paid with 4111 1111 1111 1111')?.toString()).toBe(
      'paid with [REDACTED:credit_card]',
    );
    expect(cell(m, [col(25)], 0, 'alice')).toBeUndefined();
    expect(cell(m, [col(1043, 1)], 0, 'mail ada@example.com')?.toString()).toBe('mail [REDACTED:email]');
    expect(m.counts()).toEqual({ credit_card: 1, email: 1 });
  });

  it('masks whole the values field names stand before in text and in json strings', () => {
    const m = masker();
    expect(cell(m, [col(25)], 0, 'host: db\npassword: hunter2\n')?.toString()).toBe(
      'host: db\npassword: "[REDACTED:password]"\n',
    );
    expect(cell(m, [col(25)], 0, 'LOG=1 DB_PASSWORD=hunter2 X=1')?.toString()).toBe(
      'LOG=1 DB_PASSWORD=[REDACTED:password] X=1',
    );
    expect(cell(m, [col(1043, 1)], 0, 'pwd=x')?.toString()).toBe('pwd=[REDACTED:pwd]');
    expect(cell(m, [col(25)], 0, 'user,password\nbob,hunter2')?.toString()).toBe(
      'user,password\nbob,[REDACTED:password]',
    );
    expect(
      cell(m, [col(114)], 0, '{"config":"password: hunter2","dsn":"host=db password=x"}')?.toString(),
    ).toBe('{"config":"password: \\"[REDACTED:password]\\"","dsn":"host=db password=[REDACTED:password]"}');
    // What names no value is left as it is (a time, a URL, prose).
    for (const v of ['meet at 12:30', 'see https://example.com/a', 'order shipped', 'password reset done'])
      expect(cell(m, [col(25)], 0, v)).toBeUndefined();
    expect(m.maskText('host=db password=hunter2')).toBe('host=db password=[REDACTED:password]');
    expect(m.counts()).toMatchObject({ password: 6, pwd: 1 });
  });

  it('applies column rules by origin, whatever the column is called in the result', () => {
    const m = masker();
    expect(cell(m, [from('card_number')], 0, '4111111111111111')?.toString()).toBe('************1111');
    expect(cell(m, [from('email')], 0, 'x')?.toString()).toMatch(/^hmac:[0-9a-f]{16}$/);
    // A rule with detectors scans only with them; ssn then accepts the bare 9-digit form.
    expect(cell(m, [from('ssn')], 0, '123456789')?.toString()).toBe('[REDACTED:ssn]');
    expect(cell(m, [from('ssn')], 0, 'ada@example.com')).toBeUndefined();
    expect(m.counts()).toMatchObject({ card: 1, cust_email: 1, ssn: 1 });
  });

  it('masks whole when the origin could not be resolved and rules exist (fail closed)', () => {
    const m = masker();
    const unresolved = col(25, 0, { tableOid: 16384, columnNumber: 1, source: 'unresolved' });
    expect(cell(m, [unresolved], 0, 'harmless')?.toString()).toBe('[REDACTED:unresolved]');
    const unknown = col(25, 0, { tableOid: 16384, columnNumber: 1 });
    expect(cell(m, [unknown], 0, 'harmless')?.toString()).toBe('[REDACTED:unresolved]');
  });

  it('sends NULL for numbers that hold a card, and for numeric columns under a rule', () => {
    const m = masker();
    const r = m.forColumns([col(20), col(1700), from('score', 23)])!;
    expect(r.maskCell(0, Buffer.from('4111111111111111'))).toBeNull();
    expect(r.maskCell(0, Buffer.from('1234567890'))).toBeUndefined();
    expect(r.maskCell(1, Buffer.from('4111111111111111.00'))).toBeUndefined();
    expect(r.maskCell(2, Buffer.from('42'))).toBeNull();
    expect(nulledCells(r)).toBe(2);
    const bin = Buffer.alloc(8);
    bin.writeBigInt64BE(4111111111111111n);
    expect(cell(m, [col(20, 1)], 0, bin)).toBeNull();
    bin.writeBigInt64BE(42n);
    expect(cell(m, [col(20, 1)], 0, bin)).toBeUndefined();
  });

  it('decodes jsonb binary, bytea hex and binary, and masks inside JSON by key and content', () => {
    const m = masker();
    const doc = '{"password":"hunter2","note":"card 4111111111111111"}';
    expect(
      cell(m, [col(3802, 1)], 0, Buffer.concat([Buffer.from([1]), Buffer.from(doc)]))?.toString('utf8', 1),
    ).toBe('{"password":"[REDACTED:password]","note":"card [REDACTED:credit_card]"}');
    expect(cell(m, [col(3802, 1)], 0, Buffer.from([2, 0x7b, 0x7d]))).toBeNull();
    const hex = `\\x${Buffer.from('4111111111111111').toString('hex')}`;
    expect(cell(m, [col(17)], 0, hex)?.toString()).toBe(
      `\\x${Buffer.from('[REDACTED:credit_card]').toString('hex')}`,
    );
    expect(
      cell(m, [col(17, 1)], 0, Buffer.from([0xff, 0x00, ...Buffer.from(' 4111111111111111 ')]))?.subarray(
        0,
        3,
      ),
    ).toEqual(Buffer.from([0xff, 0x00, 0x20]));
  });

  it('masks elements of a binary text[] and withholds an unknown binary type holding a secret', () => {
    const m = masker();
    const elems = [Buffer.from('ok'), Buffer.from('4111111111111111')];
    const arr = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 2, 0, 0, 0, 1]),
      ...elems.flatMap((e) => [Buffer.from([0, 0, 0, e.length]), e]),
    ]);
    const out = cell(m, [col(1009, 1)], 0, arr)!;
    expect(out.toString('latin1')).toContain('[REDACTED:credit_card]');
    expect(out.toString('latin1')).not.toContain('4111111111111111');
    expect(cell(m, [col(99999, 1)], 0, Buffer.from('\x00\x01 4111111111111111'))).toBeNull();
    expect(cell(m, [col(99999, 1)], 0, Buffer.from('\x00\x01 nothing'))).toBeUndefined();
  });

  it('masks a whole-row value field by field, by the table columns', () => {
    const m = masker();
    const source = {
      schema: 'public',
      table: 'customers',
      column: '',
      rowColumns: [
        { name: 'id', typeOid: 23 },
        { name: 'card_number', typeOid: 25 },
        { name: 'note', typeOid: 25 },
      ],
    };
    const whole = col(16386, 0, { tableOid: 16384, columnNumber: 0, source });
    expect(cell(m, [whole], 0, '(1,4111111111111111,"call +1 415 555 0123")')?.toString()).toBe(
      '(1,************1111,"call [REDACTED:phone]")',
    );
    expect(cell(m, [whole], 0, 'garbage')).toBeNull();
  });

  it('profiles change the style; null style gives SQL NULL', () => {
    const m = masker('strict');
    expect(cell(m, [col(25)], 0, '4111111111111111')).toBeNull();
  });
});

describe('text, COPY and the factory', () => {
  it('masks free text and JSON text', () => {
    const m = masker();
    expect(m.maskText('invalid input syntax for type integer: "4111111111111111"')).toBe(
      'invalid input syntax for type integer: "[REDACTED:credit_card]"',
    );
    expect(m.maskText('{"token":"abc"}')).toBe('{"token":"[REDACTED:token]"}');
    expect(m.maskText('nothing here')).toBeUndefined();
  });

  it('withholds quoted values, DETAIL and CONTEXT of data errors on tables with column rules', () => {
    const sql = sqlMaskerOf(factory.forAction(identity, action([{ name: 'customers' }]), { mask: true }))!;
    const fields: Record<string, string> = {
      S: 'ERROR',
      C: '23505',
      M: 'duplicate key value violates unique constraint "customers_email_key"',
      D: 'Key (email)=(opaque-value) already exists.',
      P: '3',
    };
    expect(sql.maskFields(fields)).toBe(true);
    expect(fields).toEqual({
      S: 'ERROR',
      C: '23505',
      M: 'duplicate key value violates unique constraint "[REDACTED:error_value]"',
      D: '[REDACTED:error_value]',
      P: '3',
    });
    // Other tables, and other error classes, get the content detectors only.
    const other = sqlMaskerOf(factory.forAction(identity, action([{ name: 'orders' }]), { mask: true }))!;
    const f2: Record<string, string> = { C: '22P02', M: 'invalid input syntax for type integer: "opaque"' };
    expect(other.maskFields(f2)).toBe(false);
    const f3: Record<string, string> = { C: '42703', M: 'column "4111111111111111" does not exist' };
    expect(sql.maskFields(f3)).toBe(true);
    expect(f3.M).toBe('column "[REDACTED:credit_card]" does not exist');
  });

  it('JSON built from a ruled table masks the ruled columns by key', () => {
    const reading = factory.forAction(identity, action([{ name: 'customers' }]), { mask: true });
    const json = col(3802);
    expect(cell(reading, [json], 0, '{"score": 97, "name": "Ada"}')?.toString()).toBe(
      '{"score": "[REDACTED:score]", "name": "Ada"}',
    );
    // A statement that does not read customers keeps `score` as it is.
    expect(cell(masker(), [json], 0, '{"score": 97}')).toBeUndefined();
  });

  it('withholds COPY when a rule may cover a table it reads, or when binary', () => {
    const sql = (tables: { schema?: string; name: string }[]) =>
      sqlMaskerOf(factory.forAction(identity, action(tables), { mask: true }))!;
    expect(sql([{ name: 'orders' }]).copyOutMode(false)).toBe('scan');
    expect(sql([{ name: 'orders' }]).copyOutMode(true)).toBe('withhold');
    expect(sql([{ name: 'customers' }]).copyOutMode(false)).toBe('withhold');
    expect(sql([{ schema: 'public', name: 'CUSTOMERS' }]).copyOutMode(false)).toBe('withhold');
    expect(sql([{ schema: 'other', name: 'customers' }]).copyOutMode(false)).toBe('withhold'); // `customers.email` has any schema
  });

  it('passes through without a mask obligation or for HTTP actions; refuses unknown profiles', () => {
    expect(factory.forAction(identity, action(), {})).toBe(passThroughMasker);
    expect(
      factory.forAction(
        identity,
        httpAction({ connection: 'x', method: 'GET', path: '/', decidedPath: '/' }),
        { mask: true },
      ),
    ).toBe(passThroughMasker);
    expect(() => factory.forAction(identity, action(), { mask: { profile: 'nope' } })).toThrow(
      /not configured/,
    );
    expect(factory.profiles).toEqual(['default', 'strict']);
    expect(
      unknownMaskingProfiles(
        [
          {
            rules: [
              { id: 'r1', mask: 'strict' },
              { id: 'r2', mask: 'nope' },
              { id: 'r3', mask: true },
            ],
          },
        ],
        config,
      ),
    ).toEqual(['rule r2: mask profile "nope"']);
  });
});
