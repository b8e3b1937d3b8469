// Sessions pages: the list (filters, text search, live marker, admins end sessions), the detail
// (timeline with decisions, rules, prompts, masked samples; the record verified on the server;
// the terminal player) and the record download. People see their own sessions; admins see all.

import type { Hono } from 'hono';
import { toMs } from '../config/schema.js';
import type { ResultSample, SessionFilter, SessionRecord } from '../core/records.js';
import { EVENT_TYPES } from '../recording/event-data.js';
import { exportRecording, sampleRefOf } from '../recording/recording-export.js';
import type { StoredEvent } from '../store/event-queries.js';
import { page, type ConsoleAuth, type SignedIn, type Viewer } from './console-auth.js';
import type { ConsoleDeps } from './console-deps.js';
import { messagePage } from './pages/layout.js';
import {
  sessionDetailPage,
  sessionsPage,
  type SessionFilterForm,
  type SessionRow,
  type TimelinePrompt,
} from './pages/session-pages.js';
import { verifySessionRecord, type RecordVerification } from './record-verification.js';
import { promptKey } from './pages/session-pages.js';
import { terminalRecording } from './terminal-recording.js';

const PAGE_SIZE = 50;
/** Events read for a detail page's prompts, approvals and terminal output. */
const MAX_DETAIL_EVENTS = 20_000;

/** An ISO-8601 time, or a duration (`90s`, `15m`, `1h`, `7d`) meaning that long before now. */
export function parseTimeBound(value: string, now: Date): Date | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(ms|s|m|h|d)$/.test(v)) return new Date(now.getTime() - toMs(v));
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return new Date(t);
  }
  throw new RangeError(
    `"${v.slice(0, 40)}" is not a time: use an ISO-8601 time or a duration such as 30m, 1h or 7d`,
  );
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 500) : '';
}

/** May this viewer see this session? Admins: all; a person: sessions of their own principal. */
export function canSeeSession(viewer: Viewer, s: SessionRecord): boolean {
  return viewer.admin || (s.subject === viewer.identity.subject && s.issuer === viewer.identity.issuer);
}

