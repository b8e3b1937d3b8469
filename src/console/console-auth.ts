// Who is looking at a console page, and signing in: the session cookie (HttpOnly, SameSite=Strict,
// Secure off loopback, `__Host-` prefixed when Secure) AND the browser-binding secret the signing-in
// browser keeps in origin-scoped storage (src/api/browser-binding.ts: a cookie reaches every port of
// the host, the secret only this origin), CSRF on every state change (the session's synchronizer
// token, plus an Origin check), and the sign-in flows: a person's Gatehouse token, OIDC code + PKCE,
// SAML 2.0, and the demo's one-click link. Agents can never sign in.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  beginLogin,
  completeLogin,
  type OidcLoginConfig,
  type PendingLogin,
} from '../approvals/oidc-login.js';
import { toMs } from '../config/schema.js';
import { isGatewayError } from '../core/errors.js';
import { credentialReason } from '../core/preauth.js';
import { peerAddress } from '../api/peer-address.js';
import { SignInPlacesFull } from '../api/sign-in-places.js';
import {
  BIND_FIELD,
  BIND_HEADER,
  bindingMatches,
  bindingPage,
  boundShellPage,
  validStart,
} from '../api/browser-binding.js';
import type { Identity } from '../core/identity.js';
import { consoleConfig, type ConsoleDeps } from './console-deps.js';
import type { ConsoleSession, ConsoleSessionStore, SignInMethod } from './console-sessions.js';
import { html } from './html.js';
import { layout, messagePage, type PageViewer } from './pages/layout.js';
import { MemoryAssertionReplayCache, SignedRequestIds, type AssertionReplayCache } from './saml-caches.js';
import type { SamlLogin } from './saml-login.js';

/** At most this much SAMLResponse (base64) is read: assertions are a few KiB. */
const MAX_SAML_RESPONSE_CHARS = 256 * 1024;

/** Content-Security-Policy of every console page: scripts and styles from this origin only. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Where the console's binding secret is kept in the browser (localStorage, per origin). */
export const CONSOLE_BIND_KEY = 'gatehouse.console';
export const CONSOLE_BIND_SCRIPT = '/assets/bind.js';

export interface Viewer extends PageViewer {
  readonly identity: Identity;
  readonly session: ConsoleSession;
}

/** Wraps a page handler: signed-in people only (others are sent to /login and back). */
export type SignedIn = (
  handler: (c: Context, viewer: Viewer) => Promise<Response>,
  /** The binding secret may come in the query (`gatehouse_bind`): EventSource sends no headers. */
  opts?: { bindInQuery?: boolean },
) => (c: Context) => Promise<Response>;

const PRELOGIN_CSRF = 'gatehouse_console_csrf';
const OIDC_PENDING = 'gatehouse_console_oidc';
/** The browser's half of a SAML sign-in it started (HttpOnly, only sent to /login/saml…). */
const SAML_PENDING = 'gatehouse_console_saml';
/** A SAML sign-in must come back within this long of starting it… */
const SAML_PENDING_MS = 10 * 60_000;
/** …and the browser has this long to take a validated response from the ACS to /login/saml/finish. */
const SAML_HANDOFF_MS = 60_000;
/** Most validated SAML sign-ins waiting for their browsers at once (the oldest are forgotten past this). */
const MAX_SAML_PENDING = 10_000;

interface SamlHandoff {
  readonly identity: Identity;
  readonly requestId: string;
  /** The start nonce of the browser that began this sign-in (checked by its script). */
  readonly start?: string;
  readonly next: string;
  readonly notAfter?: Date;
  readonly until: number;
}

/**
 * A bounded map whose entries expire, each the same time after it is set (the SAML sign-in's
 * browser bindings and hand-offs).
 */
