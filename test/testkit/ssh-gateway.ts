// Starts a real Gatehouse in-process with its SSH listener and one `ssh` connection in front of a real
// sshd (testkit/sshd.ts), and runs the real OpenSSH client against it: the Gatehouse token is answered
// through SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force, as an agent's tooling does.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import type { StatementResult, StoredStatement } from '../../src/core/records.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { run, type RunResult } from './commands.js';
import { memoryLogger } from './gateway.js';
import { TestApprover, type Principal } from './http-gateway.js';
import type { TestSshd } from './sshd.js';

export interface SshTestGateway {
  readonly gateway: Gateway;
  readonly dir: string;
  readonly logs: string[];
  readonly approver: TestApprover;
  readonly port: number;
  readonly connection: string;
  readonly configFile: string;
  token(p?: Principal): Promise<string>;
  /** Runs `ssh [opts] connection@gateway command…` with this token answering the prompt. */
  ssh(
    token: string,
    args: string[],
    opts?: { input?: string; timeoutMs?: number; onSpawn?: (p: ChildProcess) => void; user?: string },
  ): Promise<RunResult>;
  /** The ssh argv (without the program) for a token file, e.g. for `script`. */
  sshArgs(args: string[], user?: string): string[];
  /** Environment for the ssh client (askpass answering with the token). */
  sshEnv(token: string): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startSshTestGateway(options: {
  readonly sshd: TestSshd;
  readonly policies: PolicyConfig[];
  readonly connection?: string;
  /** Extra fields of the connection. */
  readonly connectionExtra?: Record<string, unknown>;
  /** Extra fields of listeners.ssh. */
  readonly listener?: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
  readonly hostKeys?: string[];
  /** Use the gateway's own approvals service (`approvals:` in `extra`) instead of the test approver. */
  readonly realApprovals?: boolean;
}): Promise<SshTestGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-ssh-'));
  writeFileSync(path.join(dir, 'held-key'), options.sshd.clientKey.privateKey, { mode: 0o600 });
  // The askpass program prints the token from the environment (never from argv or a file).
  const askpass = path.join(dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$GATEHOUSE_TOKEN"\n', { mode: 0o700 });
  const connection = options.connection ?? 'prod-bastion';
  const config = {
    dataDir: '.',
    log: { level: 'debug' },
    listeners: { ssh: { address: '127.0.0.1:0', ...options.listener } },
    connections: {
      [connection]: {
        protocol: 'ssh',
        upstream: {
          host: '127.0.0.1',
          port: options.sshd.port,
          user: options.sshd.user,
          privateKey: { file: 'held-key' },
          hostKeys: options.hostKeys ?? [options.sshd.hostKey],
        },
        holdTimeout: '20s',
        env: ['LANG', 'LC_*', 'GH_ALLOWED'],
        ...options.connectionExtra,
      },
    },
    policies: options.policies,
    ...options.extra,
  };
  const configFile = path.join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, stringify(config));
  const logs: string[] = [];
  const approver = new TestApprover();
  const gateway = await startGateway(await loadConfig(configFile), {
    logger: memoryLogger(logs),
    ...(options.realApprovals ? {} : { approver }),
  });
  const port = gateway.ssh!.port;
  const sshArgs = (args: string[], user = connection): string[] => [
    '-F',
    '/dev/null',
    '-p',
    String(port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
    '-o',
    'PreferredAuthentications=keyboard-interactive,password',
    '-o',
    'PubkeyAuthentication=no',
    '-o',
    'NumberOfPasswordPrompts=1',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=20',
    ...args.slice(0, args.indexOf('--') < 0 ? 0 : args.indexOf('--')),
    `${user}@127.0.0.1`,
    ...args.slice(args.indexOf('--') + 1),
  ];
  const sshEnv = (token: string): NodeJS.ProcessEnv => ({
    GATEHOUSE_TOKEN: token,
    SSH_ASKPASS: askpass,
    SSH_ASKPASS_REQUIRE: 'force',
    DISPLAY: ':0',
    HOME: dir,
  });
  return {
    gateway,
    dir,
    logs,
    approver,
    port,
    connection,
    configFile,
    async token(p: Principal = {}) {
      const issued = await gateway.identity.issuer!.issue({
        subject: p.subject ?? 'claude',
        groups: p.groups ?? [],
        agent: p.agent ?? true,
        ttlMs: p.ttlMs ?? 3_600_000,
      });
      return issued.token;
    },
    sshArgs,
    sshEnv,
    ssh(token, args, opts = {}) {
      return run('ssh', sshArgs(args, opts.user), {
        env: sshEnv(token),
        timeoutMs: opts.timeoutMs ?? 60_000,
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
      });
    },
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A recorded statement with its result event (terminalRef included), waited for; refusals have none. */
export async function findSshStatement(
  gw: SshTestGateway,
  pred: (st: StoredStatement) => boolean,
  opts: { readonly timeoutMs?: number; readonly withResult?: boolean } = {},
): Promise<StoredStatement> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const s of await gw.gateway.store.listSessions({ limit: 1000 })) {
      const got = await gw.gateway.store.getSession(s.id);
      const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
      for (const st of got?.statements ?? []) {
        if (!pred(st)) continue;
        const result = events.find((e) => e.type === 'result' && e.statement === st.id);
        if (result) return { ...st, result: result.data as unknown as StatementResult };
        if (opts.withResult === false) return st;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no such statement was recorded');
}

export interface Interactive {
  readonly child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  type(text: string): void;
  exited: Promise<number | null>;
}

/** `ssh -tt` with piped stdio: a terminal session an agent or a person types into. */
export function interactive(gw: SshTestGateway, token: string, extraOpts: string[] = []): Interactive {
  const child = spawn('ssh', gw.sshArgs(['-tt', ...extraOpts, '--']), {
    env: { ...process.env, ...gw.sshEnv(token) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The client's stdout (the terminal) and stderr (the gateway's admission notes, written on the
  // channel's extended data) are two pipes: which one this process reads first is not fixed, so a note
  // written before the prompt can land after it in `out`. waitFor matches the terminal alone as well,
  // so a pattern anchored at the end of the screen ("$ " last) does not depend on that order.
  let out = '';
  let terminal = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    terminal += text;
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return {
    child,
    output: () => out,
    async waitFor(re, ms = 15_000) {
      const end = Date.now() + ms;
      while (!re.test(terminal) && !re.test(out)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}; output so far:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    type(text) {
      child.stdin.write(text);
    },
    exited,
  };
}
