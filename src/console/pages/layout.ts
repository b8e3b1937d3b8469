// The console's page frame: navigation, the signed-in person, the sign-out form, and the one
// stylesheet and script (served from /assets, same origin: the CSP allows nothing else).

import { html, type Html } from '../html.js';

export interface PageViewer {
  readonly label: string;
  readonly admin: boolean;
  readonly csrf: string;
}

export type Section = 'sessions' | 'inbox' | 'connections' | 'tokens' | 'playground' | 'none';

export function layout(opts: {
  title: string;
  body: Html;
  viewer?: PageViewer;
  section?: Section;
  /** Extra script files under /assets (e.g. the terminal player). */
  scripts?: readonly string[];
  styles?: readonly string[];
}): string {
  const v = opts.viewer;
  const nav = (section: Section, path: string, label: string) =>
    html`<a href="${path}" ${opts.section === section ? html` aria-current="page"` : ''}>${label}</a>`;
  const header = v
    ? html`<header class="top">
        <a class="brand" href="/">Gatehouse</a>
        <nav>
          ${nav('sessions', '/sessions', 'Sessions')}${nav('inbox', '/inbox', 'Approvals')}${nav('connections', '/connections', 'Connections')}${v.admin ? nav('tokens', '/tokens', 'Tokens') : ''}${nav('playground', '/playground', 'Policy playground')}
        </nav>
        <form method="post" action="/logout" class="who">
          <input type="hidden" name="csrf" value="${v.csrf}" /><span
            >${v.label}${v.admin ? html` <span class="badge">admin</span>` : ''}</span
          >
          <button type="submit">Sign out</button>
        </form>
      </header>`
    : html`<header class="top"><a class="brand" href="/">Gatehouse</a></header>`;
  return (
    '<!doctype html>' +
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${opts.title} · Gatehouse</title>
        <meta name="gatehouse-bind-key" content="gatehouse.console" />
        <link rel="stylesheet" href="/assets/console.css" />
        ${(opts.styles ?? []).map((s) => html`<link rel="stylesheet" href="/assets/${s}" />`)}
        <script src="/assets/bind.js"></script>
        <script src="/assets/console.js" defer></script>
        ${(opts.scripts ?? []).map((s) => html`<script src="/assets/${s}" defer></script>`)}
      </head>
      <body>
        ${header}
        <main id="main">${opts.body}</main>
      </body>
    </html>`.toString()
  );
}

export function statusBadge(s: string): Html {
  return html`<span class="status s-${s.replace(/[^a-z-]/g, '')}">${s}</span>`;
}

export function messagePage(title: string, message: string, viewer?: PageViewer): string {
  return layout({
    title,
    body: html`<h1>${title}</h1>
      <div class="card">${message}</div>
      <p><a href="/">Back to the console</a></p>`,
    ...(viewer ? { viewer } : {}),
  });
}