class ExpiringMap<V extends { until: number }> {
  readonly #items = new Map<string, V>();
  set(key: string, value: V): void {
    const now = Date.now();
    // Every entry of a map lives equally long, so insertion order is expiry order: the expired are
    // at the front (a sign-in started by anyone costs no walk over the whole map).
    for (const [k, v] of this.#items) {
      if (v.until > now) break;
      this.#items.delete(k);
    }
    while (this.#items.size >= MAX_SAML_PENDING) {
      const first = this.#items.keys().next().value;
      if (first === undefined) break;
      this.#items.delete(first);
    }
    this.#items.set(key, value);
  }
  /** The entry, once: it is forgotten as it is read. */
  take(key: string): V | undefined {
    const v = this.#items.get(key);
    this.#items.delete(key);
    return v && v.until > Date.now() ? v : undefined;
  }
}

function isLoopbackHost(host: string): boolean {
  return /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?$/i.test(host);
}

/** An AuthnRequest answered a second time (shown as the SAML refusals are). */
class SamlRequestSpent extends Error {
  override readonly name = 'SamlLoginError';
  constructor() {
    super('the sign-in request this assertion answers was already answered');
  }
}

function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Only same-origin paths are followed after sign-in (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' &&
    next.length <= 300 &&
    /^\/(?![/\\])[A-Za-z0-9/_.~%?=&:-]*$/.test(next) &&
    !next.startsWith('/login')
    ? next
    : '/';
}

export function describeViewer(id: Identity): string {
  return `${id.subject} (${id.tokenKind === 'service' ? 'token' : id.issuer})`;
}

/** Sign-in state and the checks every console route uses. */
export class ConsoleAuth {
  readonly sessions: ConsoleSessionStore;
  readonly #deps: ConsoleDeps;
  readonly #replay: AssertionReplayCache;
  /** AuthnRequest IDs that prove themselves (nothing is kept per sign-in started: class 389). */
  readonly #samlRequests = new SignedRequestIds();
  /** Key of the MAC binding a SAML sign-in in flight to the browser's cookie (this process only). */
  readonly #samlBrowserKey = randomBytes(32);
  #saml: { key: string; login: SamlLogin } | undefined;
  /** Demo one-click sign-in codes → the token they sign in with (in memory, this process only). */
  readonly #links = new Map<string, string>();
  /** One-time code → a validated SAML sign-in waiting for its browser at /login/saml/finish. */
  readonly #samlHandoffs = new ExpiringMap<SamlHandoff>();

  constructor(deps: ConsoleDeps, sessions: ConsoleSessionStore) {
    this.#deps = deps;
    this.sessions = sessions;
    this.#replay = deps.samlReplay ?? new MemoryAssertionReplayCache();
  }

  isAdmin(id: Identity): boolean {
    const admins = this.#deps.config().api.adminGroups;
    return !id.agent && id.groups.some((g) => admins.includes(g));
  }

  secure(c: Context): boolean {
    return this.#deps.publicUrl().startsWith('https:') || !isLoopbackHost(c.req.header('host') ?? '');
  }

  cookieName(c: Context): string {
    return this.secure(c) ? '__Host-gatehouse_console' : 'gatehouse_console';
  }

  /** The signed-in person, re-verifying a kept token on every request (revocation, expiry). */
  async viewer(c: Context): Promise<Viewer | undefined> {
    const id = getCookie(c, this.cookieName(c));
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    let identity = session.identity;
    if (session.token !== undefined) {
      try {
        identity = await this.#deps.authenticator.authenticate(session.token);
      } catch {
        this.sessions.delete(id);
        return undefined;
      }
    }
    if (identity.agent) {
      this.sessions.delete(id);
      return undefined;
    }
    return {
      identity,
      session,
      label: describeViewer(identity),
      admin: this.isAdmin(identity),
      csrf: session.csrf,
    };
  }

  /**
   * Whether this request carries the session's binding secret (header, or the form field the
   * console's script adds on submit): the cookie alone is not enough (any port of the host has it).
   */
  bound(c: Context, viewer: Viewer, form?: Record<string, unknown>, query = false): boolean {
    const sent =
      c.req.header(BIND_HEADER) ?? form?.[BIND_FIELD] ?? (query ? c.req.query(BIND_FIELD) : undefined);
    return bindingMatches(viewer.session.bindDigest, sent);
  }

