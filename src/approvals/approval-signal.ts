// Wakes whoever waits on an approval request when its state changes: in-process for the embedded
// store, PostgreSQL LISTEN/NOTIFY for a shared store so a decision made on another replica wakes
// the holder at once. A signal is only a hint to re-read the request: it never carries a decision.

import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../core/ports.js';

/** What changed, when known: lets listeners skip what they do not care about. */
export type SignalKind = 'statement' | 'access';

/**
 * `*` means "something may have been missed, re-check everything" (e.g. after a reconnect); its
 * kind is undefined, as it is when the publisher did not say.
 */
export type SignalListener = (requestId: string, kind?: SignalKind) => void;

export interface ApprovalSignal {
  publish(requestId: string, kind?: SignalKind): Promise<void>;
  subscribe(listener: SignalListener): () => void;
  close(): Promise<void>;
}

export class LocalApprovalSignal implements ApprovalSignal {
  protected readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(requestId: string, kind?: SignalKind): Promise<void> {
    this.emit(requestId, kind);
    return Promise.resolve();
  }

  protected emit(requestId: string, kind?: SignalKind): void {
    this.emitter.emit('change', requestId, kind);
  }

  subscribe(listener: SignalListener): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
}

export const APPROVAL_CHANNEL = 'gatehouse_approvals';
/** Payload: `<s|a>:<request id>` (statement or access request), or a bare id. */
const PAYLOAD = /^(?:([sa]):)?([A-Za-z0-9-]{1,64})$/;

/**
 * One dedicated connection per replica LISTENs on `gatehouse_approvals`; a change is published with
 * pg_notify on the same connection and emitted locally at once (the local holder does not wait for
 * the round trip). The connection reconnects with backoff; after a reconnect listeners get `*`.
 */
export class PostgresApprovalSignal extends LocalApprovalSignal {
  #client: pg.Client | undefined;
  #closed = false;
  #retryMs = 100;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  static async open(url: string, logger: Logger): Promise<PostgresApprovalSignal> {
    const s = new PostgresApprovalSignal(url, logger);
    await s.#connect();
    return s;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'gatehouse-approvals',
      connectionTimeoutMillis: 10_000,
    });
    client.on('notification', (n) => {
      const m = n.channel === APPROVAL_CHANNEL && n.payload ? PAYLOAD.exec(n.payload) : null;
      if (m) this.emit(m[2]!, m[1] === 'a' ? 'access' : m[1] === 's' ? 'statement' : undefined);
    });
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.#reconnectLater();
    };
    client.on('error', (err) => {
      this.logger.warn({ err: err.message }, 'approval signal connection failed; reconnecting');
      lost();
    });
    client.on('end', lost);
    await client.connect();
    await client.query(`LISTEN ${APPROVAL_CHANNEL}`);
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = 100;
  }

  #reconnectLater(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect()
        .then(() => this.emit('*'))
        .catch((err: unknown) => {
          this.logger.warn({ err: String(err) }, 'approval signal reconnect failed');
          this.#retryMs = Math.min(this.#retryMs * 2, 5_000);
          this.#reconnectLater();
        });
    }, this.#retryMs);
    this.#timer.unref();
  }

  override async publish(requestId: string, kind?: SignalKind): Promise<void> {
    this.emit(requestId, kind);
    const client = this.#client;
    if (!client) return;
    try {
      const payload = kind ? `${kind === 'access' ? 'a' : 's'}:${requestId}` : requestId;
      await client.query('select pg_notify($1, $2)', [APPROVAL_CHANNEL, payload]);
    } catch (err) {
      // Other replicas still see the change at their next poll of the request.
      this.logger.warn({ err: String(err) }, 'approval signal publish failed');
    }
  }

  override async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await super.close();
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
