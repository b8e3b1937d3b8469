// Masking through the real wire path (issue 4): seeded secrets in a real PostgreSQL, the `pg` client
// as an agent behind Gatehouse, and every adversarial transformation the issue lists. Each test checks
// the bytes the client received (a tap on its socket), not only the parsed rows.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const CARDS = ['4111111111111111', '5555555555554444', '378282246310005'];
const EMAILS = ['ada@example.com', 'grace@example.org', 'alan@example.net'];
const PHONES = ['+44 20 7946 0958', '(415) 555-0123', '+1 617 555 0145'];
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const GITHUB = `ghp_${'aB3dE5fG7h'.repeat(3)}123456`;
/** No detector recognises this one: only the column rule on api_keys.secret protects it. */
const OPAQUE = 'hunter2-correct-horse-battery';
const TICKET_CARD = '4012888888881881';

export const SECRETS = [...CARDS, ...EMAILS, ...PHONES, AWS_SECRET, GITHUB, OPAQUE, TICKET_CARD];

const SETUP = `
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text, phone text, card_number text, note text);
  INSERT INTO customers VALUES
    (1, 'Ada Lovelace', '${EMAILS[0]}', '${PHONES[0]}', '${CARDS[0]}', 'prefers email'),
    (2, 'Grace Hopper', '${EMAILS[1]}', '${PHONES[1]}', '${CARDS[1]}', 'VIP'),
    (3, 'Alan Turing',  '${EMAILS[2]}', '${PHONES[2]}', '${CARDS[2]}', NULL);
  CREATE TABLE api_keys (id int PRIMARY KEY, service text, key_id text, secret text);
  INSERT INTO api_keys VALUES
    (1, 'aws', 'AKIAIOSFODNN7EXAMPLE', '${AWS_SECRET}'),
    (2, 'github', NULL, '${GITHUB}'),
    (3, 'internal', NULL, '${OPAQUE}');
  CREATE VIEW api_keys_v AS SELECT service, secret FROM api_keys;
  CREATE TABLE tickets (id int PRIMARY KEY, body text, opened date, amount numeric(10,2));
  INSERT INTO tickets VALUES (1, 'customer paid with ${TICKET_CARD} yesterday', '2024-05-01', 12.50),
                             (2, 'nothing to see here', '2024-05-02', 3.00);
`;

const MASKING = {
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'customers.phone', tag: 'customer_phone' },
    { column: 'api_keys.secret', tag: 'api_secret' },
  ],
};

/**
 * The documented remedy for transformations no detector can see (docs/masking.md): agents in `strict`
 * may not run string-slicing functions over the tables that hold masked columns.
 */
const STRICT: PolicyConfig = {
  id: 'strict-agents',
  subjects: { groups: ['strict'] },
  connections: ['app'],
  rules: [
    {
      id: 'strict-no-functions-over-masked-columns',
      effect: 'deny',
      match: {
        tables: ['customers', 'api_keys'],
        functions: [
          'reverse',
          'substr',
          'substring',
          'left',
          'right',
          'overlay',
          'translate',
          'replace',
          'regexp_*',
          'split_part',
          'lpad',
          'rpad',
          'md5',
          'sha*',
          'encode',
          'convert_to',
          'format',
          'concat*',
          'string_to_array',
          'ascii',
          'chr',
        ],
      },
    },
  ],
};

/** A person allowed procedural code (DO blocks) under masking: the default agent policy reviews it. */
const PROCEDURAL: PolicyConfig = {
  id: 'procedural-masked',
  subjects: { groups: ['proc'] },
  connections: ['app'],
  rules: [{ id: 'proc-allow-all-masked', effect: 'allow', match: {}, mask: true }],
};

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), PROCEDURAL, STRICT],
    setupSql: SETUP,
    extra: { masking: MASKING, recording: { inlineSampleBytes: 1_000_000 } },
    // This file is about what masking does to what comes back (casts to numbers sent as NULL, binary
    // formats, failing casts' texts withheld…), so the agent here may run statements whose failure
    // depends on a masked value; by default they are held as predicates (masking-lineage.test.ts).
    connectionExtra: { masking: { maskedPredicates: 'allow' } },
  });
});
afterAll(async () => {
  await gw?.stop();
});

/** What the pg client gives a 'notice' listener (pg-protocol's NoticeMessage). */
interface Notice {
  readonly message?: string;
}