export function registerSessionRoutes(
  app: Hono,
  auth: ConsoleAuth,
  deps: ConsoleDeps,
  signedIn: SignedIn,
): void {
  const liveIds = () => new Set(deps.live.live().map((s) => s.id));

  app.get(
    '/sessions',
    signedIn(async (c, v) => {
      const q = c.req.query();
      const form: SessionFilterForm = {
        q: str(q.q),
        subject: v.admin ? str(q.subject) : '',
        who: q.who === 'agent' || q.who === 'person' ? q.who : '',
        connection: str(q.connection),
        protocol: str(q.protocol),
        decision:
          q.decision === 'allow' || q.decision === 'deny' || q.decision === 'review' ? q.decision : '',
        since: str(q.since),
        until: str(q.until),
      };
      const connections = Object.keys(deps.config().connections);
      const protocols = [
        ...new Set(['postgres', 'http', ...Object.values(deps.config().connections).map((c) => c.protocol)]),
      ];
      let filter: SessionFilter;
      let error: string | undefined;
      try {
        const now = new Date();
        const since = parseTimeBound(form.since, now);
        const until = parseTimeBound(form.until, now);
        filter = {
          ...(v.admin
            ? form.subject
              ? { subject: form.subject }
              : {}
            : { subject: v.identity.subject, issuer: v.identity.issuer }),
          ...(form.who ? { agent: form.who === 'agent' } : {}),
          ...(form.connection ? { connection: form.connection } : {}),
          ...(form.protocol ? { protocol: form.protocol } : {}),
          ...(form.decision ? { effect: form.decision as 'allow' | 'deny' | 'review' } : {}),
          ...(form.q ? { text: form.q } : {}),
          ...(since ? { since } : {}),
          ...(until ? { until } : {}),
          limit: PAGE_SIZE,
        };
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        filter = { subject: '\u0000none', limit: 1 };
      }
      const sessions = error ? [] : await deps.store.listSessions(filter);
      const live = liveIds();
      const needle = form.q.toLowerCase();
      const rows: SessionRow[] = await Promise.all(
        sessions.map(async (s) => {
          let matches: SessionRow['matches'] = [];
          let counts = await deps.store.countStatements?.(s.id);
          if (needle || !counts) {
            const got = await deps.store.getSession(s.id);
            const statements = got?.statements ?? [];
            counts ??= {
              total: statements.length,
              denied: statements.filter((x) => x.effect === 'deny').length,
              review: statements.filter((x) => x.effect === 'review').length,
            };
            if (needle)
              matches = statements
                .filter(
                  (x) =>
                    x.text.toLowerCase().includes(needle) && (!form.decision || x.effect === form.decision),
                )
                .slice(0, 3);
          }
          return { session: s, counts, live: live.has(s.id), matches };
        }),
      );
      const flash = q.ended === '1' ? 'The session was ended.' : undefined;
      return page(
        c,
        sessionsPage({
          viewer: v,
          rows,
          form,
          connections,
          protocols,
          ...(error ? { error } : {}),
          ...(flash ? { flash } : {}),
        }),
        error ? 400 : 200,
      );
    }),
  );

  app.get(
    '/sessions/:id',
    signedIn(async (c, v) => {
      const id = c.req.param('id') ?? '';
      const got = await deps.store.getSession(id);
      if (!got || !canSeeSession(v, got.session))
        return page(
          c,
          messagePage('Not found', 'There is no such session, or it is not yours to see.', v),
          404,
        );
      const events: StoredEvent[] = [];
      let after = 0;
      let cut = false;
      for (;;) {
        const pageEvents = await deps.store.getEvents(id, after, 1000);
        events.push(...pageEvents);
        if (pageEvents.length < 1000) break;
        after = pageEvents[pageEvents.length - 1]!.seq;
        if (events.length >= MAX_DETAIL_EVENTS) {
          cut = true;
          break;
        }
      }
      const prompts = new Map<string, TimelinePrompt>();
      for (const e of events) {
        if (e.type !== EVENT_TYPES.prompt) continue;
        const promptId = str(e.data.promptId);
        if (!promptId) continue;
        // Keyed by source and id: a statement's header shows the prompt as its own lineage names it.
        prompts.set(promptKey(str(e.data.source), promptId), {
          promptId,
          ...(typeof e.data.prompt === 'string' ? { prompt: e.data.prompt } : {}),
          ...(typeof e.data.tool === 'string' ? { tool: e.data.tool } : {}),
          ...(typeof e.data.source === 'string' ? { source: e.data.source } : {}),
        });
      }
      // Result samples live in the record's `result` events (inline, or in the blob store by hash).
      const samples = new Map<string, ResultSample>();
      for (const e of events) {
        if (e.type !== EVENT_TYPES.result || !e.statement || samples.size >= 500) continue;
        const inline = e.data.sample as ResultSample | undefined;
        if (inline && Array.isArray(inline.columns) && Array.isArray(inline.rows)) {
          samples.set(e.statement, inline);
          continue;
        }
        const ref = sampleRefOf(e);
        if (!ref || ref.key === '') continue;
        const body = await deps.recording.blobs.get(ref.key).catch(() => undefined);
        if (!body) continue;
        try {
          samples.set(e.statement, JSON.parse(body.toString('utf8')) as ResultSample);
        } catch {
          // Shown as unavailable; the verification card says whether the blob changed.
        }
      }
      let verification: RecordVerification | undefined;
      try {
        verification = await verifySessionRecord(deps.store, id, deps.recording.key, deps.recording.blobs, {
          endedInStore: got.session.endedAt !== undefined,
        });
      } catch (e) {
        deps.logger.warn({ err: String(e), session: id }, 'console: record verification failed');
      }
      const terminal = await terminalRecording(events, deps.recording.blobs);
      const flash = c.req.query('ended') === '1' ? 'The session was ended.' : undefined;
      return page(
        c,
        sessionDetailPage({
          viewer: v,
          session: got.session,
          statements: got.statements,
          events,
          eventsCut: cut,
          prompts,
          samples,
          live: liveIds().has(id),
          ...(verification ? { verification } : {}),
          ...(terminal ? { terminal } : {}),
          ...(flash ? { flash } : {}),
        }),
      );
    }),
  );

  app.get(
    '/sessions/:id/export',
    signedIn(async (c, v) => {
      const id = c.req.param('id') ?? '';
      const got = await deps.store.getSession(id);
      if (!got || !canSeeSession(v, got.session))
        return page(
          c,
          messagePage('Not found', 'There is no such session, or it is not yours to see.', v),
          404,
        );
      const lines: string[] = [];
      for await (const line of exportRecording(deps.store, id, {
        publicKey: { spki: deps.recording.key.spki, fingerprint: deps.recording.key.keyId },
        blobs: deps.recording.blobs,
      }))
        lines.push(line);
      return c.body(`${lines.join('\n')}\n`, 200, {
        'content-type': 'application/x-ndjson',
        'content-disposition': `attachment; filename="session-${id.replace(/[^A-Za-z0-9-]/g, '')}.jsonl"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
    }),
  );

  app.post(
    '/sessions/:id/end',
    signedIn(async (c, v) => {
      const form = await c.req.parseBody();
      if (!auth.csrfOk(c, v, form))
        return page(
          c,
          messagePage('Refused', 'The request did not come from this console (CSRF check failed).', v),
          403,
        );
      if (!v.admin) return page(c, messagePage('Forbidden', 'Only admins may end sessions.', v), 403);
      const id = c.req.param('id') ?? '';
      const ended = deps.live.endSession(id, `ended by ${v.identity.subject} in the console`);
      if (!ended)
        return page(
          c,
          messagePage('Not live', 'That session is not live on this gateway (it may have ended already).', v),
          409,
        );
      deps.logger.info({ session: id, by: v.identity.subject }, 'console: session ended by an admin');
      return c.redirect(`/sessions/${encodeURIComponent(id)}?ended=1`, 303);
    }),
  );
}
