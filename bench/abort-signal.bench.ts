// What a combined abort signal costs per request: AbortSignal.any with AbortSignal.timeout (the hold
// signal every HTTP, Kubernetes and SSH action built before it was made only for held actions), and
// AbortSignal.any of two long-lived signals (the HTTP upstream call's, before upstreamSignal), whose
// registrations on a long-lived source live as long as it does. Prints µs per call and heap growth.
// Run: node --expose-gc --import tsx bench/abort-signal.bench.ts [calls=200000]

const N = Number(process.argv[2] ?? 200_000);
const heapMb = () => process.memoryUsage().heapUsed / 1e6;

function measure(name: string, make: () => unknown): void {
  globalThis.gc?.();
  const before = heapMb();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) make();
  const us = ((performance.now() - t0) * 1000) / N;
  globalThis.gc?.(); // what is still held after a full collection
  console.log(
    `${name.padEnd(44)} ${us.toFixed(2).padStart(6)} µs per call, heap +${(heapMb() - before).toFixed(0)} MB`,
  );
}

const client = new AbortController();
const session = new AbortController();
measure('AbortSignal.any([client, timeout(5 min)])', () =>
  AbortSignal.any([client.signal, AbortSignal.timeout(300_000)]),
);
measure('AbortSignal.any([client, session])', () => AbortSignal.any([client.signal, session.signal]));
measure('AbortController + two listeners, removed', () => {
  const c = new AbortController();
  const a = () => c.abort();
  client.signal.addEventListener('abort', a, { once: true });
  session.signal.addEventListener('abort', a, { once: true });
  client.signal.removeEventListener('abort', a);
  session.signal.removeEventListener('abort', a);
  return c.signal;
});
