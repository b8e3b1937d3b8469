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

const AWS_SECRET_CANDIDATE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
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

/**
 * AWS secret access keys are 40 base64-ish characters with no prefix, so the shape alone would flag
 * every 40-character random string. A candidate (mixed case and digits, so never a hex SHA-1) counts
 * only when it is the whole value (after trimming), when "secret" appears within 80 characters before
 * it, or when an access key ID appears within 300 characters of it.
 */
export function scanAwsSecretKeys(text: string, out: Finding[]): void {
  const re = AWS_SECRET_CANDIDATE;
  re.lastIndex = 0;
  let ts = 0;
  let te = text.length;
  while (ts < te && text.charCodeAt(ts) <= 32) ts++;
  while (te > ts && text.charCodeAt(te - 1) <= 32) te--;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m.index;
    const e = s + 40;
    if (!mixed(text, s, e)) continue;
    const whole = s === ts && e === te;
    if (
      whole ||
      AWS_SECRET_CONTEXT.test(text.slice(Math.max(0, s - CONTEXT_BEFORE), s)) ||
      AWS_KEY_ID.test(text.slice(Math.max(0, s - KEY_ID_WINDOW), Math.min(text.length, e + KEY_ID_WINDOW)))
    ) {
      push(out, 'aws_secret_access_key', text, s, e);
    }
  }
}

const AZURE_CONNECTION_KEY = /(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{20,}={0,2})/gi;
/** A 64-byte key in base64 is exactly 86 characters and `==`. */
const AZURE_BARE_KEY = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{86}==(?![A-Za-z0-9/+=])/g;

/** Azure storage account keys and Service Bus/Event Hubs shared access keys. */
export function scanAzureKeys(text: string, out: Finding[]): void {
  const conn = AZURE_CONNECTION_KEY;
  conn.lastIndex = 0;
  for (let m = conn.exec(text); m !== null; m = conn.exec(text)) {
    const value = m[1] as string;
    const end = m.index + m[0].length;
    push(out, 'azure_key', text, end - value.length, end);
  }
  const bare = AZURE_BARE_KEY;
  bare.lastIndex = 0;
  for (let m = bare.exec(text); m !== null; m = bare.exec(text)) {
    if (mixed(text, m.index, m.index + 86)) push(out, 'azure_key', text, m.index, m.index + 88);
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

const SLACK_WEBHOOK = /(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{10,}/g;

export function scanSlackWebhooks(text: string, out: Finding[]): void {
  if (text.indexOf('hooks.slack.com/') === -1) return;
  const re = SLACK_WEBHOOK;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    push(out, 'slack_webhook', text, m.index, m.index + m[0].length);
  }
}
