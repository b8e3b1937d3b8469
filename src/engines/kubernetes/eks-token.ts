// EKS bearer tokens (aws-iam-authenticator's format): `k8s-aws-v1.` + base64url of a presigned STS
// GetCallerIdentity URL whose signed headers include `x-k8s-aws-id: <cluster>`. The API server calls STS
// with it to learn the gateway's IAM identity. Minted with the gateway's own AWS credentials, cached
// well inside their 15-minute validity, never shown to a client or written to a log.

import { presignUrl, type AwsCredentials } from '../../wire/aws/sigv4-signer.js';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';

export interface EksTokenOptions {
  readonly cluster: string;
  readonly region: string;
  readonly credentials: () => Promise<AwsCredentials>;
  /** Default https://sts.<region>.amazonaws.com (the regional endpoint EKS expects). */
  readonly stsEndpoint?: URL;
  readonly now?: () => Date;
}

/** A fresh token is minted when the cached one is older than this (EKS accepts 15 minutes). */
const REUSE_MS = 10 * 60 * 1000;

export async function mintEksToken(o: EksTokenOptions, at: Date): Promise<string> {
  const endpoint =
    o.stsEndpoint ??
    new URL(`https://sts.${o.region}.amazonaws.com${o.region.startsWith('cn-') ? '.cn' : ''}/`);
  const url = new URL('/?Action=GetCallerIdentity&Version=2011-06-15', endpoint);
  const signed = await presignUrl({
    method: 'GET',
    url,
    headers: { 'x-k8s-aws-id': o.cluster },
    region: o.region,
    service: 'sts',
    credentials: await o.credentials(),
    expiresInSeconds: 60,
    now: at,
  });
  return EKS_TOKEN_PREFIX + Buffer.from(signed.href, 'utf8').toString('base64url');
}

export class EksTokenSource {
  #cached: { token: string; at: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(private readonly options: EksTokenOptions) {}

  async token(): Promise<string> {
    const now = this.options.now?.() ?? new Date();
    if (this.#cached && now.getTime() - this.#cached.at < REUSE_MS) return this.#cached.token;
    this.#pending ??= mintEksToken(this.options, now)
      .then((token) => {
        this.#cached = { token, at: now.getTime() };
        return token;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  toJSON(): string {
    return '[eks token source]';
  }
}
