// How long this thread's event loop is held, counted in the CPU time the thread itself used.
//
// Tests that bound how long the gateway (running in the test's process) holds its event loop must not
// count the time the machine kept the process off a CPU: clean-clone CI runs two test files side by
// side on two cores, with PostgreSQL, chromium and sshd, and a wall-clock gap of several hundred
// milliseconds there can be the kernel's, not the gateway's. A gap between two ticks counts the CPU
// this thread used in it (from /proc/thread-self/schedstat, nanoseconds), never more than its wall
// time. Where that file cannot be read, the process's CPU time stands in (which also counts other
// threads' work, so it can only over-count).

import { readFileSync } from 'node:fs';

function threadCpuMs(): number | undefined {
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
    const ns = Number(text.slice(0, text.indexOf(' ')));
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

const threadCpu = threadCpuMs() !== undefined;

/** This thread's CPU time so far, in milliseconds (the process's where the thread's cannot be read). */
export function cpuNowMs(): number {
  if (threadCpu) return threadCpuMs() ?? 0;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `fn` and says how long it held this thread: its CPU time, at most its wall time. */
export function cpuTimed<T>(fn: () => T): { value: T; ms: number } {
  const wall = performance.now();
  const cpu = cpuNowMs();
  const value = fn();
  return { value, ms: Math.min(performance.now() - wall, cpuNowMs() - cpu) };
}

/**
 * Watches this thread's event loop with a tick every `intervalMs`; `stop()` ends the watch and gives
 * the longest gap between ticks, counted as above (milliseconds).
 */
export function watchLoopHold(intervalMs = 5): { stop(): number } {
  let longest = 0;
  let wall = performance.now();
  let cpu = cpuNowMs();
  const tick = () => {
    const nowWall = performance.now();
    const nowCpu = cpuNowMs();
    longest = Math.max(longest, Math.min(nowWall - wall, nowCpu - cpu));
    wall = nowWall;
    cpu = nowCpu;
  };
  const timer = setInterval(tick, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      return longest;
    },
  };
}
