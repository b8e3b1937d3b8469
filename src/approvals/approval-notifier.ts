// Sends approval notices to the configured channels without ever blocking the data path: each notice
// is delivered in the background with a bounded number of retries, and a bounded number in flight.
// Notices carry the request (statement, principal, reason, preview) and its URL, never a secret.

import type { Logger } from '../core/ports.js';
import type { ApprovalRequest } from './approval-types.js';

export type NoticeEvent =
  'approval.requested' | 'approval.approved' | 'approval.denied' | 'approval.expired' | 'approval.withdrawn';

export interface ApprovalNotice {
  readonly event: NoticeEvent;
  readonly request: ApprovalRequest;
  readonly url: string;
  readonly at: Date;
}

export interface NotificationChannel {
  readonly name: string;
  /** Which events this channel sends (Slack: requests and their outcome; webhook: all). */
  wants(event: NoticeEvent): boolean;
  /** Rejects on failure; the notifier retries. */
  send(notice: ApprovalNotice): Promise<void>;
}

export interface NotifierOptions {
  readonly channels: () => readonly NotificationChannel[];
  readonly logger: Logger;
  /** Called once per channel that delivered a notice (the service records `approval.notified`). */
  readonly onDelivered?: (channel: string, notice: ApprovalNotice) => void;
  readonly retryDelaysMs?: readonly number[];
  readonly maxInFlight?: number;
}

export class ApprovalNotifier {
  #inFlight = 0;
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly opts: NotifierOptions) {}

  /** Fire and forget. */
  notify(notice: ApprovalNotice): void {
    let channels: readonly NotificationChannel[];
    try {
      channels = this.opts.channels().filter((c) => c.wants(notice.event));
    } catch (err) {
      this.opts.logger.error({ err: String(err) }, 'approval notifiers could not be built');
      return;
    }
    for (const channel of channels) {
      if (this.#inFlight >= (this.opts.maxInFlight ?? 200)) {
        this.opts.logger.warn(
          { channel: channel.name, request: notice.request.id },
          'approval notice dropped: too many in flight',
        );
        continue;
      }
      this.#inFlight++;
      const p = this.#deliver(channel, notice).finally(() => {
        this.#inFlight--;
        this.#pending.delete(p);
      });
      this.#pending.add(p);
    }
  }

  async #deliver(channel: NotificationChannel, notice: ApprovalNotice): Promise<void> {
    const delays = this.opts.retryDelaysMs ?? [500, 2_000, 5_000];
    for (let attempt = 0; ; attempt++) {
      try {
        await channel.send(notice);
        this.opts.onDelivered?.(channel.name, notice);
        return;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined) {
          this.opts.logger.warn(
            { channel: channel.name, request: notice.request.id, err: String(err) },
            'approval notice not delivered',
          );
          return;
        }
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /** Waits for notices in flight (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }
}

/** POSTs with a timeout; rejects on a non-2xx answer. Never puts the URL in the error (it may be a secret). */
export async function postWithTimeout(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = 5_000,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers,
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
}
