// The hash-chained session record, against both stores: events are written in the group commit of
// the rows they describe, chained in submission order, sealed at the end; an export verifies offline,
// and changing any one byte of it makes `verify` name the line (and event) that changed.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../src/core/records.js';
import { canonicalJson } from '../src/recording/canonical-json.js';
import { eventHash, GENESIS_PREV } from '../src/recording/record-format.js';
import { exportRecording, eventToChained } from '../src/recording/recording-export.js';
import { verifyRecording } from '../src/recording/recording-verify.js';
import { loadOrCreateRecordSigningKey, type RecordSigningKey } from '../src/recording/record-signing-key.js';
import type { CommittedEvent } from '../src/store/event-chain.js';
import { PostgresStore } from '../src/store/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { createTestDatabase } from './testkit/databases.js';

type AnyStore = SqliteStore | PostgresStore;

let dir = '';
let key: RecordSigningKey;
let pgdb: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-rec-'));
  key = await loadOrCreateRecordSigningKey(path.join(dir, 'keys', 'record-signing.pem'));
  pgdb = await createTestDatabase(inject('pgUrl'), 'rec');
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pgdb?.drop();
});

const stores: [string, () => Promise<AnyStore>][] = [
  ['sqlite', () => SqliteStore.open({ path: path.join(dir, `${randomBytes(4).toString('hex')}.db`) })],
  [
    'postgres',
    () => PostgresStore.open({ url: pgdb.url, schema: `r_${randomBytes(4).toString('hex')}`, poolSize: 4 }),
  ],
];

function session(): SessionRecord {
  return {
    id: `0190a1b2-${randomBytes(2).toString('hex')}-7000-8000-${randomBytes(6).toString('hex')}`,
    startedAt: new Date('2026-03-01T10:00:00.000Z'),
    subject: 'agent-7',
    groups: ['agents'],
    tokenKind: 'service',
    agent: true,
    issuer: 'gatehouse',
    clientAddress: '127.0.0.1:50000',
    clientUser: 'claude',
    application: "psql prompt_id='p-1'",
    connection: 'app',
    protocol: 'postgres',
  };
}

function statement(s: SessionRecord, seq: number, text = `select ${seq}`): StatementRecord {
  return {
    id: `${s.id}:${String(seq).padStart(8, '0')}`,
    sessionId: s.id,
    seq,
    at: new Date(s.startedAt.getTime() + seq * 100),
    via: 'simple-query',
    text,
    kind: 'select',
    categories: ['read'],
    effect: 'allow',
    ruleId: 'allow-reads',
    lineage: { source: 'comment', promptId: 'p-1', toolUseId: 'toolu_1' },
  };
}

async function lines(store: AnyStore, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of exportRecording(store, id, {
    publicKey: { spki: key.spki, fingerprint: key.keyId },
    pageSize: 3,
  }))
    out.push(l);
  return out;
}

