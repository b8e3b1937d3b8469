// The Engine contract: one per wire protocol. An engine turns its protocol into Actions, asks the
// gate, and answers in its own protocol's terms. Engines never import each other, a store or the API.

import type { Logger } from '../core/ports.js';

export interface ListeningAddress {
  readonly host: string;
  readonly port: number;
}

export interface Engine {
  readonly protocol: string;
  start(): Promise<ListeningAddress>;
  /** Stops accepting, then closes live sessions (recording their end). */
  stop(): Promise<void>;
  /** Live session count, for health and metrics. */
  readonly liveSessions: number;
}

export interface EngineLogger extends Logger {}
