// HTTP routes of the approvals feature, registered as a RoutePlugin: the JSON API under /api
// (authenticated by the shared middleware), the approval pages under /approvals (token or OIDC login
// kept server-side behind an opaque session id in an HttpOnly cookie, bound to the browser's origin
// storage (browser-binding.ts); every POST carries a CSRF token), and the Slack interaction endpoint.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ApprovalService, DecideOptions } from '../approvals/approval-service.js';
import { describePrincipal, personOf, principalOf } from '../approvals/approval-service.js';
import type { ApprovalStatus } from '../approvals/approval-types.js';
import { approverRefusal } from '../approvals/approval-rules.js';
import {
  beginLogin,
  completeLogin,
  type OidcLoginConfig,
  type PendingLogin,
} from '../approvals/oidc-login.js';
import {
  SLACK_APPROVE_ACTION,
  SLACK_DENY_ACTION,
  slackShowsWhole,
  verifySlackSignature,
} from '../approvals/slack.js';
import { toMs, type ApprovalsConfig, type SecretRef } from '../config/schema.js';
import { isGatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import type { Authenticator, Logger } from '../core/ports.js';
import { credentialReason, type PreauthSignals } from '../core/preauth.js';
import { peerAddress } from './peer-address.js';
import type { ApiEnv, RoutePlugin } from './http-server.js';
import { PAGE_CSP, listPage, loginPage, messagePage, requestPage } from './approval-page.js';
import {
  BINDING_SCRIPT,
  BIND_FIELD,
  BIND_HEADER,
  bindingMatches,
  bindingPage,
  boundShellPage,
  newBinding,
  validStart,
} from './browser-binding.js';
import { makeRoomFor, signInOwner, SignInPlacesFull } from './sign-in-places.js';

export interface ApprovalRoutesDeps {
  readonly service: ApprovalService;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly config: () => ApprovalsConfig;
  readonly resolveSecret: (ref: SecretRef) => Promise<string>;
  /** Base URL of this gateway as browsers and Slack reach it (no trailing slash). */
  readonly publicUrl: () => string;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

/** An opaque session id (never the token: the cookie reaches every port of the host). */
const TOKEN_COOKIE = 'gatehouse_approver';
/** localStorage key of the approval pages' binding secret, and the script that keeps it. */
export const APPROVALS_BIND_KEY = 'gatehouse.approvals';
const BIND_SCRIPT_URL = '/approvals/assets/bind.js';
/** Most approval-page sign-ins kept at once (the oldest are forgotten past this). */
const MAX_PAGE_SESSIONS = 10_000;

/** An approval-page sign-in: the token stays here, re-verified on every request. */
interface PageSession {
  readonly token: string;
  /** Whose sign-in it is (sign-in-places.ts): one principal's sign-ins never push out another's. */
  readonly owner: string;
  readonly bindDigest: string;
  readonly until: number;
}

const sessionKey = (id: string) => createHash('sha256').update(id).digest('base64url');
const CSRF_COOKIE = 'gatehouse_csrf';
const OIDC_COOKIE = 'gatehouse_oidc';
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'withdrawn'];

type Ctx = Context<ApiEnv>;

function problem(status: 400 | 401 | 403 | 404 | 409, title: string, detail: string): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title, status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

const TITLES = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict' } as const;

/** "30m", "2h", or milliseconds. */
function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+(ms|s|m|h|d)$/.test(v)) return toMs(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Only same-site relative paths under /approvals are followed after login (no open redirect). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/approvals(\/[A-Za-z0-9-]*)?(\?[A-Za-z=&]*)?$/.test(next)
    ? next
    : '/approvals';
}

