// The limits an agent's session starts with (timeouts an operator sets with ALTER ROLE/DATABASE …
// SET or postgresql.conf) are the gateway's to keep: an agent may lower them, never raise or turn
// them off, by any way a setting changes (docs/security.md, class 131). Pure: no I/O.
import type { SettingChange } from '../../core/sql-statement.js';

/** Settings that bound how long this session's work may run, wait or idle (all in milliseconds). */
export const SESSION_LIMITS: readonly string[] = [
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'transaction_timeout',
];

/** Whether `name` (case-insensitive, as PostgreSQL compares setting names) is a session limit. */
export function isSessionLimit(name: string): boolean {
  return SESSION_LIMITS.includes(name.toLowerCase());
}

/** The limits' values at login, in ms (pg_settings.setting; 0 means none); the gateway's own query. */
export const SESSION_LIMITS_SQL =
  'SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN (' +
  SESSION_LIMITS.map((n) => `'${n}'`).join(', ') +
  ')';

// PostgreSQL's time units (docs 19.1.1, case-sensitive) in milliseconds.
const UNIT_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A limit's value in ms as PostgreSQL reads it, or undefined when Gatehouse does not read it the same
 * way for sure (hex or octal integers, exponents, other units: refused, fail closed). A plain number
 * is in ms, the limits' base unit.
 */
export function limitMs(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s|min|h|d)?\s*$/.exec(raw);
  if (m === null) return undefined;
  if (/^0\d/.test(m[1]!)) return undefined; // an octal integer to strtol
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
}

/**
 * Why an agent's setting change lifts a limit, or undefined. `ceilings` holds each limit's value at
 * login (ms, 0 for none). A limit may be set to a value of at least 1 ms and at most its ceiling (any
 * value when it had none), or reset to it; ALTER ROLE/DATABASE/SYSTEM … SET or RESET of one changes
 * the ceiling of later sessions, and is refused.
 */
export function limitViolation(
  change: SettingChange,
  ceilings: ReadonlyMap<string, number>,
): string | undefined {
  const name = change.name;
  if (change.via === 'alter') {
    if (name !== '*' && name !== '?' && !isSessionLimit(name)) return undefined;
    return `${name === '*' || name === '?' ? 'this change' : name} would change the limits later sessions start with, which the gateway keeps for agents`;
  }
  if (name === '*' || change.via === 'reset' || !isSessionLimit(name)) return undefined;
  const ceiling = ceilings.get(name) ?? 0;
  if (ceiling === 0) return undefined;
  const ms = change.value === undefined ? undefined : limitMs(change.value);
  if (ms !== undefined && ms >= 1 && ms <= ceiling) return undefined;
  const to = change.value === undefined ? 'a value Gatehouse cannot read' : `'${change.value}'`;
  return `${name} is ${ceiling} ms for this session and an agent cannot raise or turn it off (to ${to}); set a lower value, or RESET it`;
}

/** The first limit an agent's statement would lift. */
export function firstLimitViolation(
  changes: readonly SettingChange[] | undefined,
  ceilings: ReadonlyMap<string, number>,
): string | undefined {
  for (const c of changes ?? []) {
    const v = limitViolation(c, ceilings);
    if (v !== undefined) return v;
  }
  return undefined;
}
