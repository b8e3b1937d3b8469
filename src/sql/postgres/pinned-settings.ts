// The settings that decide how PostgreSQL reads the bytes of a statement. Gatehouse parses every
// statement as the server will only if these hold, so it fixes them at upstream login and refuses
// every visible way to change them, for every principal (docs/security.md, "the lexer is pinned").
import type { SettingChange } from '../../core/sql-statement.js';

export interface PinnedSetting {
  /** The value Gatehouse sends at login (a startup parameter outranks role and database defaults). */
  readonly value: string;
  /** True when `value` (as a client wrote it) means the pinned value to PostgreSQL. */
  accepts(value: string): boolean;
  /** Why it is pinned, for the refusal message. */
  readonly why: string;
}

/** PostgreSQL's parse_bool(): on/off, true/false, yes/no, 1/0 and unique prefixes of them. */
export function parsePgBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '') return undefined;
  if ('true'.startsWith(v) || 'yes'.startsWith(v)) return true;
  if ('false'.startsWith(v) || 'no'.startsWith(v)) return false;
  if (v === 'on') return true;
  if (v === 'off' || v === 'of') return false;
  if (v === '1') return true;
  if (v === '0') return false;
  return undefined;
}

/** PostgreSQL's clean_encoding_name(): lower-case letters and digits only ("UTF-8" → "utf8"). */
function cleanEncodingName(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export const PINNED_SETTINGS: Readonly<Record<string, PinnedSetting>> = Object.freeze({
  client_encoding: {
    value: 'UTF8',
    accepts: (v) => ['utf8', 'unicode'].includes(cleanEncodingName(v)),
    why:
      'Gatehouse reads statements as UTF-8; in another client encoding (SJIS, BIG5, GBK, GB18030…) a multibyte ' +
      'character can end in a backslash or a quote byte, and the server would split the text differently',
  },
  standard_conforming_strings: {
    value: 'on',
    accepts: (v) => parsePgBool(v) === true,
    why:
      "with standard_conforming_strings off, a backslash inside '…' escapes the next character, so the server " +
      'would see a string end where Gatehouse does not',
  },
  backslash_quote: {
    value: 'safe_encoding',
    accepts: (v) => v.trim().toLowerCase() === 'safe_encoding',
    why: "it decides whether \\' may quote a quote inside E'…' strings, which Gatehouse reads as in PostgreSQL's default",
  },
});

/** The pinned setting called `name` (case-insensitive, as PostgreSQL compares setting names). */
export function pinnedSetting(name: string): PinnedSetting | undefined {
  return Object.hasOwn(PINNED_SETTINGS, name.toLowerCase()) ? PINNED_SETTINGS[name.toLowerCase()] : undefined;
}

/**
 * Why a setting change breaks the pin, or undefined when it keeps it. RESET and SET … DEFAULT return
 * a pinned setting to its login value (the pinned one), so they keep it; a change whose name or value
 * Gatehouse cannot read (set_config with a computed argument, an UPDATE of pg_settings) does not.
 */
export function pinViolation(change: SettingChange): string | undefined {
  if (change.name === '?' || change.via === 'pg_settings') {
    return change.via === 'pg_settings'
      ? 'an UPDATE of pg_settings can change any setting, including the ones Gatehouse pins (client_encoding, standard_conforming_strings, backslash_quote); use SET instead'
      : 'set_config() with a setting name that is not a constant could change a setting Gatehouse pins; name the setting as a constant';
  }
  if (change.name === '*') return undefined; // RESET ALL, DISCARD ALL: back to the login values
  const pinned = pinnedSetting(change.name);
  if (pinned === undefined || change.via === 'reset') return undefined;
  if (change.value !== undefined && pinned.accepts(change.value)) return undefined;
  const to = change.value === undefined ? 'a value Gatehouse cannot read' : `'${change.value}'`;
  return `${change.name} is pinned to ${pinned.value} by Gatehouse and cannot be changed (to ${to}): ${pinned.why}`;
}

/** The first pin violation among a statement's setting changes. */
export function firstPinViolation(changes: readonly SettingChange[] | undefined): string | undefined {
  if (changes === undefined) return undefined;
  for (const c of changes) {
    const v = pinViolation(c);
    if (v !== undefined) return v;
  }
  return undefined;
}
