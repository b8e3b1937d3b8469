import { describe, expect, it } from 'vitest';
import { cgiHeaderName, methodOverrideRefusal, overrideParamName } from './method-override.js';
import { parseQuery } from './sigv4/canonical-query.js';

/** The refusal for a POST with this raw query string and these headers. */
const refusal = (rawQuery: string, headers: Record<string, string> = {}, method = 'POST') =>
  methodOverrideRefusal(method, headers, parseQuery(rawQuery)!);

describe('method overrides in every spelling a framework reads (docs/security.md, class 156)', () => {
  // Each of these is $_GET['_method'] (a string, or an array for the bracketed ones) to PHP 8.2's
  // parse_str, the reading Laravel and Symfony get; `_METHOD` is Slim's spelling.
  it.each([
    '_method',
    '.method',
    '+_method',
    '%20_method',
    '%20%20.method',
    '%2Emethod',
    '%5Fmethod',
    '_method%00x',
    '_method[]',
    '_method[x]',
    '.method[]',
    '_METHOD',
    '_Method',
  ])('refuses ?%s=DELETE on a POST', (key) => {
    expect(refusal(`${key}=DELETE`)).toMatch(/asks the upstream to run DELETE.*send DELETE itself/);
  });

  it.each([
    '[method',
    ']_method',
    '_[method',
    'x[_method]',
    '%00_method',
    '%09_method',
    'method',
    '__method',
  ])('lets ?%s=DELETE through (PHP reads another name)', (key) => {
    expect(refusal(`${key}=DELETE`)).toBeUndefined();
  });

  it('names the spelling it read as _method, and lets one naming the request’s own method through', () => {
    expect(refusal('.method=DELETE')).toMatch(/the query parameter "\.method" \(read as _method\)/);
    expect(refusal('_method=DELETE')).toMatch(/but _method asks/);
    expect(refusal('.method=post&%20_method=POST')).toBeUndefined();
    expect(refusal('.method=post&%20_method=PUT')).toMatch(/run PUT/);
  });

  it.each([
    'x-http-method-override',
    'x_http_method_override',
    'x.http.method.override',
    'x~http~method~override',
    'x-http-method.override',
    'x-http-method',
    'x.http.method',
    'x-method-override',
    'x_method_override',
    'X.Method.Override',
  ])('refuses a POST with %s: DELETE', (name) => {
    expect(refusal('', { [name]: 'DELETE' })).toMatch(
      new RegExp(`but ${name.replace(/[.~]/g, '\\$&')} asks`),
    );
  });

  it('leaves headers alone that only look alike', () => {
    expect(refusal('', { 'x-http-methods': 'DELETE', 'x-method': 'DELETE', 'x-override': 'DELETE' })).toBe(
      undefined,
    );
    expect(refusal('', { 'x.http.method.override': 'POST' })).toBeUndefined();
  });

  it('reads names as CGI-style servers and PHP do', () => {
    expect(cgiHeaderName('X.HTTP.Method~Override')).toBe('X_HTTP_METHOD_OVERRIDE');
    expect(cgiHeaderName('x-original-url')).toBe('X_ORIGINAL_URL');
    expect(overrideParamName(' .Method')).toBe('_method');
    expect(overrideParamName('_method[a.b')).toBe('_method');
    expect(overrideParamName('a.b c')).toBe('a_b_c');
  });
});
