// The PostgreSQL listener records what it refuses itself, before any statement is decided, with the
// real `pg` driver through a real gateway: a prepared statement past the session's limit (54000) is a
// `refusal` event with its rule, SQLSTATE and message (never the statement's text), and the record
// of the session, once ended, still verifies and is signed. A client that makes thousands of such
// refusals gets every answer, and its record holds the first 8 one by one and the rest as one counted
// event, recorded before the session's end (docs/security.md, class 12).

import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { exportRecording } from '../src/recording/recording-export.js';
import { verifyRecording } from '../src/recording/recording-verify.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;

async function endedEvents(subject: string) {
  const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
  let events = await gw.gateway.store.getEvents(s!.id);
  const end = Date.now() + 10_000;
  while (!events.some((e) => e.type === 'session.end') && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    events = await gw.gateway.store.getEvents(s!.id);
  }
  return { id: s!.id, events };
}

async function verified(id: string) {
  const key = gw.gateway.recording.key;
  const lines: string[] = [];
  for await (const l of exportRecording(gw.gateway.store, id, {
    publicKey: { spki: key.spki, fingerprint: key.keyId },
  }))
    lines.push(l);
  return verifyRecording(lines);
}

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: { maxPreparedStatements: 2 },
  });
});
afterAll(async () => {
  await gw?.stop();
});

describe('PostgreSQL listener: its own refusals are in the record', () => {
  test('a prepared statement past maxPreparedStatements is refused (54000) and recorded', async () => {
    const c = gw.client(await gw.token({ subject: 'pg-refused', groups: ['testers'], agent: true }));
    await c.connect();
    await c.query({ name: 'first', text: 'select 1 as n' });
    await c.query({ name: 'second', text: 'select 2 as n' });
    const err = await c
      .query({ name: 'third', text: "select 'secret-ish text' as n" })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '54000' });
    // The session goes on.
    expect((await c.query('select 3 as n')).rows).toEqual([{ n: 3 }]);
    await c.end();

    const [s] = await gw.gateway.store.listSessions({ subject: 'pg-refused', limit: 1 });
    let events = await gw.gateway.store.getEvents(s!.id);
    const end = Date.now() + 10_000;
    while (!events.some((e) => e.type === 'session.end') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      events = await gw.gateway.store.getEvents(s!.id);
    }
    const refusals = events.filter((e) => e.type === 'refusal');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.data).toMatchObject({
      request: 'parse',
      ruleId: 'pg-session-objects-limit',
      code: '54000',
    });
    expect(String(refusals[0]!.data['message'])).toContain('too many prepared statements');
    expect(JSON.stringify(refusals[0]!.data)).not.toContain('secret-ish');

    const key = gw.gateway.recording.key;
    const lines: string[] = [];
    for await (const l of exportRecording(gw.gateway.store, s!.id, {
      publicKey: { spki: key.spki, fingerprint: key.keyId },
    }))
      lines.push(l);
    expect(await verifyRecording(lines)).toMatchObject({ intact: true, signature: 'signed' });
  });

  test('thousands of refusals: every one answered, 8 recorded one by one and the rest counted', async () => {
    const subject = 'pg-refused-flood';
    const c = gw.client(await gw.token({ subject, groups: ['testers'], agent: true }));
    await c.connect();
    await c.query({ name: 'first', text: 'select 1 as n' });
    await c.query({ name: 'second', text: 'select 2 as n' });
    const total = 3000;
    const errors: unknown[] = [];
    for (let i = 0; i < total; i++)
      errors.push(await c.query({ name: `past-${i}`, text: 'select 3 as n' }).catch((e: unknown) => e));
    expect(errors.filter((e) => (e as { code?: string } | undefined)?.code === '54000')).toHaveLength(total);
    expect((await c.query('select 4 as n')).rows).toEqual([{ n: 4 }]);
    await c.end();

    const { id, events } = await endedEvents(subject);
    const refusals = events.filter((e) => e.type === 'refusal');
    const single = refusals.filter((e) => e.data['request'] === 'parse');
    const counted = refusals.filter((e) => e.data['request'] === 'repeated');
    expect(single).toHaveLength(8);
    expect(counted).toHaveLength(1);
    expect(counted[0]!.data).toMatchObject({
      ruleId: 'pg-session-objects-limit',
      code: '54000',
      count: total - 8,
    });
    expect(refusals).toHaveLength(9);
    // The count is recorded before the session's end.
    const endIndex = events.findIndex((e) => e.type === 'session.end');
    expect(events.indexOf(counted[0]!)).toBeLessThan(endIndex);
    expect(await verified(id)).toMatchObject({ intact: true, signature: 'signed' });
  });
});
