// Builds HttpConnectionSettings from an `http` connection in gatehouse.yaml: upstream, credential
// injection, AWS credentials (static or an assumed role), masking. Secrets are resolved here, at load.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent } from 'undici';
import type { HttpConnectionConfig, SecretRef } from '../../config/schema.js';
import { toMs } from '../../config/schema.js';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';
import type { Logger, UpstreamDialer } from '../../core/ports.js';
import { basePrefix } from '../../wire/http/canonical-path.js';
import {
  AssumedRoleCredentials,
  StaticCredentials,
  type AwsCredentialSource,
} from './aws/aws-credentials.js';
import { bodyMaskers } from './body-masking.js';
import { DEFAULT_RESPONSE_FIELDS } from './field-names.js';
import { clientLimitsFrom } from './client-limits.js';
import type { AwsUpstream, GenericUpstream, HttpConnectionSettings } from './http-settings.js';
import { undiciConnector, upstreamSocketOpener } from './upstream-socket.js';
import { closeAfterBodyless } from './bodyless-status.js';

export interface RevealableSecret {
  reveal(): string;
}

export interface SettingsDeps {
  readonly resolveSecret: (ref: SecretRef) => Promise<RevealableSecret>;
  /** Directory relative paths (tls.ca) resolve against. */
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** Opens upstream sockets for a connection with `via` (docs/agent.md). */
  readonly dialer?: UpstreamDialer;
}

function configError(message: string): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message);
}

/** The public endpoint of an AWS service in a region (standard partition). */
export function defaultAwsEndpoint(service: string, region: string): URL {
  if (service === 'iam')
    return new URL(
      region.startsWith('cn-') ? 'https://iam.cn-north-1.amazonaws.com.cn' : 'https://iam.amazonaws.com',
    );
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${service}.${region}.${suffix}`);
}

async function awsUpstream(
  name: string,
  auth: Extract<HttpConnectionConfig['auth'], { type: 'aws-sigv4' }>,
  deps: SettingsDeps,
): Promise<AwsUpstream> {
  let base: AwsCredentialSource;
  if (auth.credentials) {
    const c = auth.credentials;
    const accessKeyId =
      typeof c.accessKeyId === 'string' ? c.accessKeyId : (await deps.resolveSecret(c.accessKeyId)).reveal();
    const secretAccessKey = (await deps.resolveSecret(c.secretAccessKey)).reveal();
    const sessionToken = c.sessionToken ? (await deps.resolveSecret(c.sessionToken)).reveal() : undefined;
    base = new StaticCredentials({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
  } else {
    const accessKeyId = deps.env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = deps.env['AWS_SECRET_ACCESS_KEY'];
    const sessionToken = deps.env['AWS_SESSION_TOKEN'];
    if (!accessKeyId || !secretAccessKey) {
      throw configError(
        `connection ${name}: no AWS credentials: set auth.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the gateway`,
      );
    }
    base = new StaticCredentials({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
  }
  const endpoints = new Map<string, URL>();
  for (const [service, url] of Object.entries(auth.endpoints)) endpoints.set(service, new URL(url));
  const region = auth.region;
  const signingRegionFor = (service: string): string =>
    service === 'iam' && !region.startsWith('cn-') && !region.startsWith('us-gov-') ? 'us-east-1' : region;
  const credentials = auth.assumeRole
    ? new AssumedRoleCredentials({
        base,
        roleArn: auth.assumeRole.roleArn,
        sessionName: auth.assumeRole.sessionName,
        ...(auth.assumeRole.externalId ? { externalId: auth.assumeRole.externalId } : {}),
        durationSeconds: Math.max(900, Math.round(toMs(auth.assumeRole.duration) / 1000)),
        region,
        stsEndpoint: new URL(
          auth.assumeRole.stsEndpoint ?? endpoints.get('sts')?.href ?? defaultAwsEndpoint('sts', region).href,
        ),
        ...(deps.logger ? { logger: deps.logger } : {}),
      })
    : base;
  return {
    region,
    credentials,
    endpointFor: (service) => endpoints.get(service) ?? defaultAwsEndpoint(service, region),
    signingRegionFor,
    services: auth.services ? new Set(auth.services) : undefined,
  };
}

async function genericUpstream(
  name: string,
  config: HttpConnectionConfig,
  deps: SettingsDeps,
): Promise<GenericUpstream> {
  const url = new URL(config.upstream!);
  const prefix = basePrefix(url.pathname);
  if (prefix === undefined)
    throw configError(
      `connection ${name}: the upstream path ${url.pathname} is not canonical (no encoded "/", "\\", ".", "%" or ";", no "//" or ";" parameters)`,
    );
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw configError(
      `connection ${name}: the upstream URL must be scheme://host[:port][/path] (no query, fragment or user info; use auth for credentials)`,
    );
  const base = { base: url, prefix };
  const auth = config.auth;
  switch (auth.type) {
    case 'none':
      return { ...base, authHeaders: () => ({}), credentialValues: () => [] };
    case 'bearer': {
      const token = await deps.resolveSecret(auth.token);
      return {
        ...base,
        authHeaders: () => ({ authorization: `Bearer ${token.reveal()}` }),
        credentialValues: () => [token.reveal()],
      };
    }
    case 'basic': {
      const password = await deps.resolveSecret(auth.password);
      const user = auth.username;
      return {
        ...base,
        authHeaders: () => ({
          authorization: `Basic ${Buffer.from(`${user}:${password.reveal()}`).toString('base64')}`,
        }),
        credentialValues: () => {
          const pair = `${user}:${password.reveal()}`;
          return [Buffer.from(pair).toString('base64'), pair, password.reveal()];
        },
      };
    }
    case 'header': {
      const value = await deps.resolveSecret(auth.value);
      const header = auth.name.toLowerCase();
      return {
        ...base,
        authHeaders: () => ({ [header]: value.reveal() }),
        credentialValues: () => [value.reveal()],
      };
    }
    case 'aws-sigv4':
      throw configError('aws-sigv4 connections have no generic upstream');
  }
}

