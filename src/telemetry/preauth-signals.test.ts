// The rate-limited refusal log: every refusal counted, the first few of a window logged per listener
// and reason, then one summary when the window ends; windows of other listeners or reasons apart.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../core/ports.js';
import { PrometheusRegistry } from './prometheus-registry.js';
import { PreauthRefusalLog } from './preauth-signals.js';

function recorder(): { logger: Logger; lines: { obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
  const push = (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { info: push, warn: push, error: push, debug: push } };
}

afterEach(() => vi.useRealTimers());

describe('PreauthRefusalLog', () => {
  it('counts every refusal, logs the first N per window and then one summary', async () => {
    vi.useFakeTimers();
    const registry = new PrometheusRegistry();
    const { logger, lines } = recorder();
    const log = new PreauthRefusalLog(registry, logger, { perWindow: 3, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) log.refused('postgres', 'credentials_unknown', '::ffff:10.0.0.7');
    log.refused('http', 'header_timeout', '10.0.0.8');
    expect(lines.map((l) => l.obj)).toEqual([
      { listener: 'postgres', reason: 'credentials_unknown', source: '10.0.0.7' },
      { listener: 'postgres', reason: 'credentials_unknown', source: '10.0.0.7' },
      { listener: 'postgres', reason: 'credentials_unknown', source: '10.0.0.7' },
      { listener: 'http', reason: 'header_timeout', source: '10.0.0.8' },
    ]);
    vi.advanceTimersByTime(60_000);
    expect(lines.slice(4)).toEqual([
      {
        obj: { listener: 'postgres', reason: 'credentials_unknown', suppressed: 7, windowSeconds: 60 },
        msg: 'refused before authentication: more refusals not logged in this window',
      },
    ]);
    // A new window logs again.
    log.refused('postgres', 'credentials_unknown');
    expect(lines).toHaveLength(6);
    expect(lines[5]!.obj).toEqual({ listener: 'postgres', reason: 'credentials_unknown' });
    const text = await registry.render();
    expect(text).toContain(
      'gatehouse_preauth_refusals_total{listener="postgres",reason="credentials_unknown"} 11',
    );
    expect(text).toContain('gatehouse_preauth_refusals_total{listener="http",reason="header_timeout"} 1');
  });

  it('flush writes the summaries still due; a source that is not an address is left out', () => {
    const { logger, lines } = recorder();
    const log = new PreauthRefusalLog(new PrometheusRegistry(), logger, { perWindow: 1 });
    log.refused('api', 'credentials_missing', 'not an address; secret=hunter2');
    log.refused('api', 'credentials_missing', '127.0.0.1');
    log.flush();
    expect(lines.map((l) => l.obj)).toEqual([
      { listener: 'api', reason: 'credentials_missing' },
      { listener: 'api', reason: 'credentials_missing', suppressed: 1, windowSeconds: 60 },
    ]);
  });
});