  /**
   * CSRF for a signed-in state change: the browser's binding secret, the session's token in the
   * form (`csrf`) or the `x-csrf-token` header, and, when the browser sends one, an Origin equal to
   * this site's.
   */
  csrfOk(c: Context, viewer: Viewer, form: Record<string, unknown>): boolean {
    if (!this.originOk(c) || !this.bound(c, viewer, form)) return false;
    const sent = typeof form.csrf === 'string' ? form.csrf : c.req.header('x-csrf-token');
    return sameToken(viewer.session.csrf, sent);
  }

  originOk(c: Context): boolean {
    const origin = c.req.header('origin');
    if (origin === undefined || origin === 'null') return origin === undefined;
    const host = c.req.header('host') ?? '';
    return origin === `http://${host}` || origin === `https://${host}`;
  }

  /** The pre-sign-in CSRF token (double submit: HttpOnly cookie + hidden field). */
  preLoginCsrf(c: Context): string {
    const have = getCookie(c, PRELOGIN_CSRF);
    if (have && /^[A-Za-z0-9_-]{32}$/.test(have)) return have;
    const v = randomBytes(24).toString('base64url');
    setCookie(c, PRELOGIN_CSRF, v, { httpOnly: true, sameSite: 'Strict', path: '/', secure: this.secure(c) });
    return v;
  }

  preLoginCsrfOk(c: Context, form: Record<string, unknown>): boolean {
    return (
      this.originOk(c) &&
      sameToken(getCookie(c, PRELOGIN_CSRF), typeof form.csrf === 'string' ? form.csrf : undefined)
    );
  }