/** The listener's own certificate and key (read once at start: a listener address needs a restart anyway). */
export function listenerTls(
  config: HttpConnectionConfig,
  baseDir: string,
): { cert: Buffer; key: Buffer } | undefined {
  if (!config.listenTls) return undefined;
  return {
    cert: readFileSync(path.resolve(baseDir, config.listenTls.cert)),
    key: readFileSync(path.resolve(baseDir, config.listenTls.key)),
  };
}

/**
 * Whether the upstream's cookies are withheld: as configured, else whenever Gatehouse adds anything to
 * what the client sent (a credential, or headers, which may hold one). An upstream that opens a session
 * for such a request hands out a credential derived from the gateway's own, which works for any method
 * and without Gatehouse wherever the upstream is reachable; no principal's policy covers that.
 */
export function withholdsCookies(config: HttpConnectionConfig): boolean {
  if (config.responseCookies !== undefined) return config.responseCookies === 'withhold';
  return config.auth.type !== 'none' || Object.keys(config.headers).length > 0;
}

export async function buildHttpConnectionSettings(
  name: string,
  config: HttpConnectionConfig,
  deps: SettingsDeps,
): Promise<HttpConnectionSettings> {
  const m = config.masking;
  const fieldNames = [...(m.fields ?? DEFAULT_RESPONSE_FIELDS), ...m.extraFields];
  const ca = config.tls.ca ? readFileSync(path.resolve(deps.baseDir, config.tls.ca)) : undefined;
  const tls = { ...(ca ? { ca } : {}), rejectUnauthorized: config.tls.rejectUnauthorized };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
  const openSocket =
    config.via && deps.dialer ? upstreamSocketOpener(deps.dialer, config.via, tls, name) : undefined;
  const upstream =
    config.auth.type === 'aws-sigv4'
      ? { aws: await awsUpstream(name, config.auth, deps) }
      : { generic: await genericUpstream(name, config, deps) };
  return {
    name,
    ...upstream,
    staticHeaders: headers,
    masking: {
      ...bodyMaskers(m.detectors, fieldNames),
      enabledDetectors: m.detectors,
      fieldNames,
      style: m.style,
      maxBodyBytes: m.maxBodyBytes,
      objectScanMaxBytes: m.objectScanMaxBytes,
    },
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    holdTimeoutMs: toMs(config.holdTimeout),
    upstreamTimeoutMs: toMs(config.upstreamTimeout),
    clientLimits: clientLimitsFrom(config.clientLimits),
    websockets: config.websockets,
    withholdCookies: withholdsCookies(config),
    tls,
    ...(openSocket ? { openSocket } : {}),
    dispatcher: new Agent({
      connect: openSocket ? undiciConnector(openSocket) : tls,
      keepAliveTimeout: 4_000,
    }).compose(closeAfterBodyless),
  };
}
