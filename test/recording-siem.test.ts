// SIEM export from a running gateway: every committed event is appended to a JSON Lines file, exactly
// as the store holds it; a webhook that cannot be reached never slows statements down, and the
// events it had to drop are counted and recorded in the affected session (`siem.dropped`).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-siem-'));
const file = path.join(tmp, 'siem', 'events.jsonl');

beforeAll(async () => {
  const deadPort = await freePort();
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      recording: {
        siem: [
          { kind: 'file', path: file },
          {
            kind: 'webhook',
            url: `http://127.0.0.1:${deadPort}/ingest`,
            headers: { Authorization: 'Bearer x' },
            maxQueue: 3,
            batch: 2,
          },
        ],
      },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('events go to the file as JSON Lines; webhook drops are counted and recorded in the session', async () => {
  const c = gw.client(await gw.token({ subject: 'siem-user' }));
  await c.connect();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) await c.query(`select ${i}`);
  const elapsed = performance.now() - t0;
  await c.end();
  const [s] = await gw.gateway.store.listSessions({ subject: 'siem-user', limit: 1 });
  let events = await gw.gateway.store.getEvents(s!.id);
  await until(() => existsSync(file) && readFileSync(file, 'utf8').includes(`"seq":${events.length},`));

  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { record: string; event: { session: string; seq: number }; hash: string });
  const mine = lines.filter((l) => l.event.session === s!.id);
  expect(mine.map((l) => [l.event.seq, l.hash])).toEqual(events.map((e) => [e.seq, e.hash]));

  const status = gw.gateway.recording.status();
  const webhook = status.siem.find((x) => x.sink.startsWith('webhook:'))!;
  expect(webhook.sink).toBe(`webhook:http://127.0.0.1:${new URL(webhook.sink.slice(8)).port}/ingest`);
  expect(webhook.dropped).toBeGreaterThan(0);
  expect(webhook.queued).toBeLessThanOrEqual(3);
  // A dead SIEM does not slow statements: ten round trips took far less than one retry backoff cycle.
  expect(elapsed).toBeLessThan(5000);

  gw.gateway.recording.reportSiemDrops();
  for (
    let i = 0;
    i < 50 && !(await gw.gateway.store.getEvents(s!.id)).some((e) => e.type === 'siem.dropped');
    i++
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  events = await gw.gateway.store.getEvents(s!.id);
  const dropped = events.find((e) => e.type === 'siem.dropped');
  expect(dropped?.data).toMatchObject({ exporter: webhook.sink });
  expect(Number(dropped?.data.dropped)).toBeGreaterThan(0);
  // The session had ended: the late event is chained after its end and the session sealed again.
  const seals = await gw.gateway.store.getSeals(s!.id);
  expect(seals[seals.length - 1]!.seq).toBe(events[events.length - 1]!.seq);
});
