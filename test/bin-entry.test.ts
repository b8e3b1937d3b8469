// bin/gatehouse.js runs compiled dist/ only when `npm run build` made it and (in a git checkout) no
// source changed since; otherwise the TypeScript sources. A stale dist/ must never run: it would be
// old code with old enforcement. Checked on a copy of the entry point with marker modules.

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
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

  // Run as a command, the entry point is a shell script first: it starts Node with a larger young
  // generation (docs/performance.md, "A larger young generation"), and leaves a size given in
  // NODE_OPTIONS alone. A `node` earlier in PATH notes the arguments it was started with.
  function runAsCommand(env: NodeJS.ProcessEnv = {}): { stdout: string; nodeArgs: string[] } {
    const dir = tree({ built: hourAgo });
    chmodSync(path.join(dir, 'bin', 'gatehouse.js'), 0o755);
    const fake = path.join(dir, 'fake-node');
    mkdirSync(fake);
    const noted = path.join(dir, 'node-args');
    writeFileSync(
      path.join(fake, 'node'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${noted}'\nexec '${process.execPath}' "$@"\n`,
    );
    chmodSync(path.join(fake, 'node'), 0o755);
    const r = spawnSync(path.join(dir, 'bin', 'gatehouse.js'), ['--version', 'with "quotes" and $HOME'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GATEHOUSE_FROM_SOURCE: '',
        NODE_OPTIONS: '',
        ...env,
        PATH: `${fake}:${process.env.PATH}`,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return { stdout: r.stdout, nodeArgs: readFileSync(noted, 'utf8').split('\n').slice(0, -1) };
  }

  it('run as a command, starts Node with a 32 MiB semi-space and passes every argument as it was given', () => {
    const { stdout, nodeArgs } = runAsCommand();
    expect(stdout).toBe('dist');
    expect(nodeArgs[0]).toBe('--max-semi-space-size=32');
    expect(nodeArgs.slice(2)).toEqual(['--version', 'with "quotes" and $HOME']);
  });

  it('run as a command, leaves a semi-space size given in NODE_OPTIONS as it is', () => {
    const { stdout, nodeArgs } = runAsCommand({ NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(stdout).toBe('dist');
    expect(nodeArgs.some((a) => a.includes('semi-space'))).toBe(false);
    expect(nodeArgs.slice(1)).toEqual(['--version', 'with "quotes" and $HOME']);
  });
});
