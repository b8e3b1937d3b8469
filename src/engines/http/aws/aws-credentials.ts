// Where the gateway's own AWS credentials come from: fixed keys (config or environment), or a role
// assumed through STS with them and refreshed before it expires. Credentials never leave this process.

import { request as undiciRequest, type Dispatcher } from 'undici';
import { ERROR_CODES, GatewayError } from '../../../core/errors.js';
import type { Logger } from '../../../core/ports.js';
import { sha256Hex } from '../../../wire/aws/node-sha256.js';
import { signUpstreamRequest, type AwsCredentials } from '../../../wire/aws/sigv4-signer.js';
import { readXmlElement } from '../xml-text.js';

export interface AwsCredentialSource {
  get(): Promise<AwsCredentials>;
}

export class StaticCredentials implements AwsCredentialSource {
  readonly #credentials: AwsCredentials;
  constructor(credentials: AwsCredentials) {
    this.#credentials = credentials;
  }
  async get(): Promise<AwsCredentials> {
    return this.#credentials;
  }
  toJSON(): string {
    return '[aws credentials]';
  }
}

export interface AssumeRoleOptions {
  readonly base: AwsCredentialSource;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly externalId?: string;
  readonly durationSeconds: number;
  readonly region: string;
  readonly stsEndpoint: URL;
  readonly dispatcher?: Dispatcher;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

/** Renew this long before the assumed credentials expire. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** sts:AssumeRole with the base credentials (query protocol, API version 2011-06-15), cached until near expiry. */
export class AssumedRoleCredentials implements AwsCredentialSource {
  #current: { credentials: AwsCredentials; expiresAt: number } | undefined;
  #pending: Promise<AwsCredentials> | undefined;

  constructor(private readonly options: AssumeRoleOptions) {}

  async get(): Promise<AwsCredentials> {
    const now = (this.options.now?.() ?? new Date()).getTime();
    if (this.#current && this.#current.expiresAt - REFRESH_MARGIN_MS > now) return this.#current.credentials;
    this.#pending ??= this.assume().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  toJSON(): string {
    return '[aws credentials]';
  }

  private async assume(): Promise<AwsCredentials> {
    const o = this.options;
    const form = new URLSearchParams({
      Action: 'AssumeRole',
      Version: '2011-06-15',
      RoleArn: o.roleArn,
      RoleSessionName: o.sessionName,
      DurationSeconds: String(o.durationSeconds),
      ...(o.externalId ? { ExternalId: o.externalId } : {}),
    })
      .toString()
      .replace(/\+/g, '%20');
    const path = o.stsEndpoint.pathname || '/';
    const headers = await signUpstreamRequest({
      method: 'POST',
      target: o.stsEndpoint,
      rawPath: path,
      query: {},
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-amz-content-sha256': sha256Hex(form),
      },
      region: o.region,
      service: 'sts',
      credentials: await o.base.get(),
    });
    let status: number;
    let text: string;
    try {
      const res = await undiciRequest(new URL(path, o.stsEndpoint), {
        method: 'POST',
        headers,
        body: form,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (cause) {
      throw new GatewayError(
        ERROR_CODES.UPSTREAM_UNAVAILABLE,
        'the gateway could not reach STS to assume its role',
        { cause },
      );
    }
    const accessKeyId = readXmlElement(text, 'AccessKeyId');
    const secretAccessKey = readXmlElement(text, 'SecretAccessKey');
    const sessionToken = readXmlElement(text, 'SessionToken');
    const expiration = readXmlElement(text, 'Expiration');
    if (status !== 200 || !accessKeyId || !secretAccessKey || !sessionToken) {
      // The STS error body names the role and reason; it is logged by code only, never returned to a client.
      o.logger?.error(
        { status, stsError: readXmlElement(text, 'Code') ?? 'unknown', roleArn: o.roleArn },
        'sts:AssumeRole failed',
      );
      throw new GatewayError(
        ERROR_CODES.UPSTREAM_UNAVAILABLE,
        'the gateway could not assume its configured AWS role',
      );
    }
    const expiresAt = expiration ? Date.parse(expiration) : NaN;
    const credentials = { accessKeyId, secretAccessKey, sessionToken };
    this.#current = {
      credentials,
      expiresAt: Number.isNaN(expiresAt)
        ? (o.now?.() ?? new Date()).getTime() + o.durationSeconds * 1000
        : expiresAt,
    };
    return credentials;
  }
}
