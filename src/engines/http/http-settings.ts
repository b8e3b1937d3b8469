// What the HTTP engine needs to serve one connection, built from gatehouse.yaml by connection-settings.ts
// and swapped whole on reload. Secrets inside are revealed only where a request is sent upstream.

import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { DetectorSet } from '../../masking/index.js';
import type { AwsCredentialSource } from './aws/aws-credentials.js';
import type { ClientLimits } from './client-limits.js';
import type { FieldMatcher } from './field-names.js';

export interface ResponseMasking {
  readonly detectors: DetectorSet;
  /** The detector names `detectors` was built from (the masking thread rebuilds it from them). */
  readonly enabledDetectors: readonly string[] | 'all';
  /** JSON keys / XML element names masked whole. */
  readonly fieldNames: readonly string[];
  readonly fields: FieldMatcher;
  readonly style: 'redact' | 'partial';
  /** Largest JSON/XML API response buffered and masked; larger ones are withheld. */
  readonly maxBodyBytes: number;
  /** Largest object body scanned when a rule sets `mask`; larger ones are withheld. */
  readonly objectScanMaxBytes: number;
}

export interface AwsUpstream {
  readonly region: string;
  readonly credentials: AwsCredentialSource;
  /** Upstream base URL for a service signing name. */
  endpointFor(service: string): URL;
  /** Region to sign for (IAM is global and signs for us-east-1). */
  signingRegionFor(service: string): string;
  /** Signing names clients may call; undefined: every classified service. */
  readonly services: ReadonlySet<string> | undefined;
}

export interface GenericUpstream {
  readonly base: URL;
  /** The base URL's path as a prefix ('' for `/`, never a trailing `/`); every request path goes under it. */
  readonly prefix: string;
  /** The credential headers to add (computed per request so the secret is revealed only then). */
  readonly authHeaders: () => Readonly<Record<string, string>>;
  /**
   * The credential's values as an upstream that echoes its request would send them back (the token,
   * the password and the basic header's base64, the API key): never relayed to a client (class 257).
   */
  readonly credentialValues: () => readonly string[];
}

export interface UpstreamTls {
  readonly ca?: Buffer;
  readonly rejectUnauthorized: boolean;
}

export interface HttpConnectionSettings {
  readonly name: string;
  /** Exactly one of aws / generic. */
  readonly aws?: AwsUpstream;
  readonly generic?: GenericUpstream;
  /** Non-secret headers added to every upstream request. */
  readonly staticHeaders: Readonly<Record<string, string>>;
  readonly masking: ResponseMasking;
  readonly maxRequestBodyBytes: number;
  readonly holdTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  /** Time and concurrency one client may hold (client-limits.ts). */
  readonly clientLimits: ClientLimits;
  readonly websockets: boolean;
  /**
   * The upstream's Set-Cookie headers are withheld from every client: a session opened for a request
   * that carried the gateway's credential is that credential (`responseCookies`, docs/security.md class 157).
   */
  readonly withholdCookies: boolean;
  readonly tls: UpstreamTls;
  readonly dispatcher: Dispatcher;
  /** Set when the connection goes through an agent (`via`): opens its upstream sockets, TLS included. */
  readonly openSocket?: (url: URL) => Promise<Duplex>;
}

/** A gateway-issued AWS access key, resolved to its secret and a gate token for its principal. */
export interface ResolvedAwsKey {
  readonly secretAccessKey: string;
  /** Presented to gate.openSession: the key's service token. Never sent anywhere. */
  readonly token: string;
}

/** Looks up gateway-issued AWS access keys (src/identity/aws-access-keys.ts implements it). */
export interface AwsKeyResolver {
  resolve(accessKeyId: string): Promise<ResolvedAwsKey | undefined>;
}
