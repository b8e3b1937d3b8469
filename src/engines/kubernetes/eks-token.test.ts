import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EKS_TOKEN_PREFIX, mintEksToken } from './eks-token.js';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

describe('EKS tokens', () => {
  it('are k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity that signs x-k8s-aws-id', async () => {
    const at = new Date('2026-03-01T10:20:30Z');
    const token = await mintEksToken(
      { cluster: 'prod', region: 'eu-west-1', credentials: async () => creds },
      at,
    );
    expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    expect(token).not.toMatch(/[=+/]/);
    const url = new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    const p = url.searchParams;
    expect(p.get('Action')).toBe('GetCallerIdentity');
    expect(p.get('Version')).toBe('2011-06-15');
    expect(p.get('X-Amz-Expires')).toBe('60');
    expect(p.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(p.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260301/eu-west-1/sts/aws4_request');
    expect(token).not.toContain(creds.secretAccessKey);

    // Recompute the signature independently (SigV4 query authentication).
    const query = [...p.entries()]
      .filter(([k]) => k !== 'X-Amz-Signature')
      .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonical = [
      'GET',
      '/',
      query,
      'host:sts.eu-west-1.amazonaws.com',
      'x-k8s-aws-id:prod',
      '',
      'host;x-k8s-aws-id',
      createHash('sha256').update('').digest('hex'),
    ].join('\n');
    const toSign = [
      'AWS4-HMAC-SHA256',
      '20260301T102030Z',
      '20260301/eu-west-1/sts/aws4_request',
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    let key = hmac(`AWS4${creds.secretAccessKey}`, '20260301');
    for (const part of ['eu-west-1', 'sts', 'aws4_request']) key = hmac(key, part);
    expect(p.get('X-Amz-Signature')).toBe(hmac(key, toSign).toString('hex'));
  });
});
