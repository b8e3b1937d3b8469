// What the web console needs from the running gateway, as narrow ports wired by src/main.ts. The
// console never reaches an engine, the gate or a concrete store directly.

import type { PreauthSignals } from '../core/preauth.js';
import type { ConsoleConfig } from '../config/console-schema.js';
import type { GatehouseConfig, SecretRef } from '../config/schema.js';
import type { Authenticator, Logger, SessionStore, TokenStore } from '../core/ports.js';
import type { SqlClassifier } from '../core/sql-statement.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { ServiceTokenIssuer } from '../identity/service-tokens.js';
import type { ExplainingPolicyDecider } from '../policy/policy-decider.js';
import type { BlobStore } from '../recording/blob-store.js';
import type { RecordSigningKey } from '../recording/record-signing-key.js';
import type { EventReader } from '../store/event-queries.js';
import type { ConsoleSessionStore } from './console-sessions.js';
import type { AssertionReplayCache } from './saml-caches.js';

/** A session live in this gateway process. */
export interface LiveSession {
  readonly id: string;
  readonly subject: string;
  readonly connection: string;
  readonly protocol: string;
}

/** Live sessions and ending them (the gate's registry). */
export interface LiveSessionControl {
  live(): readonly LiveSession[];
  /** Ends a live session here; false when it is not live in this process. */
  endSession(id: string, reason: string): boolean;
}

export interface ConsoleStore extends SessionStore, EventReader {
  countStatements?(sessionId: string): Promise<{ total: number; denied: number; review: number }>;
}

export interface ConsoleTokens {
  readonly issuer: ServiceTokenIssuer;
  readonly store: TokenStore;
  /** Makes a revocation immediate in this process (the authenticator's cache). */
  noteRevoked(id: string): void;
}

export interface ConsoleDeps {
  readonly authenticator: Authenticator;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  readonly store: ConsoleStore;
  readonly recording: { readonly key: RecordSigningKey; readonly blobs: BlobStore };
  readonly approvals?: ApprovalService;
  readonly tokens?: ConsoleTokens;
  readonly config: () => GatehouseConfig;
  /** Directory of the config file (relative paths such as the SAML certificate resolve against it). */
  readonly baseDir: string;
  /** The running policy (grants are not layered on: the playground shows the configured policy). */
  readonly policy: () => ExplainingPolicyDecider;
  readonly classifier: SqlClassifier;
  readonly live: LiveSessionControl;
  readonly resolveSecret: (ref: SecretRef) => Promise<string>;
  /** Base URL browsers reach this gateway at (no trailing slash). */
  readonly publicUrl: () => string;
  readonly logger: Logger;
  /** Replaceable for tests; default in memory. */
  readonly sessions?: ConsoleSessionStore;
  readonly samlReplay?: AssertionReplayCache;
}

export function consoleConfig(deps: ConsoleDeps): ConsoleConfig {
  return deps.config().console;
}
