import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bodyMayOverrideMethod, bodyMethodOverrideRefusal } from './body-method-override.js';

const MAX = 1 << 20;
const refusal = (
  contentType: string | undefined,
  body: string | Buffer,
  method = 'POST',
  contentEncoding?: string,
) =>
  bodyMethodOverrideRefusal(
    method,
    {
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
      ...(contentEncoding === undefined ? {} : { 'content-encoding': contentEncoding }),
    },
    typeof body === 'string' ? Buffer.from(body) : body,
    MAX,
  );

const multipart = (disposition: string, value = 'DELETE') =>
  `--B\r\nContent-Disposition: ${disposition}\r\n\r\n${value}\r\n--B--\r\n`;

describe('method overrides in a request body (docs/security.md, class 204)', () => {
  it.each([
    // A form: PHP's $_POST, Rack's req.POST, the servlet's parameters, Express's urlencoded parser.
    ['application/x-www-form-urlencoded', '_method=DELETE'],
    ['application/x-www-form-urlencoded', 'a=1&_method=delete'],
    ['application/x-www-form-urlencoded', 'a=1;_method=DELETE'],
    ['application/x-www-form-urlencoded', 'a=1& _method=DELETE'],
    ['application/x-www-form-urlencoded', '.method=DELETE'],
    ['application/x-www-form-urlencoded', '%5Fmethod=DELETE'],
    ['application/x-www-form-urlencoded', '_method[]=DELETE'],
    ['application/x-www-form-urlencoded', '_method=%44ELETE'],
    ['application/x-www-form-urlencoded', '_method=PATCH'],
    ['APPLICATION/X-WWW-FORM-URLENCODED ; charset=utf-8', '_method=DELETE'],
    // Rack parses a POST with no media type as a form.
    [undefined, '_method=DELETE'],
    ['', '_method=DELETE'],
    ['; charset=utf-8', '_method=DELETE'],
    // Multipart, in each way a name is written.
    ['multipart/form-data; boundary=B', multipart('form-data; name="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data; name=_method')],
    // PHP reads a single-quoted name too, and the last of two names.
    ['multipart/form-data; boundary=B', multipart("form-data; name='_method'")],
    ['multipart/form-data; boundary=B', multipart('form-data; name="x"; name="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data;name=_method ')],
    ['multipart/form-data; boundary=B', multipart('form-data; NAME="_m\\ethod"')],
    ['multipart/form-data; boundary=B', multipart("form-data; name*=UTF-8''%5Fmethod")],
    ['multipart/form-data; boundary=B', multipart('form-data; name=".method"')],
    ['multipart/form-data; boundary=OTHER', multipart('form-data; name="_method"')],
    ['multipart/mixed; boundary=B', multipart('form-data; name="_method"')],
    [
      'multipart/form-data; boundary=B',
      '--B\ncontent-disposition: form-data; name="_method"\n\nDELETE\n--B--\n',
    ],
    // A Content-Disposition continued on the next lines, as PHP's multipart reader joins them (each
    // checked against php -S; class 216).
    ['multipart/form-data; boundary=B', multipart('form-data;\r\n name="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data;\r\n\tname="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data\r\n; name="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data; \r\nname=_method')],
    ['multipart/form-data; boundary=B', multipart('form-data; name=_met\r\nhod')],
    ['multipart/form-data; boundary=B', multipart('form-data; name="_met\r\nhod"')],
    ['multipart/form-data; boundary=B', multipart('form-data; na\r\nme="_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data;\n name="_method"\r\nContent-Type: text/plain')],
    [
      'multipart/form-data; boundary=B',
      multipart('form-data; name="_method"\r\nContent-Transfer-Encoding: base64', 'REVMRVRF'),
    ],
    // JSON: Laravel's request bag for any type containing /json or +json; Express's req.body.
    ['application/json', '{"_method":"DELETE"}'],
    ['application/vnd.api+json', '{"a":1,"_method":"PUT"}'],
    ['text/plain; x=/json', '{"_method":"DELETE"}'],
    ['application/json', '{"\\u005fmethod":"DELETE"}'],
    ['application/json', '{"_method":"POST","_method":"DELETE"}'],
    ['application/json', '\uFEFF{"_method":"DELETE"}'],
  ])('refuses a POST of %s: %j', (type, body) => {
    expect(refusal(type, body)).toMatch(/asks the upstream to run|cannot|does not read/);
  });

  it('reads a body under the Content-Encoding Express inflates, and in UTF-16', () => {
    const form = 'a=1&_method=DELETE';
    const type = 'application/x-www-form-urlencoded';
    expect(refusal(type, gzipSync(form), 'POST', 'gzip')).toMatch(/run DELETE/);
    expect(refusal(type, deflateSync(form), 'POST', 'deflate')).toMatch(/run DELETE/);
    expect(refusal(type, brotliCompressSync(form), 'POST', 'br')).toMatch(/run DELETE/);
    expect(refusal(type, gzipSync(gzipSync(form)), 'POST', 'gzip, gzip')).toMatch(/run DELETE/);
    const json = '{"_method":"DELETE"}';
    expect(refusal('application/json; charset=utf-16le', Buffer.from(json, 'utf16le'))).toMatch(/run DELETE/);
    expect(refusal('application/json; charset=utf-16', Buffer.from(json, 'utf16le'))).toMatch(/run DELETE/);
  });

  it('refuses a body it cannot read rather than guess (coding, charset, JSON it cannot parse)', () => {
    expect(refusal('application/x-www-form-urlencoded', 'x', 'POST', 'compress')).toMatch(/cannot be read/);
    expect(refusal('application/x-www-form-urlencoded', 'not gzip', 'POST', 'gzip')).toMatch(
      /cannot be decoded/,
    );
    // UTF-7 (iconv-lite reads it; body-parser takes any utf-* charset): +AF8-method is _method.
    expect(refusal('application/json; charset=utf-7', '{"+AF8-method":"DELETE"}')).toMatch(/does not read/);
    expect(refusal('application/json', '{"_method":"DELETE",}')).toMatch(/cannot parse/);
    // A decoded body past the limit is not read past it.
    expect(
      bodyMethodOverrideRefusal(
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
        gzipSync(Buffer.alloc(4096, 'a')),
        1024,
      ),
    ).toMatch(/cannot be decoded within 1024 bytes/);
  });

  it.each([
    ['application/x-www-form-urlencoded', 'note=1'],
    ['application/x-www-form-urlencoded', '_method=POST'],
    ['application/x-www-form-urlencoded', '_method=%20post%20'],
    ['application/x-www-form-urlencoded', 'payment_method=card&method=x&__method=DELETE'],
    ['application/json', '{"payment_method":"card","data":{"_method":"DELETE"}}'],
    ['application/json', '[{"_method":"DELETE"}]'],
    ['application/json', 'not json at all'],
    ['multipart/form-data; boundary=B', multipart('form-data; name="payment_method"')],
    ['multipart/form-data; boundary=B', multipart('form-data; name="_method"', 'POST')],
    ['application/octet-stream', '_method=DELETE'],
    ['text/plain', '{"_method":"DELETE"}'],
  ])('lets a POST of %s through: %j', (type, body) => {
    expect(refusal(type, body)).toBeUndefined();
  });

  it.each(['PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS'])(
    'is read on %s too, for a typed body (Express method-override with methods: null; class 217)',
    (method) => {
      const other = method === 'DELETE' ? 'PATCH' : 'DELETE';
      expect(refusal('application/x-www-form-urlencoded', `_method=${other}`, method)).toMatch(
        /asks the upstream/,
      );
      expect(refusal('application/json', `{"_method":"${other}"}`, method)).toMatch(/asks the upstream/);
      expect(
        refusal('multipart/form-data; boundary=B', multipart('form-data; name=_method', other), method),
      ).toMatch(/asks the upstream/);
      // Its own method passes; an untyped body is a form to Rack on a POST only.
      expect(refusal('application/x-www-form-urlencoded', `_method=${method}`, method)).toBeUndefined();
      expect(refusal(undefined, `_method=${other}`, method)).toBeUndefined();
      expect(bodyMayOverrideMethod(method, undefined)).toBe(false);
      expect(bodyMayOverrideMethod(method, 'application/json')).toBe(true);
    },
  );

  it('is read for the types frameworks parse', () => {
    expect(bodyMayOverrideMethod('POST', 'application/x-www-form-urlencoded')).toBe(true);
    expect(bodyMayOverrideMethod('post', undefined)).toBe(true);
    expect(bodyMayOverrideMethod('POST', 'application/problem+json')).toBe(true);
    expect(bodyMayOverrideMethod('POST', 'multipart/related; boundary=x')).toBe(true);
    expect(bodyMayOverrideMethod('POST', 'application/octet-stream')).toBe(false);
    expect(bodyMayOverrideMethod('POST', 'text/plain')).toBe(false);
    expect(bodyMayOverrideMethod('PUT', 'application/octet-stream')).toBe(false);
  });
});
