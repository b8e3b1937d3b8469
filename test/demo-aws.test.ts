// docs/aws.md's five-minute walkthrough, run as written with the real AWS CLI against `gatehouse
// demo`: its local S3-compatible server, the agent's and alice's Gatehouse key pairs from demo.env,
// masking, a refused DeleteBucket, a held upload approved with the CLI, and the records.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, run } from './testkit/commands.js';

const BIN = path.resolve('bin/gatehouse.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-aws-'));
const cwd = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-aws-cwd-'));
let child: ChildProcess | undefined;

/** The walkthrough's paragraphs (blank-line separated), from the first sh block after the marker. */
function walkthrough(): string[][] {
  const doc = readFileSync('docs/aws.md', 'utf8');
  const at = doc.indexOf('run, paragraph by paragraph, by test/demo-aws.test.ts');
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(at))![1]!;
  return block
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.split('\n'));
}

// Bash functions standing in for what a reader has: `npx gatehouse` (this checkout's bin), and the
// request id they would copy from `approvals list` (polled, since the upload starts it).
const PRELUDE = `
npx() { if [ "$1" = gatehouse ]; then shift; "${process.execPath}" "${BIN}" "$@"; else command npx "$@"; fi; }
pending_id() {
  for _ in $(seq 1 200); do
    id=$(GATEHOUSE_TOKEN=$GATEHOUSE_ADMIN_TOKEN npx gatehouse approvals list --json |
      "${process.execPath}" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);process.stdout.write(r[0]?r[0].id:"")})')
    if [ -n "$id" ]; then echo "$id"; return; fi
    sleep 0.1
  done
}
`;

beforeAll(async () => {
  child = spawn(
    process.execPath,
    [BIN, 'demo', '--data-dir', dir, '--pg-port', '0', '--http-port', '0', '--aws-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('Press Ctrl-C')) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
    child!.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`demo exited early (${code}): ${err}${out}`));
    });
  });
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child!.on('exit', r));
  }
  const pidFile = path.join(dir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

describe.runIf(hasCommand('aws'))('docs/aws.md: five minutes with the demo and the AWS CLI', () => {
  it('runs as written', { timeout: 180_000 }, async () => {
    const [setup, ...steps] = walkthrough();
    const envFile = path.join(dir, 'demo.env');
    const head = setup!.join('\n').replace('.gatehouse/demo/demo.env', envFile);
    const outputs: string[] = [];
    for (const step of steps) {
      // A reader lists pending requests once the upload has reached the gateway; under load the CLI
      // can take seconds to start, so wait for the request before listing.
      const text = step
        .join('\n')
        .replace('<id>', '"$(pending_id)"')
        .replace(/^(GATEHOUSE_TOKEN=\S+ npx gatehouse approvals list)$/m, 'pending_id >/dev/null\n$1');
      const script = `${PRELUDE}\n${head}\n${text}\n`;
      const r = await run('bash', ['-c', script], {
        timeoutMs: 150_000,
        env: { HOME: cwd, PWD: cwd, AWS_EC2_METADATA_DISABLED: 'true' },
        cwd,
      });
      outputs.push(`${r.stdout}\n${r.stderr}`);
    }
    const [ls, agentRead, adminRead, del, held, records] = outputs as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    for (const key of ['reports/orders-2026-q1.csv', 'exports/customers.csv', 'config/app.env'])
      expect(ls, ls).toContain(key);
    expect(agentRead, agentRead).toContain('Ada Lovelace');
    expect(agentRead).not.toContain('ada@example.com');
    expect(agentRead).not.toContain('4111 1111 1111 1111');
    expect(adminRead, adminRead).toContain('ada@example.com');
    expect(adminRead).toContain('4111 1111 1111 1111');
    expect(del, del).toContain('AccessDenied');
    expect(del).toContain('aws-agents-no-destructive-delete');
    expect(held, held).toMatch(/PUT \/demo-shop\/notes\/note\.txt/);
    expect(held).toMatch(/is approved \(by alice/);
    expect(held).toContain('note.txt');
    expect(records, records).toContain('claude-demo');
    expect(records).toContain('aws');
  });
});