/** A connected client whose received bytes are all kept, to search for raw secrets. */
export interface Tapped {
  readonly client: pg.Client;
  readonly received: () => Buffer;
  readonly notices: Notice[];
}

async function connect(groups: string[], agent: boolean, subject: string): Promise<Tapped> {
  const client = gw.client(await gw.token({ subject, groups, agent }));
  const chunks: Buffer[] = [];
  const notices: Notice[] = [];
  client.on('notice', (n: Notice) => notices.push(n));
  await client.connect();
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, received: () => Buffer.concat(chunks), notices };
}

function int8Bytes(n: string): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

/** Every raw secret, and the encodings an adversary might ask for, are absent from these bytes. */
function expectClean(bytes: Buffer, label: string): void {
  const text = bytes.toString('latin1');
  for (const s of SECRETS) {
    expect(text, `${label}: ${s}`).not.toContain(s);
    expect(text, `${label}: upper ${s}`).not.toContain(s.toUpperCase());
    expect(text, `${label}: base64 ${s}`).not.toContain(Buffer.from(s).toString('base64').replace(/=+$/, ''));
    expect(text, `${label}: hex ${s}`).not.toContain(Buffer.from(s).toString('hex'));
  }
  for (const c of CARDS) expect(bytes.includes(int8Bytes(c)), `${label}: int8 ${c}`).toBe(false);
}

let agent: Tapped;
beforeAll(async () => {
  agent = await connect(['ai-agents'], true, 'claude');
});
afterAll(async () => {
  await agent?.client.end();
});

const q = async (sql: string): Promise<pg.QueryResult> => agent.client.query(sql);

