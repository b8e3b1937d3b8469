// API keys and tokens recognised by their vendor prefix: AWS access key IDs, GCP API keys, GitHub,
// GitLab, Slack, Stripe, OpenAI and Anthropic keys, and JWTs. One scan over [A-Za-z0-9_-] runs, no regex.

import { ALNUM, DIGIT, UPPER, classOf, classesIn, isWordCode } from './char-class.js';
import type { Finding } from './finding.js';
import { jwtEnd } from './jwt-detector.js';

export const PREFIXED_TOKEN_DETECTORS = [
  'aws_access_key_id',
  'gcp_api_key',
  'github_token',
  'gitlab_token',
  'slack_token',
  'stripe_key',
  'openai_key',
  'anthropic_key',
  'jwt',
] as const;
export type PrefixedTokenDetector = (typeof PREFIXED_TOKEN_DETECTORS)[number];

/** AWS unique-id prefixes of access keys (AKIA long-term, ASIA temporary) and other principals. */
const AWS_ID_PREFIXES = ['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA', 'ANVA', 'AIPA'];
const GITHUB_PREFIXES = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'];
const GITLAB_PREFIXES = ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-'];
const SLACK_PREFIXES = ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'xoxe-', 'xapp-'];
const STRIPE_PREFIXES = ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'];
const OPENAI_SCOPED = ['proj-', 'svcacct-', 'admin-'];

function startsWithAny(text: string, start: number, prefixes: readonly string[]): string | undefined {
  for (const p of prefixes) if (text.startsWith(p, start)) return p;
  return undefined;
}

/** Every character of text[start, end) has one of the class bits in `allowed`. */
function allOf(text: string, start: number, end: number, allowed: number): boolean {
  for (let i = start; i < end; i++) if ((classOf(text.charCodeAt(i)) & allowed) === 0) return false;
  return true;
}

/** A token body with letters of both cases and a digit: random keys have them, words and slugs don't. */
function mixed(text: string, start: number, end: number): boolean {
  return classesIn(text, start, end) === ALNUM;
}

interface Match {
  detector: PrefixedTokenDetector;
  end: number;
}

/** The token at text[s, e) (a maximal [A-Za-z0-9_-] run), if any. */
function matchToken(text: string, s: number, e: number): Match | undefined {
  const len = e - s;
  switch (text.charCodeAt(s)) {
    case 65: // A
      if (len === 20 && startsWithAny(text, s, AWS_ID_PREFIXES) && allOf(text, s + 4, e, UPPER | DIGIT)) {
        return { detector: 'aws_access_key_id', end: e };
      }
      if (len === 39 && text.startsWith('AIza', s)) return { detector: 'gcp_api_key', end: e };
      return undefined;
    case 103: {
      // g
      if (startsWithAny(text, s, GITHUB_PREFIXES) && len >= 40 && allOf(text, s + 4, e, ALNUM)) {
        return { detector: 'github_token', end: e };
      }
      if (text.startsWith('github_pat_', s) && len >= 11 + 22) return { detector: 'github_token', end: e };
      const gl = startsWithAny(text, s, GITLAB_PREFIXES);
      if (gl && len - gl.length >= 20) return { detector: 'gitlab_token', end: e };
      return undefined;
    }
    case 120: {
      // x
      const sl = startsWithAny(text, s, SLACK_PREFIXES);
      if (sl && len - sl.length >= 10 && (classesIn(text, s + sl.length, e) & DIGIT) !== 0) {
        return { detector: 'slack_token', end: e };
      }
      return undefined;
    }
    case 115: // s
    case 114: {
      // r
      const st = startsWithAny(text, s, STRIPE_PREFIXES);
      if (st)
        return len - st.length >= 16 && allOf(text, s + st.length, e, ALNUM)
          ? { detector: 'stripe_key', end: e }
          : undefined;
      if (!text.startsWith('sk-', s)) return undefined;
      if (text.startsWith('sk-ant-', s))
        return len - 7 >= 20 ? { detector: 'anthropic_key', end: e } : undefined;
      const scoped = startsWithAny(text, s + 3, OPENAI_SCOPED);
      const body = s + 3 + (scoped?.length ?? 0);
      if (e - body < 20) return undefined;
      return scoped || mixed(text, body, e) ? { detector: 'openai_key', end: e } : undefined;
    }
    case 119: // w
      if (text.startsWith('whsec_', s) && len - 6 >= 20 && allOf(text, s + 6, e, ALNUM))
        return { detector: 'stripe_key', end: e };
      return undefined;
    case 101: {
      // e
      if (!text.startsWith('eyJ', s)) return undefined;
      const end = jwtEnd(text, s, e);
      return end > 0 ? { detector: 'jwt', end } : undefined;
    }
    default:
      return undefined;
  }
}

export function scanPrefixedTokens(text: string, enabled: ReadonlySet<string>, out: Finding[]): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isWordCode(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isWordCode(text.charCodeAt(j))) j++;
    if (j - i >= 15) {
      const m = matchToken(text, i, j);
      if (m && enabled.has(m.detector)) {
        out.push({ detector: m.detector, start: i, end: m.end, text: text.slice(i, m.end) });
        i = m.end;
        continue;
      }
    }
    i = j;
  }
}