describe.each(stores)('%s store: hash-chained events', (_name, open) => {
  let store: AnyStore;
  beforeAll(async () => {
    store = await open();
    store.setSealer(key);
  });
  afterAll(async () => {
    await store.close();
  });

  test('chains start, statements, results, appended events and end in submission order, sealed at the end', async () => {
    const committed: CommittedEvent[] = [];
    const off = store.onCommitted((evs) => committed.push(...evs));
    const s = session();
    await store.startSession(s);
    // Issued in one tick: one group commit; the chain still follows submission order.
    await Promise.all([
      store.recordStatement(statement(s, 1)),
      store.completeStatement(statement(s, 1).id, {
        durationMs: 1.5,
        rows: 2,
        sample: { columns: ['a'], rows: [['1'], [null]], truncated: false },
      }),
      store.appendEvent(s.id, {
        type: 'approval.requested',
        at: new Date('2026-03-01T10:00:01Z'),
        statementId: statement(s, 2).id,
        data: { rule: 'r', when: new Date(0) },
      }),
      store.recordStatement(statement(s, 2)),
    ]);
    await store.completeStatement(statement(s, 2).id, {
      durationMs: 0.5,
      error: { code: '42P01', message: 'no table' },
    });
    await store.endSession(s.id, new Date('2026-03-01T10:00:05.000Z'), 'client closed');
    off();

    const events = await store.getEvents(s.id);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'session.start'],
      [2, 'statement'],
      [3, 'result'],
      [4, 'approval.requested'],
      [5, 'statement'],
      [6, 'result'],
      [7, 'session.end'],
    ]);
    // Each event carries the SHA-256 of the previous event's canonical JSON.
    let prev = GENESIS_PREV;
    for (const e of events) {
      expect(e.prev).toBe(prev);
      expect(e.hash).toBe(eventHash(eventToChained(e)));
      prev = e.hash;
    }
    expect(events[0]!.data).toMatchObject({
      subject: 'agent-7',
      agent: true,
      client: { application: "psql prompt_id='p-1'" },
      context: { prompt_id: 'p-1' },
    });
    expect(events[1]!.data).toMatchObject({
      text: 'select 1',
      effect: 'allow',
      ruleId: 'allow-reads',
      lineage: { promptId: 'p-1', toolUseId: 'toolu_1' },
    });
    expect(events[2]!.data).toMatchObject({ rows: 2, sample: { columns: ['a'], rows: [['1'], [null]] } });
    expect(events[3]!.data).toEqual({ rule: 'r', when: '1970-01-01T00:00:00.000Z' });
    expect(events[5]!.data).toMatchObject({ error: { code: '42P01' } });
    // Listeners saw exactly the committed events, after their commits.
    expect(committed.filter((e) => e.session === s.id).map((e) => e.hash)).toEqual(events.map((e) => e.hash));

    const seals = await store.getSeals(s.id);
    expect(seals).toHaveLength(1);
    expect(seals[0]).toMatchObject({ seq: 7, hash: events[6]!.hash, keyId: key.keyId });
    // Statement rows carry the lineage too (for listing and search).
    const got = await store.getSession(s.id);
    expect(got?.statements[0]?.lineage).toEqual({ source: 'comment', promptId: 'p-1', toolUseId: 'toolu_1' });

    const report = await verifyRecording(await lines(store, s.id));
    expect(report).toMatchObject({
      intact: true,
      signature: 'signed',
      events: 7,
      signedThrough: 7,
      ended: true,
      key: { source: 'export' },
    });
  });

  test('an event appended after the end is chained and sealed again', async () => {
    const s = session();
    await store.startSession(s);
    await store.endSession(s.id, new Date(), 'client closed');
    await store.appendEvent(s.id, { type: 'approval.withdrawn', at: new Date(), data: { by: 'client' } });
    const seals = await store.getSeals(s.id);
    expect(seals.map((x) => x.seq)).toEqual([2, 3]);
    expect(await verifyRecording(await lines(store, s.id))).toMatchObject({
      intact: true,
      signature: 'signed',
      lastSeq: 3,
    });
  });

  test('appending to a session that does not exist is refused', async () => {
    await expect(
      store.appendEvent('no-such-session', { type: 'x', at: new Date(), data: {} }),
    ).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
  });

  test('a session that never ended verifies as intact but unsigned', async () => {
    const s = session();
    await store.startSession(s);
    await store.recordStatement(statement(s, 1));
    const report = await verifyRecording(await lines(store, s.id));
    expect(report).toMatchObject({ intact: true, signature: 'unsigned', ended: false, lastSeq: 2 });
  });

  test('a new store instance (a restart) continues an existing chain from the stored tail', async () => {
    const s = session();
    await store.startSession(s);
    await store.recordStatement(statement(s, 1));
    // SQLite: a restarted gateway reads what the old process folded, or folds the journal it left
    // (src/store/record-journal.test.ts kills one); this one stays alive, so it folds first.
    if (store instanceof SqliteStore) await store.foldStaged();
    const again = await (store instanceof SqliteStore
      ? SqliteStore.open({ path: store.getDatabase().name })
      : Promise.resolve(store));
    try {
      again.setSealer(key);
      await again.appendEvent(s.id, { type: 'approval.expired', at: new Date(), data: {} });
      const events = await again.getEvents(s.id);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(events[2]!.prev).toBe(events[1]!.hash);
    } finally {
      if (again !== store) await again.close();
    }
  });
});

