// Connections, tokens (admins issue and revoke service tokens and AWS key pairs; a new token is
// shown once, to the admin who issued it) and the policy playground (`gatehouse policy explain`).

import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import type { PolicyConfig } from '../config/policy-schema.js';
import { toMs } from '../config/schema.js';
import { httpAction, sqlAction, type Action } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import { ServiceTokenRequestError } from '../identity/service-tokens.js';
import { formatTrace } from '../policy/format-trace.js';
import { statementsOf } from '../policy/policy-check.js';
import { page, type ConsoleAuth, type SignedIn, type Viewer } from './console-auth.js';
import type { ConsoleDeps } from './console-deps.js';
import {
  connectionsPage,
  playgroundPage,
  tokensPage,
  type ConnectionView,
  type IssuedView,
  type PlaygroundForm,
} from './pages/admin-pages.js';
import { messagePage } from './pages/layout.js';

/** Most statements the playground explains at once. */
const MAX_PLAYGROUND_STATEMENTS = 20;

function who(p: PolicyConfig): string {
  const list = Array.isArray(p.subjects) ? p.subjects : [p.subjects];
  const parts = list.map((m) => {
    const bits: string[] = [];
    if (m.groups) bits.push(`groups ${m.groups.join(', ')}`);
    if (m.subjects) bits.push(`subjects ${m.subjects.join(', ')}`);
    if (m.agent !== undefined) bits.push(m.agent ? 'agents' : 'people');
    if (m.tokenKinds) bits.push(`${m.tokenKinds.join('/')} tokens`);
    return bits.length ? bits.join(', ') : 'everyone';
  });
  return parts.join(' or ');
}

/** Where a connection goes, without credentials (URL userinfo is dropped). */
function targetOf(conn: ReturnType<ConsoleDeps['config']>['connections'][string]): string {
  if (conn.protocol === 'postgres')
    return `${conn.upstream.host}:${conn.upstream.port}/${conn.upstream.database}`;
  if (conn.protocol === 'ssh')
    return `ssh://${conn.upstream.user}@${conn.upstream.host}:${conn.upstream.port}`;
  if (conn.protocol === 'kubernetes') {
    try {
      return new URL(conn.upstream.server).origin;
    } catch {
      return '(invalid URL)';
    }
  }
  if (conn.upstream) {
    try {
      return new URL(conn.upstream).origin;
    } catch {
      return '(invalid URL)';
    }
  }
  return conn.auth.type === 'aws-sigv4' ? `AWS (${conn.auth.region})` : '—';
}

