// Method-override conventions: a client sends POST and names the method it means in a header
// (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override) or in the `_method` query parameter, and
// the upstream's framework runs that method instead. Gatehouse decides on the request line's method,
// so an override naming another method is refused (the upstream might run a method nobody decided
// on), and the headers never go upstream at all (http-headers.ts drops them). Each is refused in every
// spelling a framework reads as it (docs/security.md, class 156): a header by its CGI name, a parameter
// by the name PHP gives it.

import type { IncomingHttpHeaders } from 'node:http';
import type { QueryMap } from './sigv4/canonical-query.js';

/** Header names (lower case) that frameworks read as "the real method". */
export const METHOD_OVERRIDE_HEADERS: readonly string[] = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/**
 * A header's name as CGI-style servers may hand it to the application (CGI, PHP, WSGI, Rack: the key
 * after `HTTP_`), the widest reading: upper case, every character but an ASCII letter or digit read as
 * `_` (RFC 3875 turns `-`; PHP `.` too, so `X.HTTP.Method.Override` and `X_HTTP_Method_Override` are
 * `X-HTTP-Method-Override` there; Apache httpd 2.2 any character).
 */
export function cgiHeaderName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

const OVERRIDE_CGI_NAMES = new Set(METHOD_OVERRIDE_HEADERS.map(cgiHeaderName));

/**
 * A query parameter's name (percent-decoded) as the frameworks that read `_method` may read it, lower
 * case. PHP (Laravel, Symfony, Slim…) reads `+` as a space, ends a name at a NUL, drops leading spaces
 * and reads `.` and ` ` as `_`: `?.method=`, `?+_method=`, `?%20_method=`, `?%2Emethod=` and
 * `?_method%00x=` are all `$_GET['_method']`. PHP, Rack and qs read `_method[]` and `_method[x]` under
 * `_method` (PHP reads an unmatched `[` as `_`: `_method[` is `_method_`, taken as `_method` here too).
 * Case is folded (Slim reads `_METHOD`). Where this reads more than a framework would, a request is
 * refused that needed not be; never less.
 */
export function overrideParamName(key: string): string {
  let k = key.replace(/\+/g, ' ');
  const nul = k.indexOf('\0');
  if (nul >= 0) k = k.slice(0, nul);
  k = k.replace(/^ +/, '');
  const bracket = k.indexOf('[');
  if (bracket > 0) k = k.slice(0, bracket);
  return k.replace(/[ .]/g, '_').toLowerCase();
}

/**
 * Undefined when the request names no other method than its own; else the refusal, written for the
 * client. `_method` in the query is read by Laravel, Symfony, Express method-override and others; the
 * headers by Symfony, Rails (Rack), Express, ASP.NET Core, OData and others.
 */
export function methodOverrideRefusal(
  method: string,
  headers: IncomingHttpHeaders,
  query: QueryMap,
): string | undefined {
  const named: { where: string; value: string }[] = [];
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined || !OVERRIDE_CGI_NAMES.has(cgiHeaderName(name))) continue;
    for (const one of Array.isArray(v) ? v : [v]) named.push({ where: name, value: one });
  }
  for (const [key, q] of Object.entries(query)) {
    if (overrideParamName(key) !== '_method') continue;
    const where = key === '_method' ? '_method' : `the query parameter "${shownName(key)}" (read as _method)`;
    for (const one of Array.isArray(q) ? q : [q]) named.push({ where, value: one });
  }
  for (const n of named) {
    const value = n.value.trim().toUpperCase();
    if (value === method.toUpperCase()) continue;
    const shown = value.replace(/[^A-Z0-9_-]/g, '?').slice(0, 20);
    return (
      `The request is ${method} but ${n.where} asks the upstream to run ${shown || 'another method'}. ` +
      `Gatehouse decides on the method the request is sent with and does not forward method overrides: ` +
      `send ${shown && /^[A-Z]+$/.test(shown) ? shown : 'that method'} itself.`
    );
  }
  return undefined;
}

/** A parameter name for a message: printable ASCII, `?` for anything else, short. */
function shownName(key: string): string {
  return key.replace(/[^\x21-\x7e]/g, '?').slice(0, 40);
}