export function approvalRoutes(deps: ApprovalRoutesDeps): RoutePlugin {
  const { service } = deps;
  const secure = () => deps.publicUrl().startsWith('https:');
  /** sha256(session id) → the sign-in; in this process (like the console's sessions). */
  const pageSessions = new Map<string, PageSession>();

  return (app: Hono<ApiEnv>) => {
    // ---------------------------------------------------------------- JSON API

    app.get('/api/approvals', async (c) => {
      const q = c.req.query();
      const status =
        q.status === 'all'
          ? undefined
          : STATUSES.includes(q.status as ApprovalStatus)
            ? (q.status as ApprovalStatus)
            : q.status
              ? null
              : undefined;
      if (status === null)
        return problem(400, 'Bad Request', `status must be one of ${STATUSES.join(', ')}, all`);
      const kind = q.kind === 'statement' || q.kind === 'access' ? q.kind : undefined;
      const me = c.get('identity');
      const requests = await service.list(me, {
        ...(status ? { status } : {}),
        ...(kind ? { kind } : {}),
        ...(q.mine === '1' || q.mine === 'true'
          ? { requester: { subject: me.subject, issuer: me.issuer } }
          : {}),
        limit: Math.min(Number(q.limit ?? 100) || 100, 1000),
      });
      // Each with the URL of its approval page, as the CLI's list shows it.
      return c.json({ requests: requests.map((r) => ({ ...r, approvalUrl: service.approvalUrl(r.id) })) });
    });

    app.get('/api/approvals/:id', async (c) => {
      const d = await service.get(c.get('identity'), c.req.param('id'));
      if (d === undefined) return problem(404, 'Not Found', 'no such approval request');
      if (d === 'forbidden')
        return problem(
          403,
          'Forbidden',
          'only the requester, its approvers and admins may read this request',
        );
      return c.json({ ...d, approvalUrl: service.approvalUrl(d.request.id) });
    });

    const decideApi = (vote: 'approve' | 'deny') => async (c: Ctx) => {
      const body = (await c.req.json().catch(() => ({}))) as {
        comment?: unknown;
        uses?: unknown;
        for?: unknown;
      };
      const forMs = body.for === undefined ? undefined : parseDuration(body.for);
      if (body.for !== undefined && forMs === undefined)
        return problem(400, 'Bad Request', 'for must be a duration like 30m or 2h');
      if (body.uses !== undefined && typeof body.uses !== 'number')
        return problem(400, 'Bad Request', 'uses must be a number');
      const via = c.req.header('x-gatehouse-client') === 'cli' ? 'cli' : 'api';
      const opts: DecideOptions = {
        via,
        ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
        ...(typeof body.uses === 'number' ? { uses: body.uses } : {}),
        ...(forMs !== undefined ? { forMs } : {}),
      };
      const r = await service.decide(c.req.param('id') ?? '', principalOf(c.get('identity')), vote, opts);
      if (!r.ok) return problem(r.status, TITLES[r.status], r.message);
      return c.json({ ...r.details, approvalUrl: service.approvalUrl(r.details.request.id) });
    };
    app.post('/api/approvals/:id/approve', decideApi('approve'));
    app.post('/api/approvals/:id/deny', decideApi('deny'));

    app.post('/api/access-requests', async (c) => {
      const body = (await c.req.json().catch(() => ({}))) as {
        connection?: unknown;
        for?: unknown;
        reason?: unknown;
        grant?: unknown;
      };
      if (typeof body.connection !== 'string' || !body.connection)
        return problem(400, 'Bad Request', 'connection is required');
      const durationMs = parseDuration(body.for);
      if (durationMs === undefined) return problem(400, 'Bad Request', 'for must be a duration like 1h');
      if (typeof body.reason !== 'string') return problem(400, 'Bad Request', 'reason is required');
      const r = await service.requestAccess(c.get('identity'), {
        connection: body.connection,
        durationMs,
        reason: body.reason,
        ...(typeof body.grant === 'string' ? { grant: body.grant } : {}),
      });
      if (!r.ok) return problem(r.status, TITLES[r.status], r.message);
      return c.json({ request: r.request, approvalUrl: service.approvalUrl(r.request.id) }, 201);
    });

    app.get('/api/access-grants', async (c) => {
      const me = c.get('identity');
      const now = Date.now();
      const mine = await service.list(me, {
        kind: 'access',
        status: 'approved',
        requester: { subject: me.subject, issuer: me.issuer },
        limit: 1000,
      });
      return c.json({ grants: mine.filter((r) => (r.validUntil?.getTime() ?? 0) > now) });
    });

    // ---------------------------------------------------------------- Slack interactions

    /** An approval from Slack only for what its message showed whole (a missing request: decide says so). */
    const wholeInSlack = async (id: string): Promise<boolean> => {
      const r = await service.repository.getRequest(id);
      return !r || slackShowsWhole(r);
    };

    app.post('/slack/interactions', async (c) => {
      const slack = deps.config().notifiers.slack;
      if (!slack) return problem(404, 'Not Found', 'Slack is not configured');
      const raw = await c.req.text();
      const secret = await deps.resolveSecret(slack.signingSecret);
      if (
        !verifySlackSignature(
          secret,
          c.req.header('x-slack-request-timestamp'),
          c.req.header('x-slack-signature'),
          raw,
        )
      ) {
        // Counted and logged rate-limited (a forged-signature flood must not write the log at its pace).
        deps.preauth?.refused(
          'api',
          c.req.header('x-slack-signature') === undefined ? 'credentials_missing' : 'credentials_unknown',
          peerAddress(c),
        );
        return problem(401, 'Unauthorized', 'bad or stale Slack signature');
      }
      let payload: {
        type?: string;
        user?: { id?: string; username?: string };
        actions?: { action_id?: string; value?: string }[];
        response_url?: string;
      };
      try {
        payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '') as typeof payload;
      } catch {
        return problem(400, 'Bad Request', 'no interaction payload');
      }
      const action = payload.actions?.[0];
      const vote =
        action?.action_id === SLACK_APPROVE_ACTION
          ? 'approve'
          : action?.action_id === SLACK_DENY_ACTION
            ? 'deny'
            : undefined;
      if (payload.type !== 'block_actions' || !vote || !action?.value)
        return c.json({ text: 'nothing to do' });
      // An own property only: a user ID such as `__proto__` or `constructor` names no approver.
      const userId = payload.user?.id;
      const mapped = userId && Object.hasOwn(slack.users, userId) ? slack.users[userId] : undefined;
      let text: string;
      if (!mapped) {
        text = `Your Slack user (${payload.user?.id ?? 'unknown'}) is not mapped to a Gatehouse approver (approvals.notifiers.slack.users).`;
      } else if (vote === 'approve' && !(await wholeInSlack(action.value))) {
        text = `Request ${action.value} is too long to show in Slack in full, so it cannot be approved from Slack: read it and decide on its page, ${service.approvalUrl(action.value)}`;
      } else {
        const r = await service.decide(
          action.value,
          {
            subject: mapped.subject,
            issuer: mapped.issuer,
            groups: mapped.groups,
            agent: false,
            ...personOf(mapped.person),
          },
          vote,
          {
            via: 'slack',
            comment: `${vote === 'approve' ? 'approved' : 'denied'} in Slack by ${payload.user?.username ?? payload.user?.id ?? ''}`,
          },
        );
        text = r.ok
          ? `Request ${r.details.request.id} is ${r.details.request.status}${r.details.request.decidedBy ? ` (by ${r.details.request.decidedBy})` : ' (your vote was counted)'}.`
          : `Could not ${vote} request ${action.value}: ${r.message}`;
      }
      const reply = { response_type: 'ephemeral', replace_original: false, text };
      // Slack shows the answer through response_url; only Slack's own host is ever called.
      if (payload.response_url && /^https:\/\/hooks\.slack\.com\//.test(payload.response_url)) {
        void fetch(payload.response_url, {
          method: 'POST',
          body: JSON.stringify(reply),
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.timeout(5_000),
        }).catch(() => undefined);
      }
      return c.json(reply);
    });

    // ---------------------------------------------------------------- approval pages

    const html = (c: Ctx, body: string, status: 200 | 400 | 403 | 404 | 409 | 503 = 200) =>
      c.html(body, status, {
        'content-security-policy': PAGE_CSP,
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
      });

    const csrfFor = (c: Ctx): string => {
      const have = getCookie(c, CSRF_COOKIE);
      if (have && /^[A-Za-z0-9_-]{32,64}$/.test(have)) return have;
      const v = randomBytes(24).toString('base64url');
      setCookie(c, CSRF_COOKIE, v, { httpOnly: true, sameSite: 'Strict', path: '/', secure: secure() });
      return v;
    };
    // The double-submit token, and, when the browser sends one, an Origin equal to this site's: a
    // sibling subdomain is same-site (the Lax login cookie goes along) and can plant the CSRF cookie,
    // but it cannot send this site's Origin.
    const originOk = (c: Ctx): boolean => {
      const origin = c.req.header('origin');
      if (origin === undefined) return true;
      const host = c.req.header('host') ?? '';
      return origin === `http://${host}` || origin === `https://${host}`;
    };
    const csrfOk = (c: Ctx, form: Record<string, unknown>) =>
      originOk(c) &&
      sameToken(getCookie(c, CSRF_COOKIE), typeof form.csrf === 'string' ? form.csrf : undefined);

    /** Opens a page sign-in for a verified token; the cookie gets an opaque id, the browser a secret. */
    const openSession = (c: Ctx, token: string, id: Identity, next: string, start?: string): Response => {
      const now = Date.now();
      const owner = signInOwner(id);
      try {
        makeRoomFor(
          pageSessions,
          owner,
          { ownerOf: (v) => v.owner, expired: (v) => v.until <= now },
          MAX_PAGE_SESSIONS,
        );
      } catch (e) {
        if (!(e instanceof SignInPlacesFull)) throw e;
        deps.logger.warn({ subject: id.subject }, 'approval page login refused: every place is taken');
        return html(c, messagePage('Try again later', e.message), 503);
      }
      const ttl = Math.min(
        12 * 3600_000,
        id.expiresAt ? Math.max(60_000, id.expiresAt.getTime() - now) : 8 * 3600_000,
      );
      const sid = randomBytes(32).toString('base64url');
      const bind = newBinding();
      pageSessions.set(sessionKey(sid), { token, owner, bindDigest: bind.digest, until: now + ttl });
      setCookie(c, TOKEN_COOKIE, sid, {
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
        secure: secure(),
        maxAge: Math.floor(ttl / 1000),
      });
      return html(
        c,
        bindingPage({
          key: APPROVALS_BIND_KEY,
          script: BIND_SCRIPT_URL,
          title: 'Logged in',
          message: 'Logged in; opening the approval pages…',
          next,
          secret: bind.secret,
          ...(start !== undefined ? { start } : {}),
        }),
      );
    };

    /**
     * The page viewer: a Bearer header (a program's own credential), else the login cookie's
     * session — `bound` only when the request also carries the browser's binding secret (header, or
     * the form field the pages' script adds): the cookie alone is sent to every port of the host.
     */
    const viewer = async (
      c: Ctx,
      form?: Record<string, unknown>,
    ): Promise<{ identity: Identity; bound: boolean; sid?: string } | undefined> => {
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      let token = m?.[1];
      let bound = token !== undefined;
      const sid = token === undefined ? getCookie(c, TOKEN_COOKIE) : undefined;
      if (sid !== undefined) {
        const s = /^[A-Za-z0-9_-]{43}$/.test(sid) ? pageSessions.get(sessionKey(sid)) : undefined;
        if (!s || s.until <= Date.now()) {
          if (s) pageSessions.delete(sessionKey(sid));
          deleteCookie(c, TOKEN_COOKIE, { path: '/', secure: secure() });
          return undefined;
        }
        token = s.token;
        bound = bindingMatches(s.bindDigest, c.req.header(BIND_HEADER) ?? form?.[BIND_FIELD]);
      }
      if (!token) return undefined;
      try {
        return { identity: await deps.authenticator.authenticate(token), bound, ...(sid ? { sid } : {}) };
      } catch {
        if (sid) pageSessions.delete(sessionKey(sid));
        deleteCookie(c, TOKEN_COOKIE, { path: '/', secure: secure() });
        return undefined;
      }
    };

    /** A signed-in page asked for without the binding secret: the frame that loads it with it. */
    const shell = (c: Ctx) =>
      html(
        c,
        boundShellPage({
          key: APPROVALS_BIND_KEY,
          login: '/approvals/login',
          script: BIND_SCRIPT_URL,
          title: 'Gatehouse approvals',
          inlineStyle: 'body{font:15px/1.45 system-ui,sans-serif;margin:24px}',
        }),
      );

    const oidcConfig = async (): Promise<OidcLoginConfig | undefined> => {
      const o = deps.config().oidc;
      if (!o) return undefined;
      return {
        issuer: o.issuer,
        clientId: o.clientId,
        ...(o.clientSecret ? { clientSecret: await deps.resolveSecret(o.clientSecret) } : {}),
        scopes: o.scopes,
        token: o.token,
        redirectUri: `${deps.publicUrl()}/approvals/oidc/callback`,
      };
    };

    const login = (c: Ctx, next: string, error?: string) =>
      html(
        c,
        loginPage({ next, csrf: csrfFor(c), oidc: !!deps.config().oidc, ...(error ? { error } : {}) }),
        error ? 400 : 200,
      );

    app.get('/approvals/assets/bind.js', (c) =>
      c.body(BINDING_SCRIPT, 200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'cross-origin-resource-policy': 'same-origin',
      }),
    );

    // The form, whoever asks (a browser that lost its binding secret logs in again here).
    app.get('/approvals/login', (c) => login(c, safeNext(c.req.query('next'))));

    app.get('/approvals', async (c) => {
      const v = await viewer(c);
      const status = c.req.query('status') ?? 'pending';
      if (!v) return login(c, `/approvals?status=${encodeURIComponent(status)}`);
      if (!v.bound) return shell(c);
      const me = v.identity;
      const list = await service.list(
        me,
        STATUSES.includes(status as ApprovalStatus)
          ? { status: status as ApprovalStatus, limit: 200 }
          : { limit: 200 },
      );
      return html(
        c,
        listPage(
          list,
          describePrincipal(me),
          csrfFor(c),
          STATUSES.includes(status as ApprovalStatus) ? status : 'all',
        ),
      );
    });

    app.post('/approvals/login', async (c) => {
      const form = await c.req.parseBody();
      const next = safeNext(form.next);
      if (!csrfOk(c, form)) return login(c, next, 'The form expired; please try again.');
      const token = typeof form.token === 'string' ? form.token.trim() : '';
      let id: Identity;
      try {
        id = await deps.authenticator.authenticate(token);
      } catch (e) {
        deps.preauth?.refused(
          'api',
          token === '' ? 'credentials_missing' : credentialReason(e),
          peerAddress(c),
        );
        return login(c, next, `That token was refused: ${isGatewayError(e) ? e.message : 'invalid token'}`);
      }
      return openSession(c, token, id, next);
    });

    app.post('/approvals/logout', async (c) => {
      const form = await c.req.parseBody();
      const v = await viewer(c, form);
      if (!csrfOk(c, form) || (v && !v.bound)) return c.redirect('/approvals', 303);
      if (v?.sid) pageSessions.delete(sessionKey(v.sid));
      deleteCookie(c, TOKEN_COOKIE, { path: '/', secure: secure() });
      return html(
        c,
        bindingPage({
          key: APPROVALS_BIND_KEY,
          script: BIND_SCRIPT_URL,
          title: 'Logged out',
          message: 'Logged out.',
          next: '/approvals',
        }),
      );
    });

    app.get('/approvals/oidc/login', async (c) => {
      const cfg = await oidcConfig();
      if (!cfg)
        return html(
          c,
          messagePage('Not configured', 'OIDC login is not configured on this gateway (approvals.oidc).'),
          404,
        );
      const start = c.req.query('start');
      if (!validStart(start))
        return html(
          c,
          messagePage(
            'Log in',
            'Start logging in from the login page, in a browser with JavaScript: the login is bound to the browser that starts it.',
          ),
          400,
        );
      try {
        const { url, pending } = await beginLogin(cfg, safeNext(c.req.query('next')));
        // Lax: the identity provider's redirect back is a cross-site top-level GET.
        setCookie(c, OIDC_COOKIE, Buffer.from(JSON.stringify({ ...pending, start })).toString('base64url'), {
          httpOnly: true,
          sameSite: 'Lax',
          path: '/approvals/oidc',
          secure: secure(),
          maxAge: 600,
        });
        return c.redirect(url, 302);
      } catch (e) {
        deps.logger.warn({ err: String(e) }, 'OIDC login could not start');
        return html(c, messagePage('Login failed', 'The identity provider could not be reached.'), 409);
      }
    });

    app.get('/approvals/oidc/callback', async (c) => {
      const cfg = await oidcConfig();
      const raw = getCookie(c, OIDC_COOKIE);
      deleteCookie(c, OIDC_COOKIE, { path: '/approvals/oidc' });
      if (!cfg || !raw) return login(c, '/approvals', 'The login session expired; please try again.');
      let pending: PendingLogin & { start?: unknown };
      try {
        pending = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PendingLogin & {
          start?: unknown;
        };
      } catch {
        return login(c, '/approvals', 'The login session is invalid; please try again.');
      }
      const start = pending.start;
      if (!validStart(start))
        return login(c, '/approvals', 'The login session is invalid; please try again.');
      const q = c.req.query();
      try {
        const token = await completeLogin(cfg, pending, {
          ...(q.code ? { code: q.code } : {}),
          ...(q.state ? { state: q.state } : {}),
          ...(q.error ? { error: q.error } : {}),
        });
        const id = await deps.authenticator.authenticate(token);
        // The binding page's script goes on with a same-site navigation, which carries the Strict
        // cookie (the redirect chain that started at the identity provider does not).
        // The pending cookie can be planted from another port: the page's script takes the session
        // only in the browser holding this start nonce.
        return openSession(c, token, id, safeNext(pending.next), start);
      } catch (e) {
        // What the provider or the callback's query said may be anything: debug only; the refusal is
        // counted and logged rate-limited.
        deps.logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'OIDC login failed');
        deps.preauth?.refused('api', credentialReason(e), peerAddress(c));
        return login(
          c,
          safeNext(pending.next),
          `Login failed: ${isGatewayError(e) ? e.message : e instanceof Error ? e.message : 'error'}`,
        );
      }
    });

    app.get('/approvals/:id', async (c) => {
      const id = c.req.param('id');
      const v = await viewer(c);
      if (!v) return login(c, `/approvals/${id}`);
      if (!v.bound) return shell(c);
      const me = v.identity;
      const d = await service.get(me, id);
      if (d === undefined)
        return html(c, messagePage('Not found', 'There is no such approval request.'), 404);
      if (d === 'forbidden')
        return html(
          c,
          messagePage('Forbidden', 'Only the requester, its approvers and admins may see this request.'),
          403,
        );
      const rule = service.rule(d.request.ruleName);
      const cannot = rule
        ? approverRefusal(rule, d.request.requester, principalOf(me), new Date())
        : 'its approval rule is no longer configured';
      const flash = c.req.query('done');
      return html(
        c,
        requestPage({
          details: d,
          viewer: describePrincipal(me),
          csrf: csrfFor(c),
          ...(cannot ? { cannotDecide: cannot } : {}),
          ...(flash === 'approve' || flash === 'deny'
            ? { flash: `Your ${flash === 'approve' ? 'approval' : 'denial'} was recorded.` }
            : {}),
        }),
      );
    });

    app.post('/approvals/:id', async (c) => {
      const id = c.req.param('id');
      const form = await c.req.parseBody();
      const v = await viewer(c, form);
      if (!v) return login(c, `/approvals/${id}`);
      const me = v.identity;
      if (!v.bound || !csrfOk(c, form))
        return html(
          c,
          messagePage(
            'Form expired',
            'The form was not sent from this page (CSRF check failed). Reload the request and try again.',
          ),
          403,
        );
      const vote = form.decision === 'approve' ? 'approve' : form.decision === 'deny' ? 'deny' : undefined;
      if (!vote) return html(c, messagePage('Bad request', 'Choose approve or deny.'), 400);
      const uses = typeof form.uses === 'string' && form.uses.trim() ? Number(form.uses) : undefined;
      const forMinutes =
        typeof form.forMinutes === 'string' && form.forMinutes.trim() ? Number(form.forMinutes) : undefined;
      const r = await service.decide(id, principalOf(me), vote, {
        via: 'page',
        ...(typeof form.comment === 'string' ? { comment: form.comment } : {}),
        ...(uses !== undefined ? { uses } : {}),
        ...(forMinutes !== undefined ? { forMs: forMinutes * 60_000 } : {}),
      });
      if (!r.ok) return html(c, messagePage('Not recorded', r.message), r.status);
      return c.redirect(`/approvals/${encodeURIComponent(id)}?done=${vote}`, 303);
    });
  };
}
