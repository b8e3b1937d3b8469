// What the Kubernetes engine needs to serve one connection, built from gatehouse.yaml at load and
// swapped whole on reload: the API server, the gateway's own credential (token, client certificate or
// EKS), masking and limits. Secrets are resolved here and revealed only where a request goes upstream.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import type { KubernetesConnectionConfig, SecretRef } from '../../config/schema.js';
import { toMs } from '../../config/schema.js';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';
import { createDetectorSet, DEFAULT_SENSITIVE_KEYS, type DetectorSet } from '../../masking/index.js';
import type { AwsCredentials } from '../../wire/aws/sigv4-signer.js';
import { clientLimitsFrom, type ClientLimits } from '../http/client-limits.js';
import { EksTokenSource } from './eks-token.js';
import { kubeFieldNames, nameMatcher, type NameMatcher } from './kube-masking.js';

export interface RevealableSecret {
  reveal(): string;
}

export interface KubeSettingsDeps {
  readonly resolveSecret: (ref: SecretRef) => Promise<RevealableSecret>;
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface KubeUpstreamTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
}

export interface KubeMasking {
  readonly detectors: DetectorSet;
  /** Pod env variable names whose values are masked whole. */
  readonly envNames: NameMatcher;
  /** Field names whose values are masked whole in any object: the sensitive names and envNames. */
  readonly fieldNames: readonly string[];
  readonly maxBodyBytes: number;
}

export interface KubeConnectionSettings {
  readonly name: string;
  /** The API server's base URL (a path prefix is kept). */
  readonly server: URL;
  /** The gateway's credential headers for one upstream request (revealed only here). */
  readonly authHeaders: () => Promise<Readonly<Record<string, string>>>;
  readonly tls: KubeUpstreamTls;
  readonly dispatcher: Dispatcher;
  readonly masking: KubeMasking;
  /** Largest body of a request that needs approval (read whole before it; larger: 413). */
  readonly maxRequestBodyBytes: number;
  readonly holdTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  /** Time and concurrency one client may hold (../http/client-limits.ts). */
  readonly clientLimits: ClientLimits;
  readonly recordMaxBytes: number;
}

function configError(message: string): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message);
}

async function awsCredentials(
  name: string,
  auth: Extract<KubernetesConnectionConfig['auth'], { type: 'eks' }>,
  deps: KubeSettingsDeps,
): Promise<AwsCredentials> {
  const c = auth.credentials;
  if (c) {
    const accessKeyId =
      typeof c.accessKeyId === 'string' ? c.accessKeyId : (await deps.resolveSecret(c.accessKeyId)).reveal();
    const secretAccessKey = (await deps.resolveSecret(c.secretAccessKey)).reveal();
    const sessionToken = c.sessionToken ? (await deps.resolveSecret(c.sessionToken)).reveal() : undefined;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  const accessKeyId = deps.env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = deps.env['AWS_SECRET_ACCESS_KEY'];
  const sessionToken = deps.env['AWS_SESSION_TOKEN'];
  if (!accessKeyId || !secretAccessKey)
    throw configError(
      `connection ${name}: no AWS credentials for EKS: set auth.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the gateway`,
    );
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export async function buildKubeConnectionSettings(
  name: string,
  config: KubernetesConnectionConfig,
  deps: KubeSettingsDeps,
): Promise<KubeConnectionSettings> {
  const server = new URL(config.upstream.server);
  if (server.protocol !== 'https:')
    throw configError(
      `connection ${name}: upstream.server must be an https URL (the credential travels in it)`,
    );
  const ca = config.upstream.ca ? readFileSync(path.resolve(deps.baseDir, config.upstream.ca)) : undefined;
  let tls: KubeUpstreamTls = {
    ...(ca ? { ca } : {}),
    ...(config.upstream.serverName ? { servername: config.upstream.serverName } : {}),
  };
  let authHeaders: () => Promise<Readonly<Record<string, string>>>;
  const auth = config.auth;
  switch (auth.type) {
    case 'token': {
      const token = await deps.resolveSecret(auth.token);
      authHeaders = async () => ({ authorization: `Bearer ${token.reveal().trim()}` });
      break;
    }
    case 'client-certificate': {
      const cert = readFileSync(path.resolve(deps.baseDir, auth.cert));
      const key = Buffer.from((await deps.resolveSecret(auth.key)).reveal(), 'utf8');
      tls = { ...tls, cert, key };
      authHeaders = async () => ({});
      break;
    }
    case 'eks': {
      const credentials = await awsCredentials(name, auth, deps);
      const source = new EksTokenSource({
        cluster: auth.cluster,
        region: auth.region,
        credentials: async () => credentials,
        ...(auth.stsEndpoint ? { stsEndpoint: new URL(auth.stsEndpoint) } : {}),
      });
      authHeaders = async () => ({ authorization: `Bearer ${await source.token()}` });
      break;
    }
  }
  const m = config.masking;
  return {
    name,
    server,
    authHeaders,
    tls,
    dispatcher: new Agent({
      connect: { ...tls, rejectUnauthorized: true },
      keepAliveTimeout: 4_000,
    }),
    masking: {
      detectors: createDetectorSet({ enabled: m.detectors }),
      envNames: nameMatcher(m.envNames ?? DEFAULT_SENSITIVE_KEYS),
      fieldNames: kubeFieldNames(m.envNames),
      maxBodyBytes: m.maxBodyBytes,
    },
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    holdTimeoutMs: toMs(config.holdTimeout),
    upstreamTimeoutMs: toMs(config.upstreamTimeout),
    clientLimits: clientLimitsFrom(config.clientLimits),
    recordMaxBytes: config.exec.recordMaxBytes,
  };
}

/** The listener's certificate and key (read at start: a listener address needs a restart anyway). */
export function kubeListenerTls(
  config: KubernetesConnectionConfig,
  baseDir: string,
): { cert: Buffer; key: Buffer } {
  return {
    cert: readFileSync(path.resolve(baseDir, config.listenTls.cert)),
    key: readFileSync(path.resolve(baseDir, config.listenTls.key)),
  };
}
