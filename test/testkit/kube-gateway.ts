// Starts a real Gatehouse in-process with one `kubernetes` connection in front of the fake API server,
// writes a kubeconfig the way `gatehouse kubeconfig` does (exec plugin = this checkout's
// `gatehouse kube credentials`), and runs real kubectl against it.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildKubeconfig } from '../../src/cli/kube-command.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { run, type RunResult } from './commands.js';
import { memoryLogger } from './gateway.js';
import { TestApprover, type Principal } from './http-gateway.js';
import { makeLeaf, makeTestCa, type FakeKubeApi } from './kube-api.js';

export interface KubeTestGateway {
  readonly gateway: Gateway;
  readonly dir: string;
  readonly logs: string[];
  readonly approver: TestApprover;
  readonly kubeconfig: string;
  readonly server: string;
  token(p?: Principal): Promise<string>;
  /** Runs kubectl with this token (GATEHOUSE_TOKEN for the exec plugin). */
  kubectl(
    token: string,
    args: string[],
    opts?: {
      timeoutMs?: number;
      onSpawn?: (p: ChildProcess) => void;
      env?: NodeJS.ProcessEnv;
      /** Written to kubectl's stdin (then closed). */
      input?: string;
    },
  ): Promise<RunResult>;
  /**
   * Runs kubectl with this token and returns its stderr, for a request that must be refused: fails at
   * once when kubectl succeeded, or when the request was held for approval instead (denied first, so
   * nothing is left waiting).
   */
  refusedKubectl(token: string, args: string[]): Promise<string>;
  /**
   * send() for a request that must be answered without being held: its answer, or an error naming what
   * the request was held as (denied first, so nothing is left waiting).
   */
  refusedSend(
    token: string,
    method: string,
    target: string,
    body?: string | Buffer,
    type?: string,
  ): Promise<{ status: number; body: string }>;
  /**
   * One raw request to the listener with this token (a body kubectl would not send, a patch type of
   * the caller's choice), trusting the listener's CA: the status and the body as text.
   */
  send(
    token: string,
    method: string,
    target: string,
    body?: string | Buffer,
    type?: string,
  ): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export async function startKubeTestGateway(options: {
  readonly api: FakeKubeApi;
  readonly policies: PolicyConfig[];
  readonly connection?: string;
  readonly extra?: Record<string, unknown>;
  /** The upstream credential (default: the fake API server's token, from a file). */
  readonly auth?: Record<string, unknown>;
  /** Files to write into the gateway's directory first (name → content). */
  readonly files?: Record<string, string>;
  /** More settings of the connection (clientLimits, holdTimeout…), over the defaults here. */
  readonly connectionExtra?: Record<string, unknown>;
  /** Use the gateway's own approvals service (`approvals:` in `extra`) instead of the test approver. */
  readonly realApprovals?: boolean;
}): Promise<KubeTestGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-kube-'));
  const ca = await makeTestCa('Gatehouse Listener CA');
  const leaf = await makeLeaf(ca, 'gatehouse');
  writeFileSync(path.join(dir, 'listener.crt'), leaf.cert);
  writeFileSync(path.join(dir, 'listener.key'), leaf.private, { mode: 0o600 });
  writeFileSync(path.join(dir, 'listener-ca.crt'), ca.cert);
  writeFileSync(path.join(dir, 'cluster-ca.crt'), options.api.caPem);
  writeFileSync(path.join(dir, 'cluster-token'), `${options.api.token}\n`, { mode: 0o600 });
  for (const [name, content] of Object.entries(options.files ?? {}))
    writeFileSync(path.join(dir, name), content, { mode: 0o600 });
  const connection = options.connection ?? 'prod-k8s';
  const config = {
    dataDir: '.',
    log: { level: 'debug' },
    connections: {
      [connection]: {
        protocol: 'kubernetes',
        listen: '127.0.0.1:0',
        listenTls: { cert: 'listener.crt', key: 'listener.key' },
        upstream: { server: options.api.url, ca: 'cluster-ca.crt' },
        auth: options.auth ?? { type: 'token', token: { file: 'cluster-token' } },
        holdTimeout: '20s',
        ...options.connectionExtra,
      },
    },
    policies: options.policies,
    ...options.extra,
  };
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(file, stringify(config));
  const logs: string[] = [];
  const approver = new TestApprover();
  const gateway = await startGateway(await loadConfig(file), {
    logger: memoryLogger(logs),
    ...(options.realApprovals ? {} : { approver }),
  });
  const port = gateway.kubernetesConnections[connection]!.port;
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    buildKubeconfig({
      connection,
      server,
      caPem: ca.cert,
      execCommand: [process.execPath, path.join(REPO_ROOT, 'bin', 'gatehouse.js')],
      namespace: 'default',
    }),
  );
  const g: KubeTestGateway = {
    gateway,
    dir,
    logs,
    approver,
    kubeconfig,
    server,
    async token(p: Principal = {}) {
      const issued = await gateway.identity.issuer!.issue({
        subject: p.subject ?? 'claude',
        groups: p.groups ?? [],
        agent: p.agent ?? true,
        ttlMs: p.ttlMs ?? 3_600_000,
      });
      return issued.token;
    },
    async refusedKubectl(token, args) {
      const r = await approver.heldOrAnswered(() => g.kubectl(token, args));
      if (r.held) {
        const { kind, categories } = r.held.action.describe;
        throw new Error(`held for approval instead of refused: ${kind} ${JSON.stringify(categories)}`);
      }
      if (r.answer.code === 0) throw new Error(`kubectl ${args.join(' ')} succeeded: ${r.answer.stdout}`);
      return r.answer.stderr;
    },
    async refusedSend(token, method, target, body, type) {
      const r = await approver.heldOrAnswered(() => g.send(token, method, target, body, type));
      if (r.held) {
        const { kind, categories } = r.held.action.describe;
        throw new Error(
          `${method} ${target} held for approval instead of refused: ${kind} ${JSON.stringify(categories)}`,
        );
      }
      return r.answer;
    },
    kubectl(token, args, opts = {}) {
      return run('kubectl', ['--kubeconfig', kubeconfig, ...args], {
        env: {
          GATEHOUSE_TOKEN: token,
          HOME: dir,
          KUBECONFIG: '',
          KUBECACHEDIR: path.join(dir, 'kubecache'),
          ...opts.env,
        },
        timeoutMs: opts.timeoutMs ?? 60_000,
        ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
        ...(opts.input !== undefined ? { input: opts.input } : {}),
      });
    },
    send(token, method, target, body, type) {
      return new Promise((resolve, reject) => {
        const req = https.request(
          `${server}${target}`,
          {
            method,
            ca: ca.cert,
            headers: { authorization: `Bearer ${token}`, ...(type ? { 'content-type': type } : {}) },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.once('error', reject);
        req.end(body);
      });
    },
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return g;
}
