// Refusals before authentication, counted and logged (docs/operations.md, "Refusals before
// authentication"): `gatehouse_preauth_refusals_total{listener,reason}` and a warn line per refusal,
// rate-limited per listener and reason so a credential-stuffing run or a connection flood costs a
// counter increment per event and no log I/O past the first few. The first `perWindow` refusals of
// a (listener, reason) in a window are logged; the rest are counted, and when the window ends one
// summary line says how many were not logged. Labels and log fields come from closed sets and the
// peer's address only: no credential, header or user name ever reaches this module.

import type { MetricLabels, MetricRegistry } from '../core/metrics.js';
import type { Logger } from '../core/ports.js';
import type { PreauthListener, PreauthReason, PreauthSignals } from '../core/preauth.js';

export const PREAUTH_METRIC = 'gatehouse_preauth_refusals_total';

export interface PreauthSignalOptions {
  /** Refusals logged per listener and reason in one window (default 5). */
  readonly perWindow?: number;
  /** The window, in milliseconds (default 60 s). */
  readonly windowMs?: number;
}

interface Window {
  readonly labels: MetricLabels;
  logged: number;
  suppressed: number;
  timer: NodeJS.Timeout | undefined;
}

export class PreauthRefusalLog implements PreauthSignals {
  readonly #counter;
  readonly #perWindow: number;
  readonly #windowMs: number;
  /** One per (listener, reason) seen: bounded by the two closed sets. */
  readonly #windows = new Map<string, Window>();

  constructor(
    metrics: MetricRegistry,
    private readonly logger: Logger,
    options: PreauthSignalOptions = {},
  ) {
    this.#counter = metrics.counter({
      name: PREAUTH_METRIC,
      help: 'Callers refused or dropped before they were authenticated, by listener and reason',
      labels: ['listener', 'reason'],
    });
    this.#perWindow = options.perWindow ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
  }

  refused(listener: PreauthListener, reason: PreauthReason, source?: string): void {
    const key = `${listener}\u0000${reason}`;
    let w = this.#windows.get(key);
    if (!w) {
      w = { labels: Object.freeze({ listener, reason }), logged: 0, suppressed: 0, timer: undefined };
      this.#windows.set(key, w);
    }
    this.#counter.inc(w.labels);
    if (!w.timer) {
      // The window opens with its first refusal and closes windowMs later, with a summary if needed.
      const win = w;
      win.timer = setTimeout(() => this.#close(win), this.#windowMs);
      win.timer.unref();
    }
    if (w.logged < this.#perWindow) {
      w.logged += 1;
      const address = source === undefined ? undefined : plainAddress(source);
      this.logger.warn(
        { listener, reason, ...(address ? { source: address } : {}) },
        'refused before authentication',
      );
    } else w.suppressed += 1;
  }

  /** Ends every window now, writing the summaries still due (the gateway stopping). */
  flush(): void {
    for (const w of this.#windows.values()) {
      clearTimeout(w.timer);
      this.#close(w);
    }
  }

  #close(w: Window): void {
    w.timer = undefined;
    if (w.suppressed > 0) {
      this.logger.warn(
        {
          listener: w.labels.listener,
          reason: w.labels.reason,
          suppressed: w.suppressed,
          windowSeconds: this.#windowMs / 1000,
        },
        'refused before authentication: more refusals not logged in this window',
      );
    }
    w.logged = 0;
    w.suppressed = 0;
  }
}

/** An IP address as a socket reports it, without the IPv4-mapped prefix; anything else is dropped. */
function plainAddress(a: string): string | undefined {
  const s = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^[0-9a-fA-F:.]{2,45}$/.test(s) ? s : undefined;
}
