import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { CommittedEvent } from '../store/event-chain.js';
import { SiemExporter } from './siem-exporter.js';
import { WebhookSink } from './siem-sinks.js';

function events(n: number, session = 's1', from = 1): CommittedEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    session,
    seq: from + i,
    type: 'statement',
    at: new Date(1_000 + i),
    data: { text: `select ${from + i}` },
    prev: 'p',
    hash: `h${from + i}`,
  }));
}

/** A real HTTP endpoint whose answers the test scripts. */
async function endpoint(answer: (n: number) => number | Promise<number>) {
  const bodies: string[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        const status = await answer(++n);
        if (status < 300) bodies.push(body);
        res.writeHead(status).end();
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siem?token=hidden`;
  return { url, bodies, close: () => new Promise<void>((r) => server.close(() => r())), server };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

describe('SiemExporter with a webhook', () => {
  test('batches, retries 5xx with backoff and delivers every line in order', async () => {
    const ep = await endpoint((n) => (n <= 2 ? 503 : 200));
    cleanup.push(ep.close);
    const x = new SiemExporter({
      sink: new WebhookSink({ url: ep.url, headers: { authorization: 'Bearer s' } }),
      batch: 3,
      initialBackoffMs: 10,
    });
    x.offer(events(10));
    await x.flushed();
    const lines = ep.bodies
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; event: { seq: number }; hash: string });
    expect(lines.map((l) => l.event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines[0]).toMatchObject({ record: 'event', hash: 'h1' });
    expect(ep.bodies[0]!.split('\n').filter(Boolean)).toHaveLength(3);
    expect(x.stats()).toMatchObject({ sent: 10, dropped: 0, failedSends: 2, queued: 0 });
    expect(x.name).toBe(`webhook:${new URL(ep.url).origin}/siem`);
    await x.close();
  });

  test('a full queue drops new events, counts them per session, and never blocks offer()', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const ep = await endpoint(async () => {
      await held;
      return 200;
    });
    cleanup.push(ep.close);
    const reports: [string, Map<string, number>][] = [];
    const x = new SiemExporter({
      sink: new WebhookSink({ url: ep.url }),
      batch: 2,
      maxQueue: 5,
      dropReportMs: 0,
      onDrops: (name, drops) => reports.push([name, new Map(drops)]),
    });
    const t0 = performance.now();
    x.offer(events(12, 'a'));
    x.offer([...events(3, 'b'), { ...events(1, 'b', 99)[0]!, type: 'siem.dropped' }]);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(x.stats()).toMatchObject({ queued: 5, dropped: 11 });
    x.reportDrops();
    expect(reports).toEqual([
      [
        x.name,
        new Map([
          ['a', 7],
          ['b', 3],
        ]),
      ],
    ]);
    release();
    await x.flushed();
    expect(x.stats()).toMatchObject({ queued: 0, sent: 5, dropped: 11 });
    await x.close();
  });

  test('a 4xx other than 408/429 drops the batch instead of retrying it forever', async () => {
    const ep = await endpoint((n) => (n === 1 ? 400 : 200));
    cleanup.push(ep.close);
    const x = new SiemExporter({ sink: new WebhookSink({ url: ep.url }), batch: 2, initialBackoffMs: 10 });
    x.offer(events(4));
    await x.flushed();
    expect(x.stats()).toMatchObject({ sent: 2, dropped: 2, failedSends: 1 });
    await x.close();
  });
});
