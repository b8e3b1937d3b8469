// Method-override conventions: a client sends POST and names the method it means in a header
// (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override) or in the `_method` query parameter, and
// the upstream's framework runs that method instead. Gatehouse decides on the request line's method,
// so an override naming another method is refused (the upstream might run a method nobody decided
// on), and the headers never go upstream at all (http-headers.ts drops them).

import type { IncomingHttpHeaders } from 'node:http';
import type { QueryMap } from './sigv4/canonical-query.js';

/** Header names (lower case) that frameworks read as "the real method". */
export const METHOD_OVERRIDE_HEADERS: readonly string[] = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/**
 * Undefined when the request names no other method than its own; else the refusal, written for the
 * client. `_method` in the query is read by Laravel, Express method-override and others.
 */
export function methodOverrideRefusal(
  method: string,
  headers: IncomingHttpHeaders,
  query: QueryMap,
): string | undefined {
  const named: { where: string; value: string }[] = [];
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) named.push({ where: name, value: one });
  }
  const q = query['_method'];
  if (q !== undefined)
    for (const one of Array.isArray(q) ? q : [q]) named.push({ where: '_method', value: one });
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
