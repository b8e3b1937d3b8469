// client_connection_check_interval (PostgreSQL 14 and later): while a backend runs a statement it
// looks this often whether its client (Gatehouse's upstream socket) is still there, and ends the
// statement and itself when not. A backend running a statement does not read its socket, so without
// it a statement outlives the Gatehouse session it came from for as long as it runs, when the
// CancelRequest Gatehouse sends at the session's end is lost or comes too early (docs/security.md,
// class 168). Gatehouse sets it at every upstream login and refuses every change to it, as it does
// for the settings it pins (pinned-settings.ts).

import type { SettingChange } from '../../core/sql-statement.js';
import { limitMs } from '../../sql/postgres/session-limits.js';
import { UpstreamError } from './upstream-connection.js';

export const CONNECTION_CHECK_SETTING = 'client_connection_check_interval';
/** What Gatehouse sends at login. */
export const CONNECTION_CHECK_VALUE = '1s';
const CONNECTION_CHECK_MS = 1000;

/** True when `value` (as a client wrote it) is the value Gatehouse sets. */
export function acceptsConnectionCheck(value: string): boolean {
  return limitMs(value) === CONNECTION_CHECK_MS;
}

/**
 * Why a statement's setting changes would change the check for this session, or undefined. RESET
 * returns it to the login value; ALTER ROLE, DATABASE or SYSTEM … SET change only what a session
 * starts with, which Gatehouse's own startup value outranks.
 */
export function connectionCheckViolation(changes: readonly SettingChange[] | undefined): string | undefined {
  for (const change of changes ?? []) {
    if (change.name !== CONNECTION_CHECK_SETTING || change.via === 'reset' || change.via === 'alter')
      continue;
    if (change.value !== undefined && acceptsConnectionCheck(change.value)) continue;
    return (
      `${CONNECTION_CHECK_SETTING} is pinned to ${CONNECTION_CHECK_VALUE} by Gatehouse and cannot be changed: ` +
      'it ends a statement whose session ended while it ran, so that no statement outlives its session upstream'
    );
  }
  return undefined;
}

/**
 * The upstream refused the setting at login: a server before PostgreSQL 14 does not know it
 * (42704), and one on a platform that cannot check a socket accepts only 0 (22023). The login is
 * then tried again without it (the CancelRequest at the session's end remains).
 */
export function refusedConnectionCheck(e: unknown): boolean {
  return (
    e instanceof UpstreamError &&
    (e.fields?.C === '42704' || e.fields?.C === '22023') &&
    (e.fields.M ?? e.message).includes(CONNECTION_CHECK_SETTING)
  );
}
