// Credentials with no vendor prefix, recognised by shape plus context: AWS secret access keys, Azure
// storage/Service Bus keys and SAS signatures, Slack webhook URLs. Regex based; gated by the pre-filter.

import { ALNUM, classesIn } from './char-class.js';
import type { Finding } from './finding.js';

export const CLOUD_CREDENTIAL_DETECTORS = [
  'aws_secret_access_key',
  'azure_key',
  'azure_sas_signature',
  'slack_webhook',
] as const;

const AWS_KEY_ID = /(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])/;
/** `aws_secret_access_key =`, `SecretAccessKey:`, `secret_key` … just before the value. */
const AWS_SECRET_CONTEXT = /secret/i;
const CONTEXT_BEFORE = 80;
const KEY_ID_WINDOW = 300;

/** Upper, lower and digit all present: random keys have them, hex digests and words do not. */
function mixed(text: string, start: number, end: number): boolean {
  return classesIn(text, start, end) === ALNUM;
}

function push(out: Finding[], detector: string, text: string, start: number, end: number): void {
  out.push({ detector, start, end, text: text.slice(start, end) });
}

function isStdBase64Code(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

const CONNECTION_KEY_NAMES = ['accountkey', 'sharedaccesskey'];

/** Whether the value at `start` follows `AccountKey=` or `SharedAccessKey=` (any case, spaces allowed). */
function afterConnectionKeyName(text: string, start: number): boolean {
  let p = start - 1;
  while (p >= 0 && text.charCodeAt(p) === 32) p--;
  if (p < 0 || text.charCodeAt(p) !== 61) return false;
  p--;
  while (p >= 0 && text.charCodeAt(p) === 32) p--;
  const end = p + 1;
  for (const name of CONNECTION_KEY_NAMES) {
    if (end >= name.length && text.slice(end - name.length, end).toLowerCase() === name) return true;
  }
  return false;
}

/**
 * One pass over runs of standard base64 ([A-Za-z0-9+/] then `=` padding) for the prefix-less cloud keys.
 *
 * AWS secret access keys are 40 such characters, so the shape alone would flag every 40-character
 * random string. A run of exactly 40 with mixed case and digits (never a hex SHA-1) counts only when
 * it is the whole value (after trimming), when "secret" appears within 80 characters before it, or
 * when an access key ID appears within 300 characters of it; and then every other occurrence of the
 * same value in the text counts too.
 *
 * Azure keys: any run of 20+ after `AccountKey=` / `SharedAccessKey=` in a text that has a run of 40+
 * (real keys are 44 or 88 characters), and a bare 64-byte key: exactly 86 characters and `==`, mixed
 * case and digits.
 */
export function scanBase64Credentials(text: string, out: Finding[], aws: boolean, azure: boolean): void {
  const n = text.length;
  let ts = 0;
  let te = n;
  while (ts < te && text.charCodeAt(ts) <= 32) ts++;
  while (te > ts && text.charCodeAt(te - 1) <= 32) te--;
  // 40-character candidates without context, kept in case the same value is confirmed elsewhere.
  let unconfirmed: number[] | undefined;
  let confirmed: Set<string> | undefined;
  let i = 0;
  while (i < n) {
    if (!isStdBase64Code(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const s = i;
    while (i < n && isStdBase64Code(text.charCodeAt(i))) i++;
    const e = i;
    let pe = e;
    while (pe < n && text.charCodeAt(pe) === 61) pe++;
    const len = e - s;
    const pad = pe - e;
    i = pe;
    if (len < 20) continue;
    if (azure && pad <= 2 && afterConnectionKeyName(text, s)) {
      push(out, 'azure_key', text, s, pe);
      continue;
    }
    if (azure && len === 86 && pad === 2 && mixed(text, s, e)) {
      push(out, 'azure_key', text, s, pe);
      continue;
    }
    if (aws && len === 40 && pad === 0 && mixed(text, s, e)) {
      const whole = s === ts && e === te;
      if (
        whole ||
        AWS_SECRET_CONTEXT.test(text.slice(Math.max(0, s - CONTEXT_BEFORE), s)) ||
        AWS_KEY_ID.test(text.slice(Math.max(0, s - KEY_ID_WINDOW), Math.min(n, e + KEY_ID_WINDOW)))
      ) {
        push(out, 'aws_secret_access_key', text, s, e);
        (confirmed ??= new Set()).add(text.slice(s, e));
      } else (unconfirmed ??= []).push(s);
    }
  }
  // A value shown to be a key in one place is a key everywhere in the text.
  if (confirmed && unconfirmed) {
    for (const s of unconfirmed)
      if (confirmed.has(text.slice(s, s + 40))) push(out, 'aws_secret_access_key', text, s, s + 40);
  }
}

/** The `sig=` parameter of an Azure SAS URL or token (the HMAC that makes it a bearer credential). */
const SAS_SIGNATURE = /(?:^|[?&;\s"'])sig=([A-Za-z0-9%+/=_-]{16,})/g;

export function scanSasSignatures(text: string, out: Finding[]): void {
  if (text.indexOf('sig=') === -1) return;
  const re = SAS_SIGNATURE;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = m[1] as string;
    const end = m.index + m[0].length;
    push(out, 'azure_sas_signature', text, end - value.length, end);
  }
}

const SLACK_WEBHOOK =
  /(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{10,}/g;

export function scanSlackWebhooks(text: string, out: Finding[]): void {
  if (text.indexOf('hooks.slack.com/') === -1) return;
  const re = SLACK_WEBHOOK;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    push(out, 'slack_webhook', text, m.index, m.index + m[0].length);
  }
}
