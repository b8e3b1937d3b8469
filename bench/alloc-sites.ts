// Where a running gateway allocates: attaches to its inspector, samples every allocation (those the
// collector has already freed included) for a few seconds, and prints the functions that allocated
// most, by bytes. For a gateway under a load you drive yourself (docs/performance.md, "A larger young
// generation, and fewer allocations per statement"):
//
//   BENCH_NODE_FLAGS=--inspect=127.0.0.1:9229 HOLD_ENV_FILE=/tmp/h.env npx tsx bench/hold.ts
//   env $(cat /tmp/h.env) pgbench -n -S -c 8 -j 2 -T 20 &
//   npx tsx bench/alloc-sites.ts 9229 [seconds=6] [top=40]
//
// Bytes per transaction: the total printed over the transactions pgbench ran in those seconds.

import WebSocket from 'ws';

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

const port = Number(process.argv[2] ?? 9229);
const seconds = Number(process.argv[3] ?? 6);
const top = Number(process.argv[4] ?? 40);

const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
  webSocketDebuggerUrl: string;
}[];
const first = targets[0];
if (first === undefined) throw new Error(`no inspector target on port ${port}`);
const ws = new WebSocket(first.webSocketDebuggerUrl);
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
let nextId = 0;
const waiting = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
ws.on('message', (data: Buffer) => {
  const m = JSON.parse(data.toString('utf8')) as {
    id?: number;
    result?: unknown;
    error?: { message: string };
  };
  if (m.id !== undefined) waiting.get(m.id)?.(m);
});
async function send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  const id = ++nextId;
  const answer = await new Promise<{ result?: unknown; error?: { message: string } }>((resolve) => {
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  waiting.delete(id);
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}

await send('HeapProfiler.enable');
await send('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await new Promise((r) => setTimeout(r, seconds * 1000));
const { profile } = (await send('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
ws.close();

const bySite = new Map<string, number>();
let total = 0;
const stack: SamplingNode[] = [profile.head];
while (stack.length > 0) {
  const n = stack.pop()!;
  const f = n.callFrame;
  const site = `${f.functionName || '(anonymous)'}  ${f.url.replace(/.*\/(src|dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
  bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
  total += n.selfSize;
  stack.push(...n.children);
}
console.log(`${(total / 1e6).toFixed(1)} MB allocated in ${seconds} s (sampled every 4 KiB)`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(
    `${((100 * bytes) / total).toFixed(1).padStart(6)} %  ${(bytes / 1e6).toFixed(1).padStart(7)} MB  ${site}`,
  );