  /**
   * Starts a console session for a person (refuses agents) and answers with the page that hands its
   * binding secret to this browser's origin storage, then goes to `next`. This answer is the only
   * one that ever carries the secret, and it answers the sign-in itself, which a program holding
   * only the cookie cannot replay.
   */
  signIn(
    c: Context,
    identity: Identity,
    method: SignInMethod,
    token: string | undefined,
    next: string,
    notAfter?: Date,
    start?: string,
  ): Response {
    if (identity.agent) throw new Error('agents cannot sign in to the console');
    const ttl = toMs(consoleConfig(this.#deps).sessionTtl);
    let end = Date.now() + ttl;
    if (identity.expiresAt) end = Math.min(end, identity.expiresAt.getTime());
    if (notAfter) end = Math.min(end, notAfter.getTime());
    const expiresAt = new Date(end);
    let created: ReturnType<ConsoleSessionStore['create']>;
    try {
      created = this.sessions.create({ identity, method, expiresAt, ...(token ? { token } : {}) });
    } catch (e) {
      if (!(e instanceof SignInPlacesFull)) throw e;
      this.#deps.logger.warn({ subject: identity.subject }, 'console sign-in refused: every place is taken');
      return page(c, messagePage('Try again later', e.message), 503);
    }
    const { id, bind } = created;
    setCookie(c, this.cookieName(c), id, {
      httpOnly: true,
      secure: this.secure(c),
      sameSite: 'Strict',
      path: '/',
      maxAge: Math.max(1, Math.floor((end - Date.now()) / 1000)),
    });
    this.#deps.logger.info({ subject: identity.subject, issuer: identity.issuer, method }, 'console sign-in');
    return page(
      c,
      bindingPage({
        key: CONSOLE_BIND_KEY,
        script: CONSOLE_BIND_SCRIPT,
        stylesheet: '/assets/console.css',
        title: 'Signed in',
        message: 'Signed in; opening the console…',
        next: safeNext(next),
        secret: bind,
        ...(start !== undefined ? { start } : {}),
      }),
    );
  }

  /** Ends the session and answers with the page that forgets the binding secret in the browser. */
  signOut(c: Context): Response {
    const id = getCookie(c, this.cookieName(c));
    if (id) this.sessions.delete(id);
    deleteCookie(c, this.cookieName(c), { path: '/', secure: this.secure(c) });
    return page(
      c,
      bindingPage({
        key: CONSOLE_BIND_KEY,
        script: CONSOLE_BIND_SCRIPT,
        stylesheet: '/assets/console.css',
        title: 'Signed out',
        message: 'Signed out.',
        next: '/login',
      }),
    );
  }

  /** What a signed-in page answers without the binding secret: the frame that loads it with it. */
  shell(c: Context): Response {
    return page(
      c,
      boundShellPage({
        key: CONSOLE_BIND_KEY,
        script: CONSOLE_BIND_SCRIPT,
        stylesheet: '/assets/console.css',
        title: 'Gatehouse',
        scripts: ['/assets/console.js', '/assets/player.js'],
      }),
    );
  }

  /** A one-click sign-in link for a token (the demo prints it); valid while this process runs. */
  demoLink(token: string): string {
    const code = randomBytes(24).toString('base64url');
    this.#links.set(code, token);
    return `${this.#deps.publicUrl()}/login/link?code=${code}`;
  }

  linkToken(code: unknown): string | undefined {
    return typeof code === 'string' ? this.#links.get(code) : undefined;
  }

  async oidcConfig(): Promise<OidcLoginConfig | undefined> {
    const o = consoleConfig(this.#deps).oidc ?? this.#deps.config().approvals?.oidc;
    if (!o) return undefined;
    return {
      issuer: o.issuer,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: await this.#deps.resolveSecret(o.clientSecret) } : {}),
      scopes: o.scopes,
      token: o.token,
      redirectUri: `${this.#deps.publicUrl()}/login/oidc/callback`,
    };
  }

  /** The SAML service provider for the running config (rebuilt when the config changes). */
  async saml(): Promise<SamlLogin | undefined> {
    const s = consoleConfig(this.#deps).saml;
    if (!s) return undefined;
    const base = this.#deps.publicUrl();
    const key = JSON.stringify([s, base]);
    if (this.#saml?.key === key) return this.#saml.login;
    const certs = (Array.isArray(s.idpCert) ? s.idpCert : [s.idpCert]).map((f) =>
      readFileSync(path.resolve(this.#deps.baseDir, f), 'utf8'),
    );
    const spEntityId = s.spEntityId ?? `${base}/login/saml/metadata`;
    // Loaded on first use: a gateway without SAML never loads the SAML and XML signature libraries.
    const { SamlLogin } = await import('./saml-login.js');
    const login = new SamlLogin(
      {
        entryPoint: s.entryPoint,
        idpIssuer: s.idpIssuer,
        idpCert: certs,
        spEntityId,
        audience: s.audience ?? spEntityId,
        acsUrl: `${base}/login/saml/acs`,
        groupsAttribute: s.groupsAttribute,
        ...(s.subjectAttribute ? { subjectAttribute: s.subjectAttribute } : {}),
        ...(s.personAttribute ? { personAttribute: s.personAttribute } : {}),
        clockSkewMs: toMs(s.clockSkew),
        maxAssertionAgeMs: toMs(s.maxAssertionAge),
        wantResponseSigned: s.wantResponseSigned,
      },
      { replay: this.#replay, requests: this.#samlRequests, newRequestId: () => this.#samlRequests.newId() },
    );
    this.#saml = { key, login };
    return login;
  }

  samlIssuer(): string | undefined {
    return consoleConfig(this.#deps).saml?.idpIssuer;
  }

  /**
   * Starts a SAML sign-in in this browser: its AuthnRequest ID is bound to an HttpOnly cookie, so a
   * response to it signs in only the browser that asked. (InResponseTo alone proves the gateway
   * made the request, not for whom: someone could start a sign-in, answer it at the IdP as
   * themselves, and have a victim's browser post the response — signing the victim in as them.)
   * The cookie carries the start nonce and a MAC over it and the request ID: the gateway keeps
   * nothing per sign-in started, so starting sign-ins without end pushes no one's out (class 389).
   */
  startSaml(c: Context, requestId: string, start: string): void {
    const salt = randomBytes(18).toString('base64url');
    const cookie = `${start}.${salt}.${this.#samlBrowserMac(requestId, start, salt)}`;
    setCookie(c, SAML_PENDING, cookie, {
      httpOnly: true,
      secure: this.secure(c),
      sameSite: 'Lax',
      path: '/login/saml',
      maxAge: SAML_PENDING_MS / 1000,
    });
  }

  #samlBrowserMac(requestId: string, start: string, salt: string): string {
    return createHmac('sha256', this.#samlBrowserKey)
      .update(`gatehouse-saml-browser\u0000${requestId}\u0000${start}\u0000${salt}`)
      .digest('base64url');
  }

  /** Spends the AuthnRequest ID a validated assertion answered; false when it already was (or cannot be). */
  spendSamlRequest(requestId: string): boolean {
    return this.#samlRequests.spend(requestId);
  }

  /** Keeps a validated SAML sign-in for its browser to collect; returns the one-time code. */
  handOffSaml(h: Omit<SamlHandoff, 'until'>): string {
    const code = randomBytes(24).toString('base64url');
    this.#samlHandoffs.set(code, { ...h, until: Date.now() + SAML_HANDOFF_MS });
    return code;
  }

  /** The hand-off for this code, if this browser is the one that started its sign-in. */
  finishSaml(c: Context, code: unknown): SamlHandoff | undefined {
    const h = typeof code === 'string' ? this.#samlHandoffs.take(code) : undefined;
    if (!h) return undefined;
    const cookie = getCookie(c, SAML_PENDING);
    deleteCookie(c, SAML_PENDING, { path: '/login/saml', secure: this.secure(c) });
    const [start, salt, mac, ...rest] = (cookie ?? '').split('.');
    if (rest.length > 0 || !validStart(start) || !salt || !mac) return undefined;
    if (!sameToken(mac, this.#samlBrowserMac(h.requestId, start, salt))) return undefined;
    // A cookie can be planted from another port of this host: the browser's script also checks that
    // it holds the start nonce of this sign-in before it takes the session (browser-binding.ts).
    return { ...h, start };
  }
}

export function page(
  c: Context,
  body: string,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 500 | 503 = 200,
): Response {
  return c.html(body, status, SECURITY_HEADERS);
}

function loginPage(auth: ConsoleAuth, deps: ConsoleDeps, c: Context, next: string, error?: string): string {
  const cfg = consoleConfig(deps);
  const csrf = auth.preLoginCsrf(c);
  const oidc = !!(cfg.oidc ?? deps.config().approvals?.oidc);
  const plainOffLoopback =
    !isLoopbackHost(c.req.header('host') ?? '') && !deps.publicUrl().startsWith('https:');
  return layout({
    title: 'Sign in',
    body: html`<h1>Sign in to Gatehouse</h1>
      <p class="note">For the people who run Gatehouse. AI agents cannot sign in here.</p>
      ${error ? html`<p class="warn" role="alert">${error}</p>` : ''}
      ${plainOffLoopback ? html`<p class="warn">This page was reached over plain HTTP from another host: sign-in cookies are sent over HTTPS only. Put TLS in front of the gateway and set listeners.http.publicUrl.</p>` : ''}
      ${oidc ? html`<div class="card"><a class="button primary" data-bind-start href="/login/oidc?next=${encodeURIComponent(next)}">Sign in with your identity provider (OIDC)</a></div>` : ''}
      ${cfg.saml ? html`<div class="card"><a class="button primary" data-bind-start href="/login/saml?next=${encodeURIComponent(next)}">Sign in with SAML single sign-on</a></div>` : ''}
      ${
        cfg.tokenLogin
          ? html`<div class="card">
              <form method="post" action="/login/token">
                <input type="hidden" name="csrf" value="${csrf}" /><input
                  type="hidden"
                  name="next"
                  value="${next}"
                />
                <label
                  >Gatehouse token of a person (<code>gatehouse token issue</code>, or the demo's
                  GATEHOUSE_ADMIN_TOKEN)<br />
                  <input type="password" name="token" autocomplete="off" required
                /></label>
                <p><button type="submit" class="primary">Sign in with a token</button></p>
              </form>
            </div>`
          : ''
      }`,
  });
}

const NO_START =
  'Start signing in from the sign-in page, in a browser with JavaScript: the sign-in is bound to the browser that starts it.';

/** Sign-in and sign-out routes. */
export function registerAuthRoutes(app: Hono, auth: ConsoleAuth, deps: ConsoleDeps): void {
  const refuseAgent = 'agent principals cannot sign in to the console';

  app.get('/login', async (c) => {
    // Always the form, also to a cookie holder: a browser that lost the binding secret (another
    // browser, cleared storage) signs in again here.
    const next = safeNext(c.req.query('next'));
    return page(c, loginPage(auth, deps, c, next));
  });

  app.post('/login/token', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    if (!auth.preLoginCsrfOk(c, form))
      return page(c, loginPage(auth, deps, c, next, 'The form expired; please try again.'), 403);
    if (!consoleConfig(deps).tokenLogin)
      return page(
        c,
        loginPage(auth, deps, c, next, 'Token sign-in is turned off (console.tokenLogin).'),
        403,
      );
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    let id: Identity;
    try {
      id = await deps.authenticator.authenticate(token);
    } catch (e) {
      deps.preauth?.refused('console', credentialReason(e), peerAddress(c));
      return page(
        c,
        loginPage(
          auth,
          deps,
          c,
          next,
          `That token was refused: ${isGatewayError(e) ? e.message : 'invalid token'}`,
        ),
        401,
      );
    }
    if (id.agent) {
      deps.logger.warn({ subject: id.subject }, 'console sign-in refused: agent token');
      return page(c, loginPage(auth, deps, c, next, `That token was refused: ${refuseAgent}.`), 403);
    }
    return auth.signIn(c, id, 'token', token, next);
  });

  app.get('/login/link', async (c) => {
    const code = c.req.query('code') ?? '';
    const token = auth.linkToken(code);
    if (!token)
      return page(
        c,
        messagePage('Link not valid', 'This sign-in link is not valid (it lasts while the demo runs).'),
        404,
      );
    const csrf = auth.preLoginCsrf(c);
    return page(
      c,
      layout({
        title: 'Sign in',
        body: html`<h1>Sign in to the Gatehouse demo</h1>
          <div class="card">
            <form method="post" action="/login/link">
              <input type="hidden" name="csrf" value="${csrf}" /><input
                type="hidden"
                name="code"
                value="${code}"
              />
              <p>This link signs you in as the demo's administrator.</p>
              <p>
                <button type="submit" class="primary" id="demo-sign-in">Sign in as the demo admin</button>
              </p>
            </form>
          </div>`,
      }),
    );
  });

  app.post('/login/link', async (c) => {
    const form = await c.req.parseBody();
    const token = auth.linkToken(form.code);
    if (!token || !auth.preLoginCsrfOk(c, form))
      return page(c, messagePage('Link not valid', 'This sign-in link is not valid; open it again.'), 403);
    let id: Identity;
    try {
      id = await deps.authenticator.authenticate(token);
    } catch (e) {
      deps.preauth?.refused('console', credentialReason(e), peerAddress(c));
      return page(c, messagePage('Link expired', "The demo admin's token is no longer valid."), 401);
    }
    if (id.agent) return page(c, messagePage('Refused', refuseAgent), 403);
    return auth.signIn(c, id, 'demo-link', token, '/');
  });

  app.post('/logout', async (c) => {
    const form = await c.req.parseBody();
    const v = await auth.viewer(c);
    if (v && !auth.csrfOk(c, v, form))
      return page(c, messagePage('Form expired', 'The sign-out form was not sent from this console.'), 403);
    return auth.signOut(c);
  });

  // ---- OIDC: authorization code + PKCE (the approvals' client), then the gateway verifies the token.

  app.get('/login/oidc', async (c) => {
    const cfg = await auth.oidcConfig();
    if (!cfg)
      return page(c, messagePage('Not configured', 'OIDC sign-in is not configured (console.oidc).'), 404);
    const start = c.req.query('start');
    if (!validStart(start)) return page(c, messagePage('Sign in', NO_START), 400);
    try {
      const { url, pending } = await beginLogin(cfg, safeNext(c.req.query('next')));
      // Lax: the identity provider's redirect back is a cross-site top-level GET.
      setCookie(c, OIDC_PENDING, Buffer.from(JSON.stringify({ ...pending, start })).toString('base64url'), {
        httpOnly: true,
        sameSite: 'Lax',
        path: '/login/oidc',
        secure: auth.secure(c),
        maxAge: 600,
      });
      return c.redirect(url, 302);
    } catch (e) {
      deps.logger.warn({ err: String(e) }, 'console OIDC sign-in could not start');
      return page(c, messagePage('Sign-in failed', 'The identity provider could not be reached.'), 409);
    }
  });

  app.get('/login/oidc/callback', async (c) => {
    const cfg = await auth.oidcConfig();
    const raw = getCookie(c, OIDC_PENDING);
    deleteCookie(c, OIDC_PENDING, { path: '/login/oidc', secure: auth.secure(c) });
    if (!cfg || !raw)
      return page(c, loginPage(auth, deps, c, '/', 'The sign-in expired; please try again.'), 400);
    let pending: PendingLogin & { start?: unknown };
    try {
      pending = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as PendingLogin & {
        start?: unknown;
      };
    } catch {
      return page(c, loginPage(auth, deps, c, '/', 'The sign-in is invalid; please try again.'), 400);
    }
    const start = pending.start;
    if (!validStart(start))
      return page(c, loginPage(auth, deps, c, '/', 'The sign-in is invalid; please try again.'), 400);
    const q = c.req.query();
    try {
      const token = await completeLogin(cfg, pending, {
        ...(q.code ? { code: q.code } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.error ? { error: q.error } : {}),
      });
      const id = await deps.authenticator.authenticate(token);
      if (id.agent) return page(c, loginPage(auth, deps, c, '/', `Sign-in refused: ${refuseAgent}.`), 403);
      // The binding page's script goes on with a same-site navigation, which carries the Strict
      // cookie (the redirect chain that started at the identity provider does not).
      // The pending cookie can be planted from another port: the script takes the session only in
      // the browser holding this start nonce.
      return auth.signIn(c, id, 'oidc', token, safeNext(pending.next), undefined, start);
    } catch (e) {
      // Counted and logged, rate-limited, as a refusal before authentication; the detail at debug.
      deps.preauth?.refused('console', credentialReason(e), peerAddress(c));
      deps.logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'console OIDC sign-in failed');
      const msg = isGatewayError(e) ? e.message : e instanceof Error ? e.message : 'error';
      return page(c, loginPage(auth, deps, c, '/', `Sign-in failed: ${msg}`), 401);
    }
  });

  // ---- SAML 2.0: SP-initiated, HTTP-Redirect out, HTTP-POST back to the ACS.

  app.get('/login/saml', async (c) => {
    const saml = await auth.saml();
    if (!saml)
      return page(c, messagePage('Not configured', 'SAML sign-in is not configured (console.saml).'), 404);
    const start = c.req.query('start');
    if (!validStart(start)) return page(c, messagePage('Sign in', NO_START), 400);
    try {
      const { url, requestId } = await saml.loginUrl(safeNext(c.req.query('next')));
      auth.startSaml(c, requestId, start);
      return c.redirect(url, 302);
    } catch (e) {
      deps.logger.warn({ err: String(e) }, 'console SAML sign-in could not start');
      return page(c, messagePage('Sign-in failed', 'The SAML request could not be built.'), 500);
    }
  });

  app.get('/login/saml/finish', async (c) => {
    const h = auth.finishSaml(c, c.req.query('code'));
    if (!h) {
      // Anyone can ask for this page: counted and logged rate-limited (core/preauth.ts).
      deps.preauth?.refused('console', 'credentials_unknown', peerAddress(c));
      return page(
        c,
        loginPage(
          auth,
          deps,
          c,
          '/',
          'SAML sign-in refused: this browser did not start that sign-in (or it expired); please sign in again.',
        ),
        403,
      );
    }
    return auth.signIn(c, h.identity, 'saml', undefined, h.next, h.notAfter, h.start);
  });

  app.get('/login/saml/metadata', async (c) => {
    const saml = await auth.saml();
    if (!saml) return c.text('SAML is not configured', 404);
    return c.body(saml.metadata(), 200, { 'content-type': 'application/samlmetadata+xml' });
  });

  // A cross-site POST from the identity provider: no session or CSRF cookie can exist yet; the
  // signature, the InResponseTo of a request this gateway made, Recipient and replay checks stand in.
  app.post('/login/saml/acs', async (c) => {
    const saml = await auth.saml();
    const issuer = auth.samlIssuer();
    if (!saml || !issuer)
      return page(c, messagePage('Not configured', 'SAML sign-in is not configured.'), 404);
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_SAML_RESPONSE_CHARS * 2)
      return page(c, messagePage('Sign-in refused', 'The SAML response is too large.'), 400);
    const form = await c.req.parseBody();
    const response = typeof form.SAMLResponse === 'string' ? form.SAMLResponse : '';
    try {
      const p = await saml.complete(response);
      // A SAML sign-in is not re-verified (there is no token to re-check): its groups are the
      // assertion's, so it ends after console.saml.sessionTtl and the person signs in again (the
      // identity provider then says again which groups they are in).
      const samlTtl = toMs(consoleConfig(deps).saml?.sessionTtl ?? '1h');
      const identity: Identity = {
        subject: p.subject,
        groups: p.groups,
        tokenKind: 'saml',
        agent: false,
        issuer,
        expiresAt: new Date(Date.now() + samlTtl),
        ...(p.person !== undefined ? { person: p.person } : {}),
      };
      // Not signed in yet: this POST comes from the IdP's page, so the browser's binding cookie
      // (SameSite=Lax) is not sent with it. The browser collects the sign-in with a same-site GET,
      // which carries it: only the browser that started this sign-in gets the session.
      // The request this assertion answers is answered once (InResponseTo is checked by its MAC).
      if (!auth.spendSamlRequest(p.requestId)) throw new SamlRequestSpent();
      const code = auth.handOffSaml({
        identity,
        requestId: p.requestId,
        next: safeNext(form.RelayState),
        ...(p.sessionNotOnOrAfter ? { notAfter: p.sessionNotOnOrAfter } : {}),
      });
      return page(c, continuePage(`/login/saml/finish?code=${code}`, 'Continue'));
    } catch (e) {
      const msg =
        e instanceof Error && e.name === 'SamlLoginError'
          ? e.message
          : 'the SAML response could not be processed';
      // A posted response is anyone's to send: debug only; the refusal is counted and logged
      // rate-limited (core/preauth.ts).
      deps.logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'console SAML sign-in refused');
      deps.preauth?.refused('console', 'credentials_unknown', peerAddress(c));
      return page(c, loginPage(auth, deps, c, '/', `SAML sign-in refused: ${msg}.`), 403);
    }
  });
}

/**
 * After a cross-site sign-in (OIDC callback, SAML POST) the SameSite=Strict cookie is not sent on
 * the redirect chain that started on the identity provider; a same-site refresh from this page is.
 */
function continuePage(next: string, label = 'Signed in.'): string {
  return (
    '<!doctype html>' +
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=${next}" />
        <title>Signed in · Gatehouse</title>
        <link rel="stylesheet" href="/assets/console.css" />
      </head>
      <body>
        <main>
          <p>${label} <a href="${next}">Continue to the console</a>.</p>
        </main>
      </body>
    </html>`.toString()
  );
}
