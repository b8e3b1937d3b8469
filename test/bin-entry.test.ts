// bin/gatehouse.js runs compiled dist/ only when `npm run build` made it and (in a git checkout) no
// source changed since; otherwise the TypeScript sources. A stale dist/ must never run: it would be
// old code with old enforcement. Checked on a copy of the entry point with marker modules.

import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..');
const dirs: string[] = [];

function tree(opts: { built?: number; git?: boolean; srcMtime?: number }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bin-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(path.join(REPO, 'bin', 'gatehouse.js'), path.join(dir, 'bin', 'gatehouse.js'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  mkdirSync(path.join(dir, 'src', 'cli'), { recursive: true });
  const src = path.join(dir, 'src', 'cli', 'main.ts');
  writeFileSync(src, "export async function runCli(): Promise<void> { process.stdout.write('src'); }\n");
  if (opts.srcMtime !== undefined) utimesSync(src, opts.srcMtime / 1000, opts.srcMtime / 1000);
  mkdirSync(path.join(dir, 'dist', 'cli'), { recursive: true });
  writeFileSync(
    path.join(dir, 'dist', 'cli', 'main.js'),
    "export async function runCli() { process.stdout.write('dist'); }\n",
  );
  if (opts.built !== undefined) {
    const stamp = path.join(dir, 'dist', '.built');
    writeFileSync(stamp, '');
    utimesSync(stamp, opts.built / 1000, opts.built / 1000);
  }
  if (opts.git) mkdirSync(path.join(dir, '.git'));
  return dir;
}

function run(dir: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'gatehouse.js'), '--version'], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_FROM_SOURCE: '', ...env },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('bin/gatehouse.js', () => {
  const hourAgo = Date.now() - 3_600_000;

  it('runs the sources when there is no build', () => {
    expect(run(tree({ git: true }))).toBe('src');
  });

  it('runs dist/ when the build is newer than every source file', () => {
    expect(run(tree({ git: true, srcMtime: hourAgo, built: Date.now() }))).toBe('dist');
  });

  it('never runs a dist/ older than a source file in a git checkout', () => {
    expect(run(tree({ git: true, built: hourAgo }))).toBe('src');
  });

  it('runs dist/ of an installed package (no git checkout: sources are not edited there)', () => {
    expect(run(tree({ built: hourAgo }))).toBe('dist');
  });

  it('runs the sources when GATEHOUSE_FROM_SOURCE is set', () => {
    expect(run(tree({ srcMtime: hourAgo, built: Date.now() }), { GATEHOUSE_FROM_SOURCE: '1' })).toBe('src');
  });
});
