// The limits an agent's session starts with (timeouts, memory bounds, parallel workers and the
// planner's search an operator sets with ALTER ROLE/DATABASE … SET or postgresql.conf) are the
// gateway's to keep: an agent may lower them, never raise or turn them off, by any way a setting
// changes (docs/security.md, classes 131, 176 and 213).
// Pure: no I/O.
import type { SettingChange } from '../../core/sql-statement.js';

/** Settings that bound how long this session's work may run, wait or idle (all in milliseconds). */
const TIME_LIMITS: readonly string[] = [
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'transaction_timeout',
];

/**
 * Settings that bound how much memory one sort, hash or maintenance operation of this session may take
 * before it spills to disk (in kB), and the factor hash operations multiply work_mem by. Nothing on
 * the server caps what a session sets them to: `SET work_mem = '64GB'` with a large hash or sort takes
 * the server's memory, and the kernel's OOM killer then restarts every backend (class 176). Likewise
 * the memory logical decoding holds before it spills, and the share of shared buffers a VACUUM or
 * ANALYZE of this session may fill (class 213).
 */
const MEMORY_LIMITS: readonly string[] = [
  'work_mem',
  'maintenance_work_mem',
  'logical_decoding_work_mem',
  'vacuum_buffer_usage_limit',
];
const FACTOR_LIMITS: readonly string[] = ['hash_mem_multiplier'];
/** Memory counted in 8 kB blocks: this session's buffers for temporary tables (class 213). */
const BLOCK_LIMITS: readonly string[] = ['temp_buffers'];
/**
 * Counts whose size is what the session may take (class 213): parallel workers (each takes its own
 * work_mem for each sort and hash, and the server's shared pool of workers), the planner's exhaustive
 * search (the number of relations it joins by dynamic programming, whose memory grows exponentially:
 * a 13-way join planned with geqo off took 2 GB and 20 s to plan, with work_mem at 4 MB), the genetic
 * optimizer's pool and generations, and the sample ANALYZE holds in memory (300 rows per unit).
 */
const COUNT_LIMITS: readonly string[] = [
  'max_parallel_workers_per_gather',
  'max_parallel_maintenance_workers',
  'join_collapse_limit',
  'from_collapse_limit',
  'geqo_threshold',
  'geqo_effort',
  'geqo_pool_size',
  'geqo_generations',
  'default_statistics_target',
];
/** Switches whose `on` takes more: the leader joins its parallel workers' work (class 213). */
const SWITCH_LIMITS: readonly string[] = ['parallel_leader_participation'];
/** Switches whose `off` takes more: without geqo, the planner searches every join order (class 213). */
const GUARD_LIMITS: readonly string[] = ['geqo'];

/** Every setting whose login value is the session's ceiling for an agent. */
export const SESSION_LIMITS: readonly string[] = [
  ...TIME_LIMITS,
  ...MEMORY_LIMITS,
  ...FACTOR_LIMITS,
  ...BLOCK_LIMITS,
  ...COUNT_LIMITS,
  ...SWITCH_LIMITS,
  ...GUARD_LIMITS,
];

/** Whether `name` (case-insensitive, as PostgreSQL compares setting names) is a session limit. */
export function isSessionLimit(name: string): boolean {
  return SESSION_LIMITS.includes(name.toLowerCase());
}

/**
 * The limits' values at login, in their base units (pg_settings.setting: ms for the timeouts, 0 meaning
 * none; kB for the memory bounds, 8 kB blocks for temp_buffers; a factor; a count; on or off), read
 * with limitValue; the gateway's own query.
 */
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

// PostgreSQL's memory units (docs 19.1.1, case-sensitive) in kB, the memory bounds' base unit.
const UNIT_KB: Readonly<Record<string, number>> = {
  B: 1 / 1024,
  kB: 1,
  MB: 1024,
  GB: 1024 * 1024,
  TB: 1024 * 1024 * 1024,
};

/** A memory bound's value in kB as PostgreSQL reads it, or undefined (as limitMs, for memory units). */
export function limitKb(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(B|kB|MB|GB|TB)?\s*$/.exec(raw);
  if (m === null) return undefined;
  if (/^0\d/.test(m[1]!)) return undefined; // an octal integer to strtol
  return Number(m[1]) * UNIT_KB[m[2] ?? 'kB']!;
}

