// Reconnect delays: exponential with jitter, so agents that lost the same gateway do not all come
// back in the same instant ("equal jitter": half the delay fixed, half random).

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
}

export function backoffDelay(
  attempt: number,
  s: BackoffSettings,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(s.maxMs, s.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
