// Escaping HTML templates for the console's server-rendered pages. Every interpolated value is
// escaped unless it is already an `Html` built by this module: statement text, names, reasons and
// messages come from clients and are hostile. It must never offer a way to inject a raw string.

import { revealInvisible } from '../core/visible-text.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** HTML-escaped, with invisible and reordering characters shown (src/core/visible-text.ts). */
export function escapeHtml(s: string): string {
  return revealInvisible(s).replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** Markup that is safe to insert as is: produced only by `html` (and `joinHtml`). */
export class Html {
  readonly #value: string;
  constructor(value: string, token: typeof CONSTRUCT) {
    if (token !== CONSTRUCT) throw new TypeError('Html is built with the html`` template only');
    this.#value = value;
  }
  toString(): string {
    return this.#value;
  }
}

const CONSTRUCT = Symbol('html');

function render(v: unknown): string {
  if (v instanceof Html) return v.toString();
  if (v === undefined || v === null || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return escapeHtml(String(v));
  if (v instanceof Date) return escapeHtml(v.toISOString());
  return escapeHtml(JSON.stringify(v) ?? '');
}

/** `html\`<p>${text}</p>\`` escapes `text`; nested `html` values and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out, CONSTRUCT);
}

export function joinHtml(parts: readonly Html[], separator = ''): Html {
  return new Html(parts.map((p) => p.toString()).join(escapeHtml(separator)), CONSTRUCT);
}

/** A same-origin path built from fixed segments and encoded values (never a client-given URL). */
export function href(path: string, query: Record<string, string | number | undefined> = {}): string {
  const q = Object.entries(query)
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return q ? `${path}?${q}` : path;
}

/** UTC time as `2026-03-01 10:00:00Z`. */
export function formatTime(d: Date | undefined): string {
  return d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
}
