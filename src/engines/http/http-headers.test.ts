import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders } from './http-headers.js';

const generic = { aws: false, awsChunked: false };
const aws = { aws: true, awsChunked: false };

describe('request headers a CGI-style server reads as withheld ones (docs/security.md, classes 41 and 156)', () => {
  // PHP's server hands a header to the application as HTTP_<NAME>, every character but a letter or
  // digit read as "_"; so each of these names is, there, a header Gatehouse withholds.
  const aliases = [
    'x_http_method_override',
    'x.http.method.override',
    'x-http-method.override',
    'x~http~method~override',
    'x.method.override',
    'x.http.method',
    'x.original.url',
    'x.rewrite.url',
    'x.forwarded.for',
    'x.forwarded.host',
    'x_forwarded_proto',
    'content.length',
    'proxy.authorization',
    // httpoxy: HTTP_PROXY is the proxy of the upstream application's own HTTP client.
    'proxy',
  ];

  it('forwards none of them to a generic upstream, nor any name but letters, digits and "-"', () => {
    const headers = Object.fromEntries([...aliases, 'x.api.version', 'x|note'].map((n) => [n, 'v']));
    const out = forwardRequestHeaders({ ...headers, 'x-request-id': 'kept', accept: 'kept' }, generic);
    expect(out).toEqual({ 'x-request-id': 'kept', accept: 'kept' });
  });

  it('forwards none of them to AWS either, which keeps other names (x-amz-meta-my_key)', () => {
    const headers = Object.fromEntries(aliases.map((n) => [n, 'v']));
    const out = forwardRequestHeaders({ ...headers, 'x-amz-meta-my_key': 'kept' }, aws);
    expect(out).toEqual({ 'x-amz-meta-my_key': 'kept' });
  });
});