describe('verify names what changed', () => {
  let store: SqliteStore;
  let exported: string[];
  let sessionId: string;

  beforeAll(async () => {
    store = await SqliteStore.open({ path: path.join(dir, 'tamper.db') });
    store.setSealer(key);
    const s = session();
    sessionId = s.id;
    await store.startSession(s);
    for (let i = 1; i <= 4; i++) {
      await store.recordStatement(statement(s, i, `select '${'x'.repeat(i)}' as v`));
      await store.completeStatement(statement(s, i).id, {
        durationMs: i,
        rows: 1,
        sample: { columns: ['v'], rows: [['x'.repeat(i)]], truncated: false },
      });
    }
    await store.endSession(s.id, new Date('2026-03-01T10:01:00Z'), 'client closed');
    exported = await lines(store, s.id);
  });

  afterAll(async () => {
    await store.close();
  });

  test('the untouched export is intact and signed; with another key it is not', async () => {
    expect(await verifyRecording(exported)).toMatchObject({ intact: true, signature: 'signed', events: 10 });
    const other = generateKeyPairSync('ed25519').publicKey;
    const r = await verifyRecording(exported, { publicKey: other });
    expect(r.intact).toBe(false);
    expect(r.problem?.message).toMatch(/made with key/);
  });

  test('changing one character of a statement names that event', async () => {
    const i = exported.findIndex((l) => l.includes(`select 'xxx' as v`));
    const changed = [...exported];
    changed[i] = changed[i]!.replace(`select 'xxx' as v`, `select 'xxy' as v`);
    const r = await verifyRecording(changed);
    expect(r.intact).toBe(false);
    const seq = (JSON.parse(exported[i]!) as { event: { seq: number } }).event.seq;
    expect(r.problem).toEqual({
      line: i + 1,
      seq,
      message: `event ${seq} was changed: its content does not match its hash`,
    });
  });

  test('removing an event names the gap', async () => {
    const changed = exported.filter((_, k) => k !== 3);
    const r = await verifyRecording(changed);
    expect(r.problem?.line).toBe(4);
    expect(r.problem?.message).toMatch(/missing/);
  });

  test('every single-byte change after the header fails verification and names the line it is on', async () => {
    const text = exported.join('\n') + '\n';
    const bytes = Buffer.from(text, 'utf8');
    const headerEnd = bytes.indexOf(0x0a);
    const lineOf = (pos: number) => bytes.subarray(0, pos).filter((b) => b === 0x0a).length + 1;
    // Every byte position of every line after the header, with a deterministic replacement byte.
    const positions: number[] = [];
    for (let p = headerEnd + 1; p < bytes.length - 1; p += 7) positions.push(p);
    for (const p of positions) {
      const changed = Buffer.from(bytes);
      changed[p] = changed[p] === 0x41 ? 0x42 : 0x41; // 'A' or 'B'
      const r = await verifyRecording(
        changed
          .toString('utf8')
          .split('\n')
          .filter((l, k, a) => k < a.length - 1 || l !== ''),
      );
      expect(r.intact, `byte ${p}`).toBe(false);
      expect(r.problem?.line, `byte ${p}`).toBe(lineOf(p));
    }
    expect(positions.length).toBeGreaterThan(200);
  });

  test('the export is canonical JSON line by line and starts with the header and public key', () => {
    for (const l of exported) expect(canonicalJson(JSON.parse(l))).toBe(l);
    expect(JSON.parse(exported[0]!)).toMatchObject({
      record: 'header',
      session: sessionId,
      publicKey: { fingerprint: key.keyId },
    });
  });
});

describe('two replicas sharing a PostgreSQL store', () => {
  test('an event appended by the other replica is chained in; the owner re-reads its tail and goes on', async () => {
    const schema = `r_${randomBytes(4).toString('hex')}`;
    const a = await PostgresStore.open({ url: pgdb.url, schema, poolSize: 4 });
    const b = await PostgresStore.open({ url: pgdb.url, schema, poolSize: 4 });
    try {
      a.setSealer(key);
      b.setSealer(key);
      const s = session();
      await a.startSession(s);
      await a.recordStatement(statement(s, 1));
      // Replica B (where an approver clicked) appends to A's live session.
      await b.appendEvent(s.id, {
        type: 'approval.approved',
        at: new Date(),
        statementId: statement(s, 2).id,
        data: { by: 'bob' },
      });
      // A's cached tail is stale: its next write conflicts on (session_id, seq), re-reads, succeeds.
      await a.recordStatement(statement(s, 2));
      await a.endSession(s.id, new Date(), 'client closed');
      const events = await a.getEvents(s.id);
      expect(events.map((e) => e.type)).toEqual([
        'session.start',
        'statement',
        'approval.approved',
        'statement',
        'session.end',
      ]);
      expect(await verifyRecording(await lines(a, s.id))).toMatchObject({
        intact: true,
        signature: 'signed',
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
