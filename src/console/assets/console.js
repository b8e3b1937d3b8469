// Gatehouse console script (served from /assets; the CSP allows no other script). Live pages:
// an approvals page re-renders itself when the server says a request it shows changed (another
// approver acted, the client withdrew, it expired). It never builds markup from strings: it swaps
// in the server-rendered (escaped) page, keeping what the person was typing. Every request it makes
// carries the browser's binding secret (bind.js: the cookie alone shows nothing).
'use strict';

(function () {
  const bind = (h) => (globalThis.gatehouseBind ? globalThis.gatehouseBind(h) : h);
  let started = false;
  function start() {
    const live = document.querySelector('[data-live]');
    if (started || !live || typeof EventSource === 'undefined') return;
    started = true;
    const watched = live.getAttribute('data-request');
    let refreshing = false;
    let again = false;

    async function refresh() {
      if (refreshing) {
        again = true;
        return;
      }
      refreshing = true;
      try {
        const res = await fetch(location.href, {
          credentials: 'same-origin',
          headers: bind({ accept: 'text/html' }),
        });
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        const next = doc.querySelector('[data-live]');
        const current = document.querySelector('[data-live]');
        if (!next || !current) return;
        const typed = new Map();
        current.querySelectorAll('textarea[name]').forEach((t) => typed.set(t.name, t.value));
        current.replaceWith(next);
        next.querySelectorAll('textarea[name]').forEach((t) => {
          if (typed.has(t.name)) t.value = typed.get(t.name);
        });
        document.title = doc.title;
      } finally {
        refreshing = false;
        if (again) {
          again = false;
          void refresh();
        }
      }
    }

    const secret = bind({})['x-gatehouse-bind'] || '';
    const events = new EventSource(`/inbox/events?gatehouse_bind=${encodeURIComponent(secret)}`);
    events.addEventListener('change', (e) => {
      if (!watched || e.data === watched || e.data === '*') void refresh();
    });
    let connected = false;
    events.addEventListener('ready', () => {
      // After a reconnect, changes may have been missed while the stream was down.
      if (connected) void refresh();
      connected = true;
      document.documentElement.setAttribute('data-live-ready', '1');
    });
  }
  // A page shown by bind.js (loaded with the secret after a bare navigation) starts on this event.
  document.addEventListener('gatehouse:page', start);
  start();
})();
