// Prints where a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROF=<dir> with the benchmarks)
// spent its time: the top functions by self time, and self time per source file or package.
// Run: npx tsx bench/cpu-profile-top.ts <file.cpuprofile | dir> [top=25]

import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** `node_modules/<pkg>` for dependencies, the path under the repository for our own files. */
function sourceOf(url: string): string {
  if (url === '') return '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return url;
  const m = /\/(src|dist|bench|test)\/(.*)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

export function newestProfile(p: string): string {
  if (!statSync(p).isDirectory()) return p;
  const files = readdirSync(p)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(p, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${p}`);
  return files[0]!;
}

export function summarise(file: string, top = 25): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const total = prof.endTime - prof.startTime;
  let idle = 0;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${functionName || '(anonymous)'}  ${sourceOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const src = sourceOf(url);
    files.set(src, (files.get(src) ?? 0) + us);
  }
  const busy = total - idle;
  // Total (inclusive) time: a sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totalFns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (url === '' && functionName === '(root)') continue;
      const key = `${functionName || '(anonymous)'}  ${sourceOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      totalFns.set(key, (totalFns.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `${path.basename(file)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%); shares below are of busy time`,
    '',
    'self time by function:',
    ...[...fns.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'total time (self and callees) by function, our own code:',
    ...[...totalFns.entries()]
      .filter(([k]) => / (src|dist)\//.test(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top * 2)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
    '',
    'self time by file or package:',
    ...[...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: npx tsx bench/cpu-profile-top.ts <file.cpuprofile | dir> [top]');
    process.exit(2);
  }
  console.log(summarise(newestProfile(target), Number(process.argv[3] ?? 25)));
}
