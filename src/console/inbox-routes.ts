// Approvals inbox routes: the inbox and request pages, approve/deny with a comment (CSRF-checked),
// and a Server-Sent Events stream that tells open pages when a request they may see changed (another
// approver acted, the client withdrew, it expired), so they re-render themselves.

import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { principalOf } from '../approvals/approval-service.js';
import { approverRefusal, samePrincipal } from '../approvals/approval-rules.js';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import { page, type ConsoleAuth, type SignedIn, type Viewer } from './console-auth.js';
import type { ConsoleDeps } from './console-deps.js';
import { inboxPage, requestPage, type InboxEntry } from './pages/inbox-pages.js';
import { messagePage } from './pages/layout.js';

/** Open event streams across all viewers (each holds a socket and a listener). */
const MAX_STREAMS = 500;
/** Open event streams of one person (a few tabs), so one cannot take every place. */
const MAX_STREAMS_PER_VIEWER = 10;

export function registerInboxRoutes(
  app: Hono,
  auth: ConsoleAuth,
  deps: ConsoleDeps,
  signedIn: SignedIn,
): void {
  const service = deps.approvals;
  let streams = 0;
  const perViewer = new Map<string, number>();

  const refusal = (v: Viewer, r: ApprovalRequest): string | undefined => {
    const rule = service?.rule(r.ruleName);
    return rule
      ? approverRefusal(rule, r.requester, principalOf(v.identity), new Date())
      : 'its approval rule is no longer configured';
  };

  const votedBy = async (v: Viewer, id: string): Promise<boolean> => {
    if (!service) return false;
    const votes = await service.repository.listVotes(id);
    return votes.some((x) => samePrincipal(x.approver, principalOf(v.identity)));
  };

  app.get(
    '/inbox',
    signedIn(async (c, v) => {
      if (!service)
        return page(c, inboxPage({ viewer: v, mine: [], otherPending: [], history: [], enabled: false }));
      const pending = await service.list(v.identity, { status: 'pending', limit: 500 });
      const mine: InboxEntry[] = [];
      const other: InboxEntry[] = [];
      for (const r of pending) {
        const cannot = refusal(v, r);
        const voted = await votedBy(v, r.id);
        const e: InboxEntry = { request: r, votedByMe: voted, ...(cannot ? { cannotDecide: cannot } : {}) };
        (cannot || voted ? other : mine).push(e);
      }
      const all = await service.list(v.identity, { limit: 300 });
      const history = all
        .filter((r) => r.status !== 'pending')
        .slice(0, 100)
        .map((request) => ({ request, votedByMe: false }));
      return page(c, inboxPage({ viewer: v, mine, otherPending: other, history, enabled: true }));
    }),
  );

  app.get(
    '/inbox/events',
    signedIn(
      async (c, v) => {
        if (!service) return c.body(null, 204);
        if (streams >= MAX_STREAMS) return c.body('too many open event streams', 503);
        const who = `${v.identity.issuer}\u0000${v.identity.subject}`;
        const mine = perViewer.get(who) ?? 0;
        if (mine >= MAX_STREAMS_PER_VIEWER) return c.body('too many open event streams of yours', 429);
        streams++;
        perViewer.set(who, mine + 1);
        return streamSSE(c, async (stream) => {
          let viewer = v;
          const queue: string[] = [];
          let wake: (() => void) | undefined;
          const unsubscribe = service.signal.subscribe((requestId) => {
            if (queue.length < 100 && !queue.includes(requestId)) queue.push(requestId);
            wake?.();
          });
          const ping = setInterval(() => wake?.(), 25_000);
          stream.onAbort(() => wake?.());
          try {
            await stream.writeSSE({ event: 'ready', data: 'ok' });
            while (!stream.aborted && !stream.closed) {
              await new Promise<void>((r) => (wake = r));
              wake = undefined;
              if (stream.aborted) break;
              // Who is watching is asked again at every wake, as every page request asks: a revoked
              // or expired token, an ended or expired sign-in, ends the stream (class 390).
              const now = await auth.viewer(c).catch(() => undefined);
              if (!now) break;
              viewer = now;
              if (queue.length === 0) {
                await stream.writeSSE({ event: 'ping', data: '' });
                continue;
              }
              for (const id of queue.splice(0)) {
                // Only ids of requests this viewer may see ('*': something may have been missed).
                const d =
                  id === '*' ? undefined : await service.get(viewer.identity, id).catch(() => undefined);
                if (id !== '*' && (d === undefined || d === 'forbidden')) continue;
                await stream.writeSSE({ event: 'change', data: id });
              }
            }
          } finally {
            unsubscribe();
            clearInterval(ping);
            streams--;
            const left = (perViewer.get(who) ?? 1) - 1;
            if (left > 0) perViewer.set(who, left);
            else perViewer.delete(who);
          }
        });
      },
      { bindInQuery: true },
    ),
  );

  app.get(
    '/inbox/:id',
    signedIn(async (c, v) => {
      if (!service) return page(c, messagePage('Not configured', 'Approvals are not configured.', v), 404);
      const id = c.req.param('id') ?? '';
      const d = await service.get(v.identity, id);
      if (d === undefined)
        return page(c, messagePage('Not found', 'There is no such approval request.', v), 404);
      if (d === 'forbidden')
        return page(
          c,
          messagePage('Forbidden', 'Only the requester, its approvers and admins may see it.', v),
          403,
        );
      const cannot = d.request.status === 'pending' ? refusal(v, d.request) : undefined;
      const done = c.req.query('done');
      return page(
        c,
        requestPage({
          viewer: v,
          details: d,
          votedByMe: await votedBy(v, id),
          ...(cannot ? { cannotDecide: cannot } : {}),
          ...(done === 'approve' || done === 'deny'
            ? { flash: `Your ${done === 'approve' ? 'approval' : 'denial'} was recorded.` }
            : {}),
        }),
      );
    }),
  );

  app.post(
    '/inbox/:id',
    signedIn(async (c, v) => {
      const form = await c.req.parseBody();
      if (!auth.csrfOk(c, v, form))
        return page(
          c,
          messagePage('Refused', 'The request did not come from this console (CSRF check failed).', v),
          403,
        );
      if (!service) return page(c, messagePage('Not configured', 'Approvals are not configured.', v), 404);
      const id = c.req.param('id') ?? '';
      const vote = form.decision === 'approve' ? 'approve' : form.decision === 'deny' ? 'deny' : undefined;
      if (!vote) return page(c, messagePage('Bad request', 'Choose approve or deny.', v), 400);
      const comment = typeof form.comment === 'string' ? form.comment.slice(0, 2000) : undefined;
      const r = await service.decide(id, principalOf(v.identity), vote, {
        via: 'console',
        ...(comment ? { comment } : {}),
      });
      if (!r.ok) return page(c, messagePage('Not recorded', r.message, v), r.status);
      deps.logger.info({ request: id, vote, by: v.identity.subject }, 'console: approval decision');
      return c.redirect(`/inbox/${encodeURIComponent(id)}?done=${vote}`, 303);
    }),
  );
}