/** A factor (hash_mem_multiplier) as PostgreSQL reads it, or undefined: plain decimals only. */
function limitFactor(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*$/.exec(raw);
  return m === null ? undefined : Number(m[1]);
}

/** A count as PostgreSQL reads it, or undefined: plain decimal integers only (no hex, octal, fraction). */
function limitCount(raw: string): number | undefined {
  const m = /^\s*(0|[1-9]\d*)\s*$/.exec(raw);
  return m === null ? undefined : Number(m[1]);
}

/** A switch as PostgreSQL's parse_bool reads it (1 on, 0 off), or undefined. */
function limitSwitch(raw: string): number | undefined {
  if (/^(?:t|tr|tru|true|y|ye|yes|on|1)$/i.test(raw)) return 1;
  if (/^(?:f|fa|fal|fals|false|n|no|of|off|0)$/i.test(raw)) return 0;
  return undefined;
}

/** A memory bound counted in 8 kB blocks: a plain number is blocks, a value with a unit is converted. */
function limitBlocks(raw: string): number | undefined {
  if (/^\s*(\d+(?:\.\d*)?|\.\d+)\s*$/.test(raw)) return limitKb(raw) === undefined ? undefined : Number(raw);
  const kb = limitKb(raw);
  return kb === undefined ? undefined : Math.round(kb / 8);
}

/**
 * A limit's value in its base unit (ms, kB or a factor) as PostgreSQL reads it, or undefined when
 * Gatehouse does not read it the same way for sure (refused, fail closed).
 */
export function limitValue(name: string, raw: string): number | undefined {
  const lower = name.toLowerCase();
  if (MEMORY_LIMITS.includes(lower)) return limitKb(raw);
  if (FACTOR_LIMITS.includes(lower)) return limitFactor(raw);
  if (BLOCK_LIMITS.includes(lower)) return limitBlocks(raw);
  if (COUNT_LIMITS.includes(lower)) return limitCount(raw);
  if (SWITCH_LIMITS.includes(lower)) return limitSwitch(raw);
  if (GUARD_LIMITS.includes(lower)) {
    const on = limitSwitch(raw);
    return on === undefined ? undefined : 1 - on;
  }
  return limitMs(raw);
}

/** A limit's ceiling as a person reads it, for messages. */
function shown(name: string, ceiling: number): string {
  if (MEMORY_LIMITS.includes(name)) return `${ceiling} kB`;
  if (BLOCK_LIMITS.includes(name)) return `${ceiling} blocks of 8 kB`;
  if (SWITCH_LIMITS.includes(name)) return ceiling === 0 ? 'off' : 'on';
  if (GUARD_LIMITS.includes(name)) return ceiling === 0 ? 'on' : 'off';
  if (TIME_LIMITS.includes(name)) return `${ceiling} ms`;
  return String(ceiling);
}

/**
 * Why an agent's setting change lifts a limit, or undefined. `ceilings` holds each limit's value at
 * login in its base unit (a timeout's 0 is none). A limit may be set to a value above 0 (a timeout: at
 * least 1 ms) and at most its ceiling (any value when it had none), or reset to it; ALTER ROLE/DATABASE/SYSTEM … SET or RESET of one changes
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
  const time = TIME_LIMITS.includes(name);
  // A timeout's 0 is none; a setting the server does not know has no ceiling (the server refuses it).
  const ceiling = ceilings.get(name) ?? (time ? 0 : undefined);
  if (ceiling === undefined || (time && ceiling === 0)) return undefined;
  const v = change.value === undefined ? undefined : limitValue(name, change.value);
  // A timeout of less than 1 ms rounds to 0 (none); a count or a switch may be 0 (none, off); a
  // memory bound or factor below the server's minimum is refused by the server itself.
  const counted = [...COUNT_LIMITS, ...SWITCH_LIMITS, ...GUARD_LIMITS].includes(name);
  const floor = time ? 1 : counted ? 0 : Number.MIN_VALUE;
  if (v !== undefined && v >= floor && v <= ceiling) return undefined;
  const to = change.value === undefined ? 'a value Gatehouse cannot read' : `'${change.value}'`;
  if (GUARD_LIMITS.includes(name))
    return `${name} is on for this session and an agent cannot turn it off (to ${to}); RESET it`;
  return `${name} is ${shown(name, ceiling)} for this session and an agent cannot raise or turn it off (to ${to}); set a lower value, or RESET it`;
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