describe('column rules follow the column, content detectors catch the rest', () => {
  it('masks rule columns with their style, and only them', async () => {
    const r = await q('SELECT id, name, email, phone, card_number, note FROM customers ORDER BY id');
    expect(r.rows[0].card_number).toBe('************1111');
    expect(r.rows[0].email).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(r.rows[0].phone).toBe('[REDACTED:customer_phone]');
    expect(r.rows[0].name).toBe('Ada Lovelace');
    expect(r.rows[0].note).toBe('prefers email');
    expect(r.rows[2].note).toBeNull();
    // hash is deterministic: the same value gives the same tag (joins and GROUP BY still work).
    const again = await q(`SELECT email FROM customers WHERE id = 1`);
    expect(again.rows[0].email).toBe(r.rows[0].email);
    expectClean(agent.received(), 'plain select');
  });

  it('aliases and subqueries keep the rule (RowDescription names the origin column)', async () => {
    const r = await q('SELECT x FROM (SELECT card_number AS x FROM customers) s');
    expect(r.rows.map((row) => row.x)).toEqual(
      expect.arrayContaining(['************1111', '***********0005']),
    );
    const cte = await q('WITH w AS (SELECT secret AS s FROM api_keys) SELECT s FROM w');
    expect(cte.rows.every((row) => row.s === '[REDACTED:api_secret]')).toBe(true);
    expectClean(agent.received(), 'alias');
  });

  it('a secret no detector knows is protected by its column rule', async () => {
    const r = await q(`SELECT secret FROM api_keys WHERE service = 'internal'`);
    expect(r.rows[0].secret).toBe('[REDACTED:api_secret]');
  });

  it('casts: ::text keeps the origin, ::bigint is caught by the card detector and sent as NULL', async () => {
    const t = await q('SELECT card_number::text AS c FROM customers WHERE id = 1');
    expect(t.rows[0].c).toBe('************1111');
    const b = await q('SELECT card_number::bigint AS c, id::bigint AS i FROM customers ORDER BY id');
    expect(b.rows.map((row) => row.c)).toEqual([null, null, null]);
    expect(b.rows.map((row) => row.i)).toEqual(['1', '2', '3']);
    expect(agent.notices.some((n) => /masked 3 values as NULL/.test(n.message ?? ''))).toBe(true);
    const n = await q('SELECT card_number::numeric AS c FROM customers WHERE id = 2');
    expect(n.rows[0].c).toBeNull();
    expectClean(agent.received(), 'casts');
  });

  it('expressions over ruled columns are masked whole by lineage (partial and hash degrade to redact)', async () => {
    const r = await q(
      `SELECT card_number || '' AS c, upper(email) AS u, lower(email) AS l, 'tel: ' || phone AS p FROM customers`,
    );
    for (const row of r.rows) {
      expect(row.c).toBe('[REDACTED:card_number]');
      // Derived values are never hashed: the hash of a value the client shapes is a dictionary.
      expect(row.u).toBe('[REDACTED:customer_email]');
      expect(row.l).toBe('[REDACTED:customer_email]');
      expect(row.p).toBe('[REDACTED:customer_phone]');
    }
    // An array cannot hold a tag: the whole value is withheld (NULL, with a notice).
    const a = await q("SELECT array_agg(card_number) AS a, string_agg(email, ';') AS s FROM customers");
    expect(a.rows[0].a).toBeNull();
    expect(a.rows[0].s).toBe('[REDACTED:customer_email]');
    expectClean(agent.received(), 'functions');
  });

  it('concatenation, upper/lower, array_agg, string_agg over a table without rules: content detectors', async () => {
    const r = await q(
      `SELECT body || '' AS c, upper(body) AS u, 'x ' || body AS p FROM tickets WHERE id = 1`,
    );
    expect(r.rows[0].c).toBe('customer paid with [REDACTED:credit_card] yesterday');
    expect(r.rows[0].u).toBe('CUSTOMER PAID WITH [REDACTED:credit_card] YESTERDAY');
    const a = await q(
      "SELECT array_agg(body ORDER BY id) AS a, string_agg(body, ';' ORDER BY id) AS s FROM tickets",
    );
    expect(a.rows[0].a).toEqual([
      'customer paid with [REDACTED:credit_card] yesterday',
      'nothing to see here',
    ]);
    expect(a.rows[0].s).toBe('customer paid with [REDACTED:credit_card] yesterday;nothing to see here');
    expectClean(agent.received(), 'functions over tickets');
  });

  it('row_to_json, to_jsonb and the whole-row value', async () => {
    // A whole row turned into a value carries every column: masked whole, in the strongest style.
    const j = await q('SELECT row_to_json(c) AS j, to_jsonb(c) AS b FROM customers c WHERE id = 1');
    expect(j.rows[0].j).toBe('[REDACTED:customer_phone]');
    expect(j.rows[0].b).toBe('[REDACTED:customer_phone]');
    // Tables without rules: JSON is masked inside, by key names and content.
    const t = await q('SELECT row_to_json(t) AS j FROM tickets t WHERE id = 1');
    expect(t.rows[0].j.body).toBe('customer paid with [REDACTED:credit_card] yesterday');
    expect(t.rows[0].j.id).toBe(1);
    const w = await q('SELECT c FROM customers c WHERE id = 1');
    expect(w.rows[0].c).toMatch(
      /^\(1,"Ada Lovelace",hmac:[0-9a-f]{16},\[REDACTED:customer_phone\],\*{12}1111,"prefers email"\)$/,
    );
    const k = await q('SELECT to_jsonb(k) AS k FROM api_keys k');
    expect(k.rows.map((row) => row.k)).toEqual([
      '[REDACTED:api_secret]',
      '[REDACTED:api_secret]',
      '[REDACTED:api_secret]',
    ]);
    expectClean(agent.received(), 'json');
  });

  it('base64 and hex encodings of a card: lineage for a ruled column, encoded-secret detection elsewhere', async () => {
    const r = await q(
      `SELECT encode(convert_to(card_number, 'UTF8'), 'base64') AS b64, encode(convert_to(card_number, 'UTF8'), 'hex') AS hex,
              convert_to(card_number, 'UTF8') AS raw FROM customers WHERE id = 1`,
    );
    expect(r.rows[0].b64).toBe('[REDACTED:card_number]');
    expect(r.rows[0].hex).toBe('[REDACTED:card_number]');
    expect(Buffer.isBuffer(r.rows[0].raw)).toBe(true);
    expect(r.rows[0].raw.toString()).toBe('[REDACTED:card_number]');
    const t = await q(
      `SELECT encode(convert_to(substr(body, 20, 16), 'UTF8'), 'base64') AS b64, encode(convert_to(substr(body, 20, 16), 'UTF8'), 'hex') AS hex,
              convert_to(body, 'UTF8') AS raw FROM tickets WHERE id = 1`,
    );
    expect(t.rows[0].b64).toBe('[REDACTED:encoded:credit_card]');
    expect(t.rows[0].hex).toBe('[REDACTED:encoded:credit_card]');
    expect(t.rows[0].raw.toString()).toBe('customer paid with [REDACTED:credit_card] yesterday');
    expectClean(agent.received(), 'encodings');
  });

  it('errors: the card in `invalid input syntax for type integer` is withheld, in the record too', async () => {
    const err = (await q('SELECT card_number::int FROM customers WHERE id = 1').catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    // 16 digits overflow int4: PostgreSQL quotes the value. The statement reads a masked column, so
    // the error's text is withheld whole; its SQLSTATE is kept.
    expect(err.code).toBe('22003');
    expect(err.message).toBe(
      'Gatehouse withheld the text of this error (SQLSTATE 22003 numeric_value_out_of_range): the statement reads ' +
        'masked column public.customers.card_number (rule card_number), and the text could quote its value',
    );
    const syntax = (await q(`SELECT ('card ' || card_number)::int FROM customers WHERE id = 2`).catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(syntax.code).toBe('22P02');
    expect(syntax.message).toMatch(/^Gatehouse withheld the text of this error \(SQLSTATE 22P02 /);
    // A secret no detector knows, echoed by a failing cast.
    const opaque = (await q(`SELECT secret::int FROM api_keys WHERE service = 'internal'`).catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(opaque.message).toMatch(/^Gatehouse withheld the text of this error \(SQLSTATE 22P02 /);
    const json = (await q(`SELECT secret::json FROM api_keys WHERE service = 'internal'`).catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(json.code).toBe('22P02');
    expect(json.detail).toBeUndefined();
    expect(json.where).toBeUndefined();
    // A column without a rule of a table with rules: values quoted in a data error are still withheld.
    const named = (await q(`SELECT name::int FROM customers WHERE id = 1`).catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(named.message).toBe('invalid input syntax for type integer: "[REDACTED:error_value]"');
    // Tables without column rules: errors are scanned by the content detectors.
    const ticket = (await q('SELECT body::int FROM tickets WHERE id = 1').catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(ticket.message).toBe(
      'invalid input syntax for type integer: "customer paid with [REDACTED:credit_card] yesterday"',
    );
    const dup = (await q(`SELECT (SELECT card_number FROM customers WHERE id = 1)::int`).catch(
      (e: unknown) => e,
    )) as pg.DatabaseError;
    expect(dup.message).not.toContain(CARDS[0]);
    expectClean(agent.received(), 'errors');
  });

  it('tables without rules: content detection masks free text; dates and numbers pass untouched', async () => {
    const r = await q('SELECT id, body, opened, amount FROM tickets ORDER BY id');
    expect(r.rows[0].body).toBe('customer paid with [REDACTED:credit_card] yesterday');
    expect(r.rows[1].body).toBe('nothing to see here');
    expect(r.rows[0].amount).toBe('12.50');
    expect(r.rows[0].opened).toBeInstanceOf(Date);
    expectClean(agent.received(), 'tickets');
  });

  it('binary results from the pg client (text, int8, numeric, bytea, jsonb, arrays, whole rows)', async () => {
    // node-postgres sends result format 1 for every column with `binary: true` (not in its types).
    const r = await agent.client.query({
      text: `SELECT card_number, email, card_number::bigint AS big, card_number::numeric AS num, convert_to(card_number, 'UTF8') AS raw,
                    to_jsonb(c) AS j, array_agg(card_number || '') OVER () AS arr, c AS whole, id, note
             FROM customers c WHERE id = 1`,
      binary: true,
    } as pg.QueryConfig);
    const row = r.rows[0];
    const text = (v: unknown) =>
      Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v);
    expect(text(row.card_number)).toBe('************1111');
    expect(text(row.email)).toMatch(/^hmac:/);
    expect(row.big).toBeNull();
    expect(row.num).toBeNull();
    expect(text(row.raw)).toBe('[REDACTED:card_number]');
    expect(text(row.j)).toContain('[REDACTED:customer_phone]');
    expect(row.arr).toBeNull();
    expect(row.whole).not.toBeNull();
    expect(row.id).toBe(1);
    expectClean(agent.received(), 'binary');
  });
});

describe('the gaps of origin-based masking, closed by lineage (issue 12)', () => {
  it('reverse() and re-grouped digits come from a masked column: masked whole', async () => {
    const r = await q(
      `SELECT reverse(card_number) AS r, substr(card_number, 1, 8) || '-' || substr(card_number, 9) AS s FROM customers WHERE id = 1`,
    );
    expect(r.rows[0].r).toBe('[REDACTED:card_number]');
    expect(r.rows[0].s).toBe('[REDACTED:card_number]');
    expectClean(agent.received(), 'reverse');
  });

  it('a value no detector knows keeps its rule through expressions, set operations and views', async () => {
    const r = await q(
      `SELECT upper(secret) AS u FROM api_keys WHERE service = 'internal'
       UNION ALL SELECT secret FROM api_keys WHERE service = 'internal'
       UNION ALL SELECT secret FROM api_keys_v WHERE service = 'internal'`,
    );
    expect(r.rows.map((row) => row.u)).toEqual(Array(3).fill('[REDACTED:api_secret]'));
    const v = await q(`SELECT secret FROM api_keys_v WHERE service = 'internal'`);
    expect(v.rows[0].secret).toBe('[REDACTED:api_secret]');
    const up = await q(`SELECT upper(secret) AS u FROM api_keys WHERE service = 'github'`);
    expect(up.rows[0].u).toBe('[REDACTED:api_secret]');
    expectClean(agent.received(), 'opaque');
  });

  it('denying functions over masked tables for agents closes them', async () => {
    const strict = await connect(['ai-agents', 'strict'], true, 'claude-strict');
    try {
      for (const sql of [
        'SELECT reverse(card_number) FROM customers',
        `SELECT substr(card_number, 1, 8) || '-' || substr(card_number, 9) FROM customers`,
        `SELECT encode(convert_to(secret, 'UTF8'), 'base64') FROM api_keys`,
      ]) {
        const e = (await strict.client.query(sql).catch((x: unknown) => x)) as pg.DatabaseError;
        expect(e.code, sql).toBe('42501');
        expect(e.detail).toContain('strict-no-functions-over-masked-columns');
      }
      // Plain reads still work, masked.
      const ok = await strict.client.query('SELECT card_number FROM customers WHERE id = 1');
      expect(ok.rows[0].card_number).toBe('************1111');
    } finally {
      await strict.client.end();
    }
  });
});

describe('every other path out of the database', () => {
  it('NOTICE raised in a DO block, and the text of a raised error, are withheld under column rules', async () => {
    const proc = await connect(['proc'], false, 'proc-user');
    try {
      await proc.client.query(
        `DO $$ BEGIN RAISE NOTICE 'card is %', (SELECT card_number FROM customers WHERE id = 1); END $$`,
      );
      await new Promise((r) => setTimeout(r, 50));
      // A DO block runs code whose reads Gatehouse cannot see: what it says may quote any column.
      expect(proc.notices.map((n) => n.message)).toContain(
        'Gatehouse withheld the text of this notice (SQLSTATE 00000): a DO block runs procedural code Gatehouse ' +
          'cannot see, so the text could quote a masked value',
      );
      const e = (await proc.client
        .query(
          `DO $$ BEGIN RAISE EXCEPTION 'lookup failed' USING DETAIL = (SELECT 'mail ' || email FROM customers WHERE id = 2), HINT = 'call ${PHONES[1]}'; END $$`,
        )
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e.code).toBe('P0001');
      expect(e.message).toMatch(
        /^Gatehouse withheld the text of this error \(SQLSTATE P0001 raise_exception\)/,
      );
      expect(e.detail).toBeUndefined();
      expect(e.hint).toBeUndefined();
      expectClean(proc.received(), 'notices');
    } finally {
      await proc.client.end();
    }
  });

  it('a NOTIFY payload carrying a card reaches a masked listener masked (whole, under column rules: class 98)', async () => {
    const listener = await connect(['ai-agents'], true, 'claude-listener');
    try {
      const got = new Promise<pg.Notification>((resolve) => listener.client.on('notification', resolve));
      await listener.client.query('LISTEN card_events');
      const direct = new pg.Client({ connectionString: gw.directUrl });
      await direct.connect();
      await direct.query(`SELECT pg_notify('card_events', 'new card ${CARDS[1]} for ${EMAILS[1]}')`);
      await direct.end();
      const n = await got;
      // No lineage traces a payload to columns: under column rules it is masked whole.
      expect(n.payload).toBe('[REDACTED:notification]');
      expectClean(listener.received(), 'notify');
    } finally {
      await listener.client.end();
    }
  });

  it('the dba group is not masked', async () => {
    const dba = await connect(['dba'], false, 'dana');
    try {
      const r = await dba.client.query('SELECT card_number, email, phone FROM customers WHERE id = 1');
      expect(r.rows[0]).toEqual({ card_number: CARDS[0], email: EMAILS[0], phone: PHONES[0] });
      const e = (await dba.client
        .query('SELECT card_number::int FROM customers WHERE id = 1')
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e.message).toContain(CARDS[0]);
    } finally {
      await dba.client.end();
    }
  });

  it('the session record holds the masked values and per-statement counts, never a raw secret', async () => {
    const rec = await connect(['ai-agents'], true, 'claude-recorded');
    await rec.client.query('SELECT id, card_number, email, phone FROM customers ORDER BY id');
    await rec.client.query('SELECT body FROM tickets ORDER BY id');
    await rec.client.query('SELECT card_number::int FROM customers WHERE id = 1').catch(() => undefined);
    await rec.client.end();
    let statements: {
      text: string;
      result?: { masked?: Record<string, number>; error?: { message: string } };
    }[] = [];
    let samples: { rows: unknown[][] }[] = [];
    let events: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      const [session] = await gw.gateway.store.listSessions({ subject: 'claude-recorded' });
      const detail = session ? await gw.gateway.store.getSession(session.id) : undefined;
      statements = detail?.statements ?? [];
      events = session ? await gw.gateway.store.getEvents(session.id) : [];
      samples = (events as { type: string; data: { sample?: { rows: unknown[][] } } }[])
        .filter((e) => e.type === 'result' && e.data.sample)
        .map((e) => e.data.sample!);
      if (statements.length === 3 && statements.every((s) => s.result) && samples.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(statements).toHaveLength(3);
    const [rows, tickets, failed] = statements;
    expect(rows!.result!.masked).toEqual({ card_number: 3, customer_email: 3, customer_phone: 3 });
    expect(tickets!.result!.masked).toEqual({ credit_card: 1 });
    expect(failed!.result!.error!.message).toMatch(
      /^Gatehouse withheld the text of this error \(SQLSTATE 22003 numeric_value_out_of_range\)/,
    );
    expect(failed!.result!.masked).toEqual({ error_text: 1 });
    // Result samples are what the client saw: after masking.
    expect(samples[0]!.rows[0]).toEqual([
      '1',
      '************1111',
      expect.stringMatching(/^hmac:/),
      '[REDACTED:customer_phone]',
    ]);
    expect(samples[1]!.rows[0]).toEqual(['customer paid with [REDACTED:credit_card] yesterday']);
    expectClean(Buffer.from(JSON.stringify(events)), 'events');
    expectClean(Buffer.from(JSON.stringify(statements)), 'record');
  });
});

describe.skipIf(!hasCommand('psql'))('COPY TO STDOUT through psql', () => {
  let token: string;
  beforeAll(async () => {
    token = await gw.token({ subject: 'claude-psql', groups: ['ai-agents'], agent: true });
  });
  const env = () => ({
    PGPASSWORD: token,
    PGHOST: '127.0.0.1',
    PGPORT: String(gw.port),
    PGUSER: 'claude',
    PGDATABASE: gw.connection,
    PGCONNECT_TIMEOUT: '5',
    PGSSLMODE: 'disable',
  });

  it('scans COPY rows of tables without column rules', async () => {
    const r = await run('psql', ['-X', '-c', '\\copy (SELECT id, body FROM tickets ORDER BY id) TO STDOUT'], {
      env: env(),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1\tcustomer paid with [REDACTED:credit_card] yesterday\n2\tnothing to see here\n');
    const csv = await run(
      'psql',
      ['-X', '-c', `\\copy (SELECT body FROM tickets WHERE id = 1) TO STDOUT WITH (FORMAT csv)`],
      { env: env() },
    );
    expect(csv.stdout).toBe('customer paid with [REDACTED:credit_card] yesterday\n');
  });

  it('withholds COPY data when a column rule covers a table it reads, or when it is binary', async () => {
    for (const sql of [
      '\\copy (SELECT card_number, email FROM customers) TO STDOUT',
      '\\copy customers TO STDOUT WITH (FORMAT csv)',
      '\\copy (SELECT upper(secret) FROM api_keys) TO STDOUT',
      '\\copy tickets TO STDOUT WITH (FORMAT binary)',
    ]) {
      const r = await run('psql', ['-X', '-c', sql], { env: env() });
      expect(r.code, sql).toBe(0);
      expect(r.stdout, sql).toBe('');
      expect(r.stderr, sql).toMatch(/Gatehouse withheld \d+ rows of COPY output/);
      for (const s of SECRETS) expect(r.stdout + r.stderr).not.toContain(s);
    }
  });
});
