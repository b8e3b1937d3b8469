// Binds a web sign-in (the console's, the approval page's) to the browser origin that made it, not
// only to a cookie. Browsers scope cookies by host, not by port (RFC 6265 §8.5): every server on the
// same host name — an agent's dev server on 127.0.0.1:5173 beside a console on 127.0.0.1:8780 — is
// sent the session cookie and can replay it from outside the browser. So a sign-in also hands the
// browser a secret that is kept only in storage scoped by scheme, host AND port (localStorage, HTML
// §12.2.3: keyed by origin), once, in the answer to the sign-in itself (which a cookie holder cannot
// replay: it needs the token, the identity provider's one-time code, or the SAML hand-off). The pages'
// own script sends it back with every request that shows data or changes state (a header for
// fetch, a form field on submit); the server requires cookie AND secret. This module must never put
// the secret in any other answer.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The request header the pages' script sends the secret in (fetch). */
export const BIND_HEADER = 'x-gatehouse-bind';
/** The form field the pages' script adds to every POST form it submits. */
export const BIND_FIELD = 'gatehouse_bind';

export function bindingDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** A new secret and the digest the server keeps (never the secret itself). */
export function newBinding(): { secret: string; digest: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, digest: bindingDigest(secret) };
}

/** Whether `sent` is the secret whose digest is `digest` (constant time). */
export function bindingMatches(digest: string, sent: unknown): boolean {
  if (typeof sent !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sent)) return false;
  const a = Buffer.from(bindingDigest(sent));
  const b = Buffer.from(digest);
  return a.length === b.length && timingSafeEqual(a, b);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface BindingPageOptions {
  /** localStorage key (one per surface: the console's and the approval page's are apart). */
  readonly key: string;
  /** URL of the binding script (same origin: the CSP allows only 'self'). */
  readonly script: string;
  readonly stylesheet?: string;
  readonly inlineStyle?: string;
  readonly title: string;
  readonly message: string;
  /** Where the script goes next (a same-origin path). */
  readonly next: string;
  /** The secret to keep (sign-in), or undefined to forget it (sign-out). */
  readonly secret?: string;
  /**
   * The nonce the browser's script kept when it started this sign-in (OIDC, SAML): the secret is
   * kept only by the browser holding it, so a sign-in someone else started and had this browser
   * finish (its pre-sign-in cookies planted from another port) signs nobody in here.
   */
  readonly start?: string;
}

/** A sign-in start nonce as the script makes it (and the only form the server carries through). */
export function validStart(start: unknown): start is string {
  return typeof start === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(start);
}

function frame(o: {
  key: string;
  login?: string;
  script: string;
  title: string;
  stylesheet?: string;
  metas: string;
  body: string;
}): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="same-origin">
<meta name="gatehouse-bind-key" content="${esc(o.key)}"${o.login ? ` data-login="${esc(o.login)}"` : ''}>${o.metas}
<title>${esc(o.title)} · Gatehouse</title>${o.stylesheet ? `<link rel="stylesheet" href="${esc(o.stylesheet)}">` : ''}
<script src="${esc(o.script)}"></script></head><body><main>${o.body}</main></body></html>`;
}

/**
 * The answer to a completed sign-in (or a sign-out): the script keeps (or forgets) the secret in this
 * origin's storage and goes on to `next`. Without JavaScript the console shows nothing and changes
 * nothing; the page says so.
 */
export function bindingPage(o: BindingPageOptions): string {
  const metas =
    o.secret !== undefined
      ? `<meta name="gatehouse-bind" content="${esc(o.secret)}" data-next="${esc(o.next)}"${o.start !== undefined ? ` data-start="${esc(o.start)}"` : ''}>`
      : `<meta name="gatehouse-bind-clear" content="1" data-next="${esc(o.next)}">`;
  return frame({
    key: o.key,
    script: o.script,
    title: o.title,
    ...(o.stylesheet ? { stylesheet: o.stylesheet } : {}),
    metas: metas + (o.inlineStyle ? `<style>${o.inlineStyle}</style>` : ''),
    body: `<p>${esc(o.message)}</p><noscript><p>These pages need JavaScript: without it they can show nothing and change nothing, so that a program holding this site's cookie cannot either.</p></noscript>`,
  });
}

/**
 * What a signed-in GET without the secret gets: no data, only the frame whose script fetches the
 * same URL again with the secret and shows the answer. `scripts` run after it has been shown.
 */
export function boundShellPage(o: {
  key: string;
  /** Where "sign in again" goes (a page that always shows the sign-in form). */
  login?: string;
  script: string;
  title: string;
  stylesheet?: string;
  inlineStyle?: string;
  scripts?: readonly string[];
}): string {
  return frame({
    key: o.key,
    ...(o.login ? { login: o.login } : {}),
    script: o.script,
    title: o.title,
    ...(o.stylesheet ? { stylesheet: o.stylesheet } : {}),
    metas:
      (o.inlineStyle ? `<style>${o.inlineStyle}</style>` : '') +
      (o.scripts ?? []).map((s) => `<script src="${esc(s)}" defer></script>`).join(''),
    body: `<p data-bind-load>Loading…</p><noscript><p>These pages need JavaScript: without it they can show nothing and change nothing, so that a program holding this site's cookie cannot either.</p></noscript>`,
  });
}

