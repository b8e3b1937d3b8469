// The differential corpus through the real wire (issue 11 §9): Gatehouse in front of PostgreSQL,
// every text sent by the demo agent (agent token, `ai-agents`, the demo's default policy) with the
// simple protocol and with the extended protocol. The upstream login is a superuser, so the
// classifier and the engine are the only line. After each text the fixture must be intact: the
// same state digest (schema objects, row data, settings), and nothing in the audit logs.

import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, type Frame } from '../src/wire/postgres/index.js';
import {
  ATTACKS,
  BENIGN_READS,
  ESCAPE,
  HIDDEN_CODE_READS,
  LEXER_CASES,
} from './testkit/differential-corpus.js';
import { DIFFERENTIAL_FIXTURE_SQL, LOG_SCHEMA, printable } from './testkit/differential.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { lexerSoup, trickyBytes, trickySelect } from './testkit/lexer-arbitraries.js';
import { RawPgClient, cstr, errorsIn, msg, typed } from './testkit/raw-pg-client.js';

let gw: TestGateway;
let direct: pg.Client;
let baseline: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: DIFFERENTIAL_FIXTURE_SQL,
    extra: { masking: { columns: [{ column: 'api_keys.secret', tag: 'api_secret' }] } },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  baseline = await state();
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

/** The fixture's digest, and whatever the audit logs hold (they must stay empty). */
async function state(): Promise<string> {
  const r = await direct.query(
    `SELECT ${LOG_SCHEMA}.state_digest() AS d,
            (SELECT count(*) FROM ${LOG_SCHEMA}.ddl_log)::int AS ddl,
            (SELECT count(*) FROM ${LOG_SCHEMA}.dml_log)::int AS dml`,
  );
  const row = r.rows[0] as { d: string; ddl: number; dml: number };
  return `${row.d} ddl=${row.ddl} dml=${row.dml}`;
}

/** One agent session per protocol, reopened when Gatehouse or the server ends it. */
class AgentSession {
  private client: RawPgClient | undefined;

  async frames(messages: Buffer[]): Promise<Frame[]> {
    if (!this.client || this.client.closed) {
      const token = await gw.token({ subject: 'claude-demo', groups: ['ai-agents'], agent: true });
      this.client = await RawPgClient.open(gw.port, gw.connection, token);
    }
    const c = this.client;
    c.send(...messages);
    const frames: Frame[] = [];
    for (;;) {
      const got = await c.until(
        (f) => f.type === BackendCode.ReadyForQuery || f.type === BackendCode.CopyInResponse,
      );
      frames.push(...got);
      const last = got.at(-1);
      if (!last || last.type === BackendCode.ReadyForQuery || c.closed) break;
      c.send(typed('f', cstr('no COPY data')));
    }
    // Leave no transaction open for the next text.
    if (!c.closed) {
      c.send(msg.query('ROLLBACK'));
      await c.ready();
    }
    return frames;
  }

  close(): void {
    this.client?.close();
  }
}

const simple = new AgentSession();
const extended = new AgentSession();
afterAll(() => {
  simple.close();
  extended.close();
});

const viaSimple = (text: string | Buffer) => simple.frames([msg.query(text)]);
const viaExtended = (text: string | Buffer) =>
  extended.frames([msg.parse('', text), msg.bind('', ''), msg.execute(''), msg.sync()]);

async function intactAfter(text: string | Buffer): Promise<void> {
  for (const [how, send] of [
    ['simple', viaSimple],
    ['extended', viaExtended],
  ] as const) {
    const frames = await send(text);
    const now = await state();
    expect(now, `${how}: ${printable(text)}\nerrors: ${JSON.stringify(errorsIn(frames))}`).toBe(baseline);
  }
}

describe('the check itself', () => {
  it('sees a change (a person deletes a row), and the fixture is put back', async () => {
    const dba = gw.client(await gw.token({ subject: 'dana', groups: ['dba'] }));
    await dba.connect();
    await dba.query('DELETE FROM canary WHERE id = 3');
    await dba.end();
    expect(await state()).not.toBe(baseline);
    await restore();
    expect(await state()).toBe(baseline);
  });
});

/** Puts the canary's rows back and empties the audit logs (after a control or a known hole). */
async function restore(): Promise<void> {
  await direct.query(
    `INSERT INTO canary SELECT g, 'row ' || g FROM generate_series(1, 3) g ON CONFLICT DO NOTHING;
     TRUNCATE ${LOG_SCHEMA}.dml_log, ${LOG_SCHEMA}.ddl_log`,
  );
}

describe('reads that reach hidden code, through the wire: read-only reads hold them', () => {
  // The classifier sees each as a plain read (the text names no function). Two are refused by column
  // lineage for this masked agent (the result is untraceable); every one of them would fail anyway,
  // because the agent's reads run in read-only transactions and PostgreSQL refuses the hidden write
  // (25006): test/read-only-reads.test.ts shows it for an agent without column rules.
  it.each(HIDDEN_CODE_READS.map((e) => [printable(e.text), e]))('%s', async (_name, entry) => {
    try {
      for (const send of [viaSimple, viaExtended]) {
        const frames = await send(entry.text);
        const rows = (await direct.query('SELECT count(*)::int AS n FROM canary')).rows[0].n as number;
        expect(rows).toBe(3);
        const refusals = errorsIn(frames).map((e) => (e.C === '25006' ? '25006' : e.D));
        expect(refusals.length, JSON.stringify(errorsIn(frames))).toBe(1);
        // The domain's CHECK calls a user function: Gatehouse sees that in the catalog since class 225,
        // and the default agent policy holds user code for review (refused here: nobody approves).
        expect([
          '25006',
          'Gatehouse rule: masking-lineage-unproven',
          'Gatehouse rule: agents-review-procedural',
        ]).toContain(refusals[0]);
      }
    } finally {
      await restore();
    }
    expect(await state()).toBe(baseline);
  });
});

describe('the corpus through Gatehouse, as the demo agent', () => {
  it.each([...ATTACKS, ...LEXER_CASES, { text: ESCAPE }].map((e) => [printable(e.text), e]))(
    'leaves every object intact: %s',
    async (_name, entry) => {
      await intactAfter(entry.text);
    },
  );

  it.each(BENIGN_READS.map((t) => [t]))('benign read answers without a refusal: %s', async (text) => {
    const s = errorsIn(await viaSimple(text));
    expect(s, text).toEqual([]);
    // A Parse holds one statement: several in one text are PostgreSQL's 42601, never a refusal.
    const e = errorsIn(await viaExtended(text));
    expect(
      e.filter((x) => x.C !== '42601'),
      text,
    ).toEqual([]);
    expect(await state()).toBe(baseline);
  });

  it('lexer-tricky text, generated, leaves every object intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(trickySelect, lexerSoup, trickyBytes), async (text) => {
        await viaSimple(text);
        const now = await state();
        if (now !== baseline) throw new Error(`state changed after ${printable(text)}`);
      }),
      { numRuns: 30 },
    );
  });
});
