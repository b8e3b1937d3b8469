// The `gatehouse` command as a new user meets it: --version, a config that is not there, `config
// check` with GATEHOUSE_CONFIG, errors that name the line and the fix, and a pipe closed early.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './testkit/commands.js';

const BIN = path.resolve('bin/gatehouse.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gatehouse = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [BIN, ...args], { env: { GATEHOUSE_CONFIG: undefined, ...env } });

describe('the gatehouse command', () => {
  it('prints its version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await gatehouse(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('says where it looked for a missing config and how to point it elsewhere', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const r = await gatehouse(['sessions', 'list'], { GATEHOUSE_CONFIG: missing });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${missing}: no such config file (from $GATEHOUSE_CONFIG)`);
    expect(r.stderr).toContain('--config FILE');
    expect(r.stderr).toContain('GATEHOUSE_CONFIG');
    expect(r.stderr).not.toContain('ENOENT');
  });

  it('config check reads GATEHOUSE_CONFIG and names the line and the likely fix', async () => {
    const file = path.join(dir, 'gatehouse.yaml');
    const lines = ['# my gateway', 'dataDir: .', 'connections: {}', 'log:', '  level: info'];
    for (let i = 0; i < 35; i++) lines.push(`# note ${i}`);
    lines.push('polices: []', '');
    writeFileSync(file, lines.join('\n'));
    const r = await gatehouse(['config', 'check'], { GATEHOUSE_CONFIG: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 41, polices: unknown key "polices" — did you mean "policies"?');

    writeFileSync(file, 'dataDir: .\nconnections: {}\n');
    const ok = await gatehouse(['config', 'check'], { GATEHOUSE_CONFIG: file });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`${file}: OK`);
  });

  it('exits cleanly when its reader closes the pipe early (config schema | head -1)', async () => {
    const r = await new Promise<{ code: number | null; stderr: string; first: string }>((resolve) => {
      const p = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" config schema | head -1`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => resolve({ code, stderr: err, first: out }));
    });
    expect(r.first).toBe('{\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