/**
 * The binding script (served from this origin; no inline script anywhere). It
 * - keeps the secret handed over by a sign-in page (`meta[name=gatehouse-bind]`) in localStorage
 *   (scoped by origin: scheme, host and port) and goes on; forgets it after sign-out;
 * - adds it to every POST form this page submits (field `gatehouse_bind`) and to same-origin
 *   fetches through `window.gatehouseBind` (header `x-gatehouse-bind`);
 * - on a page served without it (`[data-bind-load]`), fetches the same URL with it and shows the
 *   answer, then tells the other scripts (`gatehouse:page` event).
 * localStorage rather than sessionStorage: a link opened in a new tab of the same browser keeps
 * working; another browser, or a program with the cookie, has no secret.
 */
export const BINDING_SCRIPT = `'use strict';
(function () {
  var keyMeta = document.querySelector('meta[name="gatehouse-bind-key"]');
  if (!keyMeta) return;
  var key = keyMeta.getAttribute('content');
  function secret() {
    try { return localStorage.getItem(key) || ''; } catch (e) { return ''; }
  }
  var given = document.querySelector('meta[name="gatehouse-bind"]');
  if (given) {
    var started = '';
    try {
      started = localStorage.getItem(key + '.start') || '';
      localStorage.removeItem(key + '.start');
    } catch (e) { /* no storage */ }
    var start = given.getAttribute('data-start');
    if (start !== null && start !== started) {
      given.setAttribute('content', '');
      document.addEventListener('DOMContentLoaded', function () {
        var main = document.querySelector('main');
        if (main) main.textContent = 'This sign-in was not started in this browser, so it is not taken here. Sign in from the sign-in page.';
      });
      return;
    }
    try { localStorage.setItem(key, given.getAttribute('content')); } catch (e) { /* no storage */ }
    given.setAttribute('content', '');
    location.replace(given.getAttribute('data-next') || '/');
    return;
  }
  var clear = document.querySelector('meta[name="gatehouse-bind-clear"]');
  if (clear) {
    try { localStorage.removeItem(key); } catch (e) { /* no storage */ }
    location.replace(clear.getAttribute('data-next') || '/');
    return;
  }
  window.gatehouseBind = function (headers) {
    var h = headers || {};
    h['${BIND_HEADER}'] = secret();
    return h;
  };
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute('method') || '').toLowerCase() !== 'post') return;
    var field = form.querySelector('input[name="${BIND_FIELD}"]');
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = '${BIND_FIELD}';
      form.appendChild(field);
    }
    field.value = secret();
  }, true);
  document.addEventListener('click', function (e) {
    var begin = e.target instanceof Element ? e.target.closest('a[data-bind-start]') : null;
    if (begin) {
      e.preventDefault();
      var bytes = new Uint8Array(24);
      crypto.getRandomValues(bytes);
      var nonce = Array.from(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
      try { localStorage.setItem(key + '.start', nonce); } catch (err) { /* no storage */ }
      var href = begin.getAttribute('href');
      location.assign(href + (href.indexOf('?') >= 0 ? '&' : '?') + 'start=' + nonce);
      return;
    }
    var a = e.target instanceof Element ? e.target.closest('a[data-bind-download]') : null;
    if (!a) return;
    e.preventDefault();
    fetch(a.getAttribute('href'), { credentials: 'same-origin', headers: window.gatehouseBind({}) })
      .then(function (res) { return res.ok ? res.blob() : Promise.reject(new Error(String(res.status))); })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var tmp = document.createElement('a');
        tmp.href = url;
        tmp.download = a.getAttribute('data-bind-download') || 'download';
        document.body.appendChild(tmp);
        tmp.click();
        tmp.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      })
      .catch(function () { /* the link stays; nothing is shown without the secret */ });
  });
  function show(text, login) {
    var p = document.createElement('p');
    p.textContent = text;
    var main = document.querySelector('main') || document.body;
    main.replaceChildren(p);
    if (login) {
      var a = document.createElement('a');
      a.href = login;
      a.textContent = 'Sign in again';
      main.appendChild(a);
    }
  }
  function load() {
    var marker = document.querySelector('[data-bind-load]');
    if (!marker) return;
    if (!secret()) {
      show('This browser holds no key for this sign-in (it was made in another browser, or its storage was cleared).', keyMeta.getAttribute('data-login') || '/login');
      return;
    }
    fetch(location.href, { credentials: 'same-origin', headers: window.gatehouseBind({ accept: 'text/html' }) })
      .then(function (res) {
        if (res.redirected) {
          location.replace(res.url);
          return;
        }
        return res.text().then(function (text) {
          var doc = new DOMParser().parseFromString(text, 'text/html');
          if (doc.querySelector('[data-bind-load]')) {
            show('The key this browser holds is not the one of this sign-in: sign in again.', keyMeta.getAttribute('data-login') || '/login');
            return;
          }
          document.title = doc.title;
          document.body.replaceWith(document.adoptNode(doc.body));
          // Shown: what tests (and other scripts) wait for, since the page's content arrives after load.
          document.documentElement.setAttribute('data-bound', '1');
          document.dispatchEvent(new Event('gatehouse:page'));
        });
      })
      .catch(function () { show('The page could not be loaded.'); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', load);
  else load();
})();
`;
