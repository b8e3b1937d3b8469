// The web console (docs/console.md): server-rendered pages for the people who run Gatehouse,
// served by the gateway's HTTP listener at /. Composed here from its parts; src/main.ts wires it.

import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { BINDING_SCRIPT, BIND_FIELD } from '../api/browser-binding.js';
import type { RoutePlugin } from '../api/http-server.js';
import { registerAdminRoutes } from './admin-routes.js';
import { ConsoleAuth, page, registerAuthRoutes, SECURITY_HEADERS, type SignedIn } from './console-auth.js';
import type { ConsoleDeps } from './console-deps.js';
import { MemoryConsoleSessions } from './console-sessions.js';
import { registerInboxRoutes } from './inbox-routes.js';
import { messagePage } from './pages/layout.js';
import { registerSessionRoutes } from './session-routes.js';

export type { ConsoleDeps, LiveSession, LiveSessionControl } from './console-deps.js';

export interface WebConsole {
  readonly routes: RoutePlugin;
  /** A one-click sign-in URL for this token (the demo prints it for its admin). */
  demoLink(token: string): string;
}

const ASSETS: Readonly<Record<string, string>> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'player.js': 'text/javascript; charset=utf-8',
};

function loadAssets(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS))
    out.set(name, readFileSync(new URL(`./assets/${name}`, import.meta.url)));
  return out;
}

export function createConsole(deps: ConsoleDeps): WebConsole {
  const auth = new ConsoleAuth(deps, deps.sessions ?? new MemoryConsoleSessions());
  const assets = loadAssets();

  const signedIn: SignedIn = (handler, opts) => async (c) => {
    const viewer = await auth.viewer(c);
    if (!viewer) {
      if (c.req.method !== 'GET')
        return page(c, messagePage('Signed out', 'Your console session ended; sign in again.'), 401);
      const url = new URL(c.req.url);
      url.searchParams.delete(BIND_FIELD);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    // The cookie alone shows and changes nothing: a page needs the browser's binding secret too
    // (any port of this host is sent the cookie; only this origin's storage holds the secret).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      if (!auth.bound(c, viewer, undefined, opts?.bindInQuery === true)) return auth.shell(c);
    } else {
      const type = c.req.header('content-type') ?? '';
      const form = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)
        ? await c.req.parseBody()
        : {};
      if (!auth.bound(c, viewer, form))
        return page(
          c,
          messagePage(
            'Refused',
            'This request did not come from the browser that signed in (its console key is missing). Sign in again.',
          ),
          403,
        );
    }
    return handler(c, viewer);
  };

  const app = new Hono();
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    if (name === 'bind.js')
      return c.body(BINDING_SCRIPT, 200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'cross-origin-resource-policy': 'same-origin',
      });
    const body = assets.get(name);
    const type = ASSETS[name];
    if (!body || !type) return c.text('not found', 404);
    return c.body(new Uint8Array(body), 200, {
      'content-type': type,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    });
  });
  app.get(
    '/',
    signedIn(async (c) => c.redirect('/sessions', 303)),
  );
  registerAuthRoutes(app, auth, deps);
  registerSessionRoutes(app, auth, deps, signedIn);
  registerInboxRoutes(app, auth, deps, signedIn);
  registerAdminRoutes(app, auth, deps, signedIn);
  app.onError((err, c) => {
    deps.logger.error({ err: err.message, path: c.req.path }, 'console error');
    return c.html(
      messagePage('Something went wrong', 'The console could not answer this request; it was logged.'),
      500,
      SECURITY_HEADERS,
    );
  });

  return {
    routes: (parent) => {
      parent.route('/', app);
    },
    demoLink: (token) => auth.demoLink(token),
  };
}
