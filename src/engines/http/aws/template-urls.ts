// CloudFormation fetches a template or a stack policy from the S3 URL a request names (`TemplateURL`,
// `StackPolicyURL`, `StackPolicyDuringUpdateURL`, in any operation, a stack set's too), with the
// caller's credentials — the gateway's — and answers with what it read: GetTemplateSummary and
// ValidateTemplate hand back the object's Description, parameters and resource types, a stack's
// GetTemplate its whole body. So each such URL is the s3:GetObject of the object it names, decided
// with the request (an implied part, as a copy's source read is: s3-copy-source.ts). CloudFormation
// takes S3 URLs only; a URL whose bucket and key Gatehouse cannot tell (another host, an access
// point, a query, a port, credentials) leaves the request unknown (docs/security.md, class 324).

import type { AwsClassification, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { parseCopySource } from './s3-copy-source.js';

/** Parameters whose value is a URL CloudFormation fetches (the last dotted part of a query name). */
const URL_PARAMS = new Set(['TemplateURL', 'StackPolicyURL', 'StackPolicyDuringUpdateURL']);

/** `s3.amazonaws.com`, `s3.<region>.amazonaws.com`, `s3-<region>.amazonaws.com`, dual-stack, China. */
const S3_HOST = /^s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$/;
/** `<bucket>.s3…amazonaws.com`: virtual-hosted style. */
const VIRTUAL_HOST =
  /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.(s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?)$/;

/** The object a CloudFormation URL names, as a copy source would name it (`bucket/key`), or why not. */
export function templateObject(url: string): { readonly source: string } | { readonly refused: string } {
  const m = /^(https?):\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(url) ?? /^(s3):\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(url);
  if (!m) return { refused: 'is not an S3 URL without a query ("https://<bucket>.s3.amazonaws.com/<key>")' };
  const scheme = m[1]!.toLowerCase();
  const host = m[2]!.toLowerCase();
  const rawPath = m[3] ?? '';
  if (scheme === 's3') return { source: `${host}${rawPath}` };
  if (S3_HOST.test(host)) return { source: rawPath.slice(1) };
  const v = VIRTUAL_HOST.exec(host);
  if (v && !v[1]!.endsWith('.s3')) return { source: `${v[1]}${rawPath}` };
  return { refused: 'names a host that is not S3’s (or a port, credentials, an access point)' };
}

/** The URLs a CloudFormation request has CloudFormation fetch (see the header). */
export function templateUrlsInQuery(params: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [name, value] of params) if (URL_PARAMS.has(name.split('.').at(-1)!)) out.push(value);
  return out;
}

/** The classification with each URL's object read decided as s3:GetObject on it. */
export function withTemplateReads(
  service: string,
  cls: AwsClassification,
  urls: () => readonly string[],
): AwsClassification {
  if (cls.operation === undefined || service !== 'cloudformation') return cls;
  const reads: ImpliedRequest[] = [];
  for (const url of urls()) {
    const object = templateObject(url);
    if ('refused' in object) return unknown(cls.protocol, `the template or policy URL ${object.refused}`);
    const parsed = parseCopySource(object.source);
    if (!parsed.ok)
      return unknown(
        cls.protocol,
        `the template or policy URL ${parsed.reason.replace(/^x-amz-copy-source /, '')}`,
      );
    const src = parsed.source;
    reads.push({
      operation: 's3:GetObject',
      method: 'GET',
      path: src.path,
      rawQuery: src.rawQuery,
      resource: `${src.bucket}/${src.key}`,
      headers: { 'template-url': url.slice(0, 2048) },
    });
  }
  return reads.length === 0 ? cls : { ...cls, implied: [...(cls.implied ?? []), ...reads] };
}
