// Starts a real Gatehouse in-process with `http` connections (generic APIs and AWS) and no PostgreSQL:
// config written to a temp dir, captured logs, service tokens and Gatehouse AWS keys for test principals,
// and an approver the test decides itself.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import type { ApprovalContext, ApprovalOutcome, Approver } from '../../src/core/ports.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { memoryLogger } from './gateway.js';

export interface Principal {
  readonly subject?: string;
  readonly groups?: string[];
  readonly agent?: boolean;
  readonly ttlMs?: number;
}

export interface HttpTestGateway {
  readonly gateway: Gateway;
  readonly dir: string;
  readonly logs: string[];
  readonly approver: TestApprover;
  /** http://127.0.0.1:<port> of a connection's listener. */
  endpoint(connection: string): string;
  token(p?: Principal): Promise<string>;
  /** A Gatehouse AWS key pair (what `gatehouse token issue --aws` prints). */
  awsKey(p?: Principal): Promise<{ accessKeyId: string; secretAccessKey: string; tokenId: string }>;
  stop(): Promise<void>;
}

interface PendingApproval {
  readonly ctx: ApprovalContext;
  approve(): void;
  deny(message?: string): void;
}

/** Holds every review until the test approves or denies it. */
export class TestApprover implements Approver {
  private readonly queue: PendingApproval[] = [];
  private readonly waiters: ((p: PendingApproval) => void)[] = [];
  readonly seen: ApprovalContext[] = [];

  request(ctx: ApprovalContext): Promise<ApprovalOutcome> {
    this.seen.push(ctx);
    return new Promise<ApprovalOutcome>((resolve) => {
      const id = `req-${this.seen.length}`;
      // Tells the engine, like the approval service, that the request is held.
      ctx.onHeld?.({
        requestId: id,
        url: `http://approvals.test/approvals/${id}`,
        mode: ctx.decision.mode,
        approvalRule: ctx.decision.approvalRule ?? 'default',
        policyRule: ctx.decision.ruleId,
        approverGroups: ['test-approvers'],
        waitMs: 60_000,
        expiresAt: new Date(Date.now() + 60_000),
        message: `held as ${id}`,
      });
      const p: PendingApproval = {
        ctx,
        approve: () => resolve({ approved: true, requestId: id, approvedBy: ['test-approver'] }),
        deny: (message = 'denied by the test approver') =>
          resolve({ approved: false, requestId: id, message: `${ctx.decision.message} ${message}` }),
      };
      ctx.signal.addEventListener(
        'abort',
        () =>
          resolve({
            approved: false,
            requestId: id,
            message: `${ctx.decision.message} The request was withdrawn.`,
          }),
        { once: true },
      );
      const w = this.waiters.shift();
      if (w) w(p);
      else this.queue.push(p);
    });
  }

  /** The next review request (waits for it). */
  next(): Promise<PendingApproval> {
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Sends a request that may be held: when it is, the review request it opened is `decide`d (denied
   * unless asked) and returned as `held`; when it is answered first (refused, or not reviewed), none is
   * taken. Either way the answer is awaited.
   */
  async heldOrAnswered<T>(
    send: () => Promise<T>,
    decide: 'approve' | 'deny' = 'deny',
  ): Promise<{ answer: T; held?: ApprovalContext }> {
    const asked = this.seen.length;
    let done = false;
    let held: ApprovalContext | undefined;
    const watch = (async () => {
      while (this.seen.length === asked && !done) await new Promise((r) => setTimeout(r, 20));
      if (this.seen.length === asked) return;
      const h = await this.next();
      held = h.ctx;
      if (decide === 'approve') h.approve();
      else h.deny();
    })();
    let answer: T;
    try {
      answer = await send();
    } finally {
      done = true;
      await watch;
    }
    return held ? { answer, held } : { answer };
  }
}

/** The body a held HTTP, AWS or Kubernetes request showed the approver ('' when it showed none). */
export function shownBody(ctx: ApprovalContext): string {
  return (ctx.action as { body?: { shown: string } }).body?.shown ?? '';
}

export async function startHttpTestGateway(options: {
  readonly connections: Record<string, unknown>;
  readonly policies: PolicyConfig[];
  readonly env?: NodeJS.ProcessEnv;
  readonly extra?: Record<string, unknown>;
  /** Writes files the config refers to (CA bundles) into the config directory before start. */
  readonly beforeStart?: (dir: string) => void;
  /** Use the gateway's own approvals service (`approvals:` in `extra`) instead of the test approver. */
  readonly realApprovals?: boolean;
}): Promise<HttpTestGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-http-'));
  const config = {
    dataDir: '.',
    log: { level: 'debug' },
    connections: options.connections,
    policies: options.policies,
    ...options.extra,
  };
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(file, stringify(config));
  options.beforeStart?.(dir);
  const logs: string[] = [];
  const approver = new TestApprover();
  const gateway = await startGateway(await loadConfig(file, options.env ?? process.env), {
    logger: memoryLogger(logs),
    ...(options.realApprovals ? {} : { approver }),
    ...(options.env ? { env: options.env } : {}),
  });
  const issue = async (p: Principal = {}) =>
    gateway.identity.issuer!.issue({
      subject: p.subject ?? 'tester',
      groups: p.groups ?? [],
      agent: p.agent ?? false,
      ttlMs: p.ttlMs ?? 3_600_000,
    });
  return {
    gateway,
    dir,
    logs,
    approver,
    endpoint(connection) {
      const a = gateway.httpConnections[connection];
      if (!a) throw new Error(`no listener for ${connection}`);
      return `http://127.0.0.1:${a.port}`;
    },
    async token(p) {
      return (await issue(p)).token;
    },
    async awsKey(p) {
      const issued = await issue(p);
      return { ...gateway.identity.issuer!.awsKeyPair(issued.record.id), tokenId: issued.record.id };
    },
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