export function registerAdminRoutes(
  app: Hono,
  auth: ConsoleAuth,
  deps: ConsoleDeps,
  signedIn: SignedIn,
): void {
  /** Tokens just issued, shown once on the redirect after issue, to the session that issued them. */
  const issued = new Map<string, { view: IssuedView; session: string; until: number }>();

  const forbidden = (c: Parameters<Parameters<SignedIn>[0]>[0], v: Viewer) =>
    page(c, messagePage('Forbidden', 'Only admins may manage tokens.', v), 403);

  app.get(
    '/connections',
    signedIn(async (c, v) => {
      const cfg = deps.config();
      const policy = deps.policy();
      const views: ConnectionView[] = Object.entries(cfg.connections).map(([name, conn]) => {
        const access = v.admin ? undefined : policy.connectionAccess(v.identity, name);
        return {
          name,
          protocol: conn.protocol,
          ...(conn.description ? { description: conn.description } : {}),
          target: targetOf(conn),
          policies: cfg.policies
            .filter((p) => p.connections.includes('*') || p.connections.includes(name))
            .map((p) => ({ id: p.id, who: who(p), rules: p.rules.length })),
          ...(access
            ? {
                mine: {
                  allowed: access.effect === 'allow',
                  why:
                    access.effect === 'allow'
                      ? ''
                      : access.effect === 'deny'
                        ? access.message
                        : 'needs approval',
                },
              }
            : {}),
        };
      });
      return page(c, connectionsPage({ viewer: v, connections: views }));
    }),
  );

  // ---- tokens

  const tokensView = async (
    c: Parameters<Parameters<SignedIn>[0]>[0],
    v: Viewer,
    extra: { issued?: IssuedView; error?: string; flash?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const t = deps.tokens!;
    const tokens = (await t.store.listServiceTokens()).sort(
      (a, b) => b.issuedAt.getTime() - a.issuedAt.getTime(),
    );
    const maxTtl = `${Math.round(t.issuer.maxTtlMs / 3_600_000)}h`;
    return page(c, tokensPage({ viewer: v, tokens, maxTtl, ...extra }), status);
  };

  app.get(
    '/tokens',
    signedIn(async (c, v) => {
      if (!v.admin) return forbidden(c, v);
      if (!deps.tokens)
        return page(c, messagePage('Not available', 'Service tokens are turned off.', v), 404);
      const now = Date.now();
      for (const [k, x] of issued) if (x.until < now) issued.delete(k);
      const key = c.req.query('issued');
      const shown = key ? issued.get(key) : undefined;
      if (key) issued.delete(key);
      const view = shown && shown.session === v.session.csrf ? shown.view : undefined;
      const flash = c.req.query('revoked') === '1' ? 'The token was revoked.' : undefined;
      return tokensView(c, v, { ...(view ? { issued: view } : {}), ...(flash ? { flash } : {}) });
    }),
  );

  app.post(
    '/tokens',
    signedIn(async (c, v) => {
      const form = await c.req.parseBody();
      if (!auth.csrfOk(c, v, form))
        return page(
          c,
          messagePage('Refused', 'The request did not come from this console (CSRF check failed).', v),
          403,
        );
      if (!v.admin) return forbidden(c, v);
      const t = deps.tokens;
      if (!t) return page(c, messagePage('Not available', 'Service tokens are turned off.', v), 404);
      const s = (k: string) => (typeof form[k] === 'string' ? form[k].trim() : '');
      let ttlMs: number;
      try {
        ttlMs = toMs(s('ttl'));
      } catch {
        return tokensView(c, v, { error: 'Lifetime must be a duration such as 30m, 8h or 7d.' }, 400);
      }
      try {
        const r = await t.issuer.issue({
          subject: s('subject'),
          groups: s('groups')
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean),
          ttlMs,
          agent: form.agent === '1',
          ...(s('description') ? { description: s('description') } : {}),
          ...(s('person') ? { person: s('person') } : {}),
        });
        const view: IssuedView = {
          token: r.token,
          record: r.record,
          ...(form.aws === '1' ? { aws: t.issuer.awsKeyPair(r.record.id) } : {}),
        };
        const key = randomBytes(18).toString('base64url');
        issued.set(key, { view, session: v.session.csrf, until: Date.now() + 5 * 60_000 });
        deps.logger.info(
          { token: r.record.id, subject: r.record.subject, by: v.identity.subject },
          'console: service token issued',
        );
        return c.redirect(`/tokens?issued=${key}`, 303);
      } catch (e) {
        if (e instanceof ServiceTokenRequestError) return tokensView(c, v, { error: e.message }, 400);
        throw e;
      }
    }),
  );

  app.post(
    '/tokens/:id/revoke',
    signedIn(async (c, v) => {
      const form = await c.req.parseBody();
      if (!auth.csrfOk(c, v, form))
        return page(
          c,
          messagePage('Refused', 'The request did not come from this console (CSRF check failed).', v),
          403,
        );
      if (!v.admin) return forbidden(c, v);
      const t = deps.tokens;
      if (!t) return page(c, messagePage('Not available', 'Service tokens are turned off.', v), 404);
      const id = c.req.param('id') ?? '';
      const done = await t.store.revokeServiceToken(id, new Date());
      if (!done) return page(c, messagePage('Not found', 'No active token with that id.', v), 404);
      t.noteRevoked(id);
      deps.logger.info({ token: id, by: v.identity.subject }, 'console: service token revoked');
      return c.redirect('/tokens?revoked=1', 303);
    }),
  );

  // ---- policy playground

  const connectionsList = () =>
    Object.entries(deps.config().connections).map(([name, c]) => ({ name, protocol: c.protocol }));

  app.get(
    '/playground',
    signedIn(async (c, v) => {
      const first = connectionsList()[0]?.name ?? '';
      const form: PlaygroundForm = {
        connection: first,
        input: '',
        operation: '',
        resource: '',
        subject: v.admin ? 'claude' : v.identity.subject,
        groups: v.admin ? 'ai-agents' : v.identity.groups.join(','),
        agent: v.admin,
      };
      return page(c, playgroundPage({ viewer: v, connections: connectionsList(), form }));
    }),
  );

  app.post(
    '/playground',
    signedIn(async (c, v) => {
      const body = await c.req.parseBody();
      if (!auth.csrfOk(c, v, body))
        return page(
          c,
          messagePage('Refused', 'The request did not come from this console (CSRF check failed).', v),
          403,
        );
      const s = (k: string, max = 500) => (typeof body[k] === 'string' ? body[k].slice(0, max) : '');
      const form: PlaygroundForm = {
        connection: s('connection'),
        input: s('input', 100_000),
        operation: s('operation').trim(),
        resource: s('resource').trim(),
        subject: v.admin ? s('subject').trim() || 'policy-test' : v.identity.subject,
        groups: v.admin ? s('groups', 2000) : v.identity.groups.join(','),
        agent: v.admin ? body.agent === '1' : false,
      };
      const conns = connectionsList();
      const conn = conns.find((x) => x.name === form.connection);
      const render = (
        extra: {
          error?: string;
          traces?: { trace: ReturnType<ReturnType<ConsoleDeps['policy']>['explain']>; text: string }[];
        },
        status: 200 | 400 = 200,
      ) => page(c, playgroundPage({ viewer: v, connections: conns, form, ...extra }), status);
      if (!conn) return render({ error: 'Choose a configured connection.' }, 400);
      const identity: Identity = v.admin
        ? {
            subject: form.subject,
            groups: form.groups
              .split(',')
              .map((g) => g.trim())
              .filter(Boolean),
            tokenKind: form.agent ? 'service' : 'oidc',
            agent: form.agent,
            issuer: 'gatehouse-policy-playground',
          }
        : v.identity;
      let actions: Action[];
      if (conn.protocol === 'postgres') {
        actions = statementsOf(deps.classifier, form.input)
          .slice(0, MAX_PLAYGROUND_STATEMENTS)
          .map((statement) => sqlAction({ connection: conn.name, via: 'simple-query', statement }));
      } else {
        const m = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(form.input);
        if (!m)
          return render(
            { error: 'For an HTTP connection, enter a request line such as GET /bucket/key.' },
            400,
          );
        actions = [
          httpAction({
            connection: conn.name,
            method: m[1]!.toUpperCase(),
            // The path as typed is both decided and shown: nothing here is clipped.
            path: m[2]!,
            decidedPath: m[2]!,
            ...(form.operation ? { operation: form.operation } : {}),
            ...(form.resource ? { resource: form.resource } : {}),
          }),
        ];
      }
      const policy = deps.policy();
      const traces = actions.map((a) => {
        const trace = policy.explain(identity, a);
        return { trace, text: formatTrace(trace) };
      });
      return render({ traces });
    }),
  );
}
