// Adapts the approvals service (src/approvals) to the MCP tools' ApprovalDesk port: lookups through
// its repository, waits on its change signal (with a slow poll as a fallback), access requests
// through its own checks. It never decides or settles a request.

import type { ApprovalService } from '../approvals/approval-service.js';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import { toMs, type ApprovalsConfig } from '../config/schema.js';
import type { ApprovalDesk, GrantInfo } from './approval-desk.js';

/** A waiting call re-reads its request this often even without a signal. */
const POLL_MS = 2_000;

export function approvalServiceDesk(
  service: ApprovalService,
  config: () => ApprovalsConfig | undefined,
): ApprovalDesk {
  const repo = service.repository;
  return {
    async findPending(hash, agent) {
      const now = new Date();
      return (
        (await repo.findPending(hash, 'hold', now, agent)) ??
        (await repo.findPending(hash, 'defer', now, agent))
      );
    },
    get: (id) => repo.getRequest(id),
    waitForDecision(id, timeoutMs, signal) {
      return new Promise<ApprovalRequest | undefined>((resolve) => {
        let done = false;
        let last: ApprovalRequest | undefined;
        const finish = () => {
          if (done) return;
          done = true;
          unsubscribe();
          clearTimeout(timer);
          clearInterval(poll);
          signal.removeEventListener('abort', finish);
          resolve(last);
        };
        const check = () => {
          if (done) return;
          repo
            .getRequest(id)
            .then((r) => {
              last = r;
              if (!r || r.status !== 'pending') finish();
            })
            .catch(() => undefined);
        };
        const unsubscribe = service.signal.subscribe((changed) => {
          if (changed === id || changed === '*') check();
        });
        const timer = setTimeout(
          () => {
            // One last read, so the caller gets the request as it is now.
            repo
              .getRequest(id)
              .then((r) => (last = r))
              .catch(() => undefined)
              .finally(finish);
          },
          Math.max(0, timeoutMs),
        );
        const poll = setInterval(check, POLL_MS);
        signal.addEventListener('abort', finish, { once: true });
        if (signal.aborted) finish();
        else check();
      });
    },
    async requestAccess(identity, input) {
      const r = await service.requestAccess(identity, {
        connection: input.connection,
        durationMs: input.durationMs,
        reason: input.reason,
        ...(input.grant ? { grant: input.grant } : {}),
      });
      return r.ok ? r : { ok: false, message: r.message };
    },
    approvalUrl: (id) => service.approvalUrl(id),
    grantsFor(connection) {
      const grants = config()?.grants ?? {};
      const out: GrantInfo[] = [];
      for (const [name, g] of Object.entries(grants)) {
        if (g.connections.includes('*') || g.connections.includes(connection)) {
          out.push({
            name,
            ...(g.description ? { description: g.description } : {}),
            maxDurationMs: toMs(g.maxDuration),
          });
        }
      }
      return out;
    },
  };
}
