// A configured set of detectors: scan a text for sensitive spans and mask them in one of four styles.
// The hot path ("this cell holds nothing") is one pre-filter pass with no allocation.

import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { scanBase64Credentials, scanSasSignatures, scanSlackWebhooks } from './cloud-credentials.js';
import { compileCustomDetector } from './custom-regex-detector.js';
import type { CustomDetectorConfig } from './custom-regex-detector.js';
import {
  BUILTIN_DETECTORS,
  DETECTOR_NAME_PATTERN,
  ENCODED_PREFIX,
  isBuiltinDetector,
} from './detector-names.js';
import { compileDictionary } from './dictionary-detector.js';
import type { DictionaryConfig } from './dictionary-detector.js';
import { scanEmails } from './email-detector.js';
import { scanEncodedRuns } from './encoded-secrets.js';
import { NO_FINDINGS, resolveOverlaps } from './finding.js';
import type { Finding, MaskContext, MaskResult, MaskStyle, StyleChoice } from './finding.js';
import { scanIbans } from './iban-detector.js';
import { hmacTag, partialMask, redactTag } from './mask-styles.js';
import { scanNumbers } from './number-scanner.js';
import { scanMd5Verifiers, scanPasswordHashes } from './password-hash.js';
import { PREFIXED_TOKEN_DETECTORS, scanPrefixedTokens } from './prefixed-tokens.js';
import { scanPrivateKeys } from './private-key-pem.js';
import { scanUrlCredentials } from './url-credentials.js';
import {
  F_AT,
  F_DASH5,
  F_DIGITS,
  F_DOLLAR,
  F_IBAN,
  F_RUN20,
  F_RUN40,
  F_TOKEN,
  bytesFeatures,
  textFeatures,
} from './text-features.js';

export interface DetectorSetConfig {
  /** Built-in detectors to run (default: all). */
  readonly enabled?: readonly string[] | 'all';
  readonly custom?: readonly CustomDetectorConfig[];
  readonly dictionaries?: readonly DictionaryConfig[];
  /** HMAC key for the `hash` style (at least 16 bytes). Without it, `hash` fails closed. */
  readonly hashKey?: Uint8Array;
  /** Also accept unseparated `123456789` as an SSN. Meant for sets built for one column rule. */
  readonly bareSsn?: boolean;
  /** Look inside base64/hex runs (default true). */
  readonly encoded?: boolean;
  /**
   * Skip detectors the pre-filter rules out (default true). Turning it off changes no result, only
   * the cost; it exists to test that claim and to measure the pre-filter.
   */
  readonly prefilter?: boolean;
}

export interface DetectorSet {
  /** Every detector name this set can report (built-in, custom, dictionaries). */
  readonly names: readonly string[];
  /** Non-overlapping findings in text order; a shared empty array when there are none. */
  scan(text: string): readonly Finding[];
  /**
   * Masks every finding; null when there is none (the common case allocates nothing). In a `cell`
   * (default) a `null`-style finding makes the result `isNull`; in `text` it is redacted instead.
   */
  mask(text: string, style: StyleChoice, context?: MaskContext): MaskResult | null;
  /**
   * Masks a whole value whatever it contains (column rules): redact → `[REDACTED:<name>]`, partial,
   * hash, or null → returns null, meaning SQL NULL.
   */
  maskWhole(value: string, style: MaskStyle, name: string): string | null;
  /**
   * False when no detector can find anything in the UTF-8 bytes `b[start, end)`, so that `scan` and
   * `mask` of their decoded text would surely find nothing (the pre-filter, run on the bytes: see
   * bytesFeatures). True ("maybe") when the pre-filter is off or a stage runs whatever the text.
   */
  couldMatchBytes(b: Uint8Array, start: number, end: number): boolean;
  /** couldMatchBytes for a text whose feature bits (bytesFeatures, textFeatures) are `f`. */
  couldMatchFeatures(f: number): boolean;
}

type InnerScan = (decoded: string) => string | undefined;

interface Stage {
  /** Feature bits (F_*) of which one must be present; 0: always run. */
  readonly needs: number;
  readonly run: (text: string, out: Finding[]) => void;
}

/** Decoding nests at most this deep (base64 of hex of a card is found; deeper is not). */
const MAX_ENCODED_DEPTH = 2;
/** Mask-and-rescan rounds before a value that keeps producing findings is withheld whole. */
const MAX_MASK_ROUNDS = 3;

function configError(message: string): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message);
}

/** Characters that end any detector's match: a finding between two of them cannot touch a neighbour. */
function isDelimiter(c: number): boolean {
  return (
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 13 ||
    c === 34 ||
    c === 39 ||
    c === 44 ||
    c === 59 ||
    c === 60 ||
    c === 62 ||
    c === 91 ||
    c === 93 ||
    c === 123 ||
    c === 125 ||
    c === 124 ||
    c === 96
  );
}

/**
 * Whether masking these findings may have exposed a new one, so the output must be scanned again: any
 * replacement that keeps characters (partial, hash), a finding glued to something other than white
 * space or punctuation (its replacement changes what its neighbour looks like), or a tag that says
 * "secret" (context for the AWS secret key detector).
 */
function needsRescan(text: string, findings: readonly Finding[], redactOnly: boolean): boolean {
  if (!redactOnly) return true;
  for (const f of findings) {
    if (f.start > 0 && !isDelimiter(text.charCodeAt(f.start - 1))) return true;
    if (f.end < text.length && !isDelimiter(text.charCodeAt(f.end))) return true;
    if (/secret/i.test(f.detector)) return true;
  }
  return false;
}

export function createDetectorSet(config: DetectorSetConfig = {}): DetectorSet {
  return new ConfiguredDetectorSet(config);
}

class ConfiguredDetectorSet implements DetectorSet {
  readonly names: readonly string[];
  private readonly stages: readonly Stage[];
  private readonly gate: number;
  private readonly alwaysRun: boolean;
  private readonly encoded: boolean;
  private readonly prefilter: boolean;
  private readonly hashKey: Uint8Array | undefined;
  private readonly scratch: Finding[][] = [];
  /** Per depth: scans a decoded run and names the first detector that fires in it. */
  private readonly innerScans: readonly InnerScan[] = Array.from(
    { length: MAX_ENCODED_DEPTH },
    (_, depth) => (decoded: string) =>
      this.scanAt(decoded, depth + 1)[0]?.detector.replace(ENCODED_PREFIX, ''),
  );

  constructor(config: DetectorSetConfig) {
    const enabledList =
      config.enabled === undefined || config.enabled === 'all' ? BUILTIN_DETECTORS : config.enabled;
    for (const name of enabledList) {
      if (!isBuiltinDetector(name)) throw configError(`unknown masking detector "${name}"`);
    }
    const on = new Set<string>(enabledList);
    const names: string[] = [...on];
    for (const d of [...(config.custom ?? []), ...(config.dictionaries ?? [])]) {
      if (!DETECTOR_NAME_PATTERN.test(d.name))
        throw configError(`masking detector name "${d.name}" must match ${DETECTOR_NAME_PATTERN}`);
      if (isBuiltinDetector(d.name) || names.includes(d.name))
        throw configError(`masking detector "${d.name}" is defined twice`);
      names.push(d.name);
    }
    if (config.hashKey !== undefined && config.hashKey.length < 16)
      throw configError('the masking hash key must be at least 16 bytes');
    this.names = names;
    this.hashKey = config.hashKey;
    this.encoded = config.encoded ?? true;
    this.prefilter = config.prefilter ?? true;

    const stages: Stage[] = [];
    const numbers = {
      card: on.has('credit_card'),
      phone: on.has('phone'),
      ssn: on.has('ssn'),
      bareSsn: config.bareSsn ?? false,
    };
    if (numbers.card || numbers.phone || numbers.ssn)
      stages.push({ needs: F_DIGITS, run: (t, o) => scanNumbers(t, numbers, o) });
    const urlPasswords = on.has('url_password');
    if (on.has('email')) stages.push({ needs: F_AT, run: (t, o) => scanEmails(t, o, urlPasswords) });
    if (urlPasswords) stages.push({ needs: F_AT, run: scanUrlCredentials });
    if (on.has('iban')) stages.push({ needs: F_IBAN, run: scanIbans });
    if (PREFIXED_TOKEN_DETECTORS.some((d) => on.has(d)))
      stages.push({ needs: F_TOKEN, run: (t, o) => scanPrefixedTokens(t, on, o) });
    if (on.has('password_hash')) {
      stages.push({ needs: F_DOLLAR, run: scanPasswordHashes });
      stages.push({ needs: F_RUN20, run: scanMd5Verifiers });
    }
    if (on.has('private_key')) stages.push({ needs: F_DASH5, run: scanPrivateKeys });
    const aws = on.has('aws_secret_access_key');
    const azure = on.has('azure_key');
    if (aws || azure) stages.push({ needs: F_RUN40, run: (t, o) => scanBase64Credentials(t, o, aws, azure) });
    if (on.has('azure_sas_signature')) stages.push({ needs: F_RUN20, run: scanSasSignatures });
    if (on.has('slack_webhook')) stages.push({ needs: F_RUN20, run: scanSlackWebhooks });
    for (const c of config.custom ?? []) stages.push({ needs: 0, run: compileCustomDetector(c) });
    for (const d of config.dictionaries ?? []) stages.push({ needs: 0, run: compileDictionary(d) });
    this.stages = stages;
    this.alwaysRun = stages.some((s) => s.needs === 0);
    this.gate = stages.reduce((m, s) => m | s.needs, this.encoded && stages.length > 0 ? F_RUN20 : 0);
  }

  scan(text: string): readonly Finding[] {
    return this.scanAt(text, 0);
  }

  private scanAt(text: string, depth: number): readonly Finding[] {
    if (text.length === 0) return NO_FINDINGS;
    const f = this.prefilter ? textFeatures(text) : -1;
    if ((f & this.gate) === 0 && !this.alwaysRun) return NO_FINDINGS;
    const out = (this.scratch[depth] ??= []);
    out.length = 0;
    for (const stage of this.stages) {
      if (stage.needs === 0 || (f & stage.needs) !== 0) stage.run(text, out);
    }
    if (this.encoded && depth < MAX_ENCODED_DEPTH && (f & F_RUN20) !== 0) {
      scanEncodedRuns(
        text,
        out.length === 0 ? NO_FINDINGS : out.slice(),
        this.innerScans[depth] as InnerScan,
        out,
      );
    }
    if (out.length === 0) return NO_FINDINGS;
    const found = resolveOverlaps(text, out.slice());
    out.length = 0;
    return found;
  }

  mask(text: string, style: StyleChoice, context: MaskContext = 'cell'): MaskResult | null {
    let findings = this.scan(text);
    if (findings.length === 0) return null;
    const counts: Record<string, number> = {};
    let isNull = false;
    let current = text;
    // Masking one span can expose its neighbour (a phone glued to a card, a key next to a redacted
    // "secret" tag), so the output is scanned again until nothing is left, a few rounds at most.
    for (let round = 0; round < MAX_MASK_ROUNDS && findings.length > 0; round++) {
      let out = '';
      let pos = 0;
      let redactOnly = true;
      for (const f of findings) {
        const encoded = f.detector.startsWith(ENCODED_PREFIX);
        const base = encoded ? f.detector.slice(ENCODED_PREFIX.length) : f.detector;
        let s = typeof style === 'function' ? style(base) : style;
        if (s === 'null') {
          if (context === 'cell') isNull = true;
          s = 'redact';
        }
        // The last characters of an encoding say nothing useful and may carry the secret's tail.
        if (s === 'partial' && encoded) s = 'redact';
        if (s !== 'redact') redactOnly = false;
        out += current.slice(pos, f.start) + this.render(f.text, s, f.detector);
        pos = f.end;
        counts[f.detector] = (counts[f.detector] ?? 0) + 1;
      }
      const masked = out + current.slice(pos);
      findings = needsRescan(current, findings, redactOnly) ? this.scan(masked) : NO_FINDINGS;
      current = masked;
    }
    if (findings.length > 0) {
      // Still not stable: withhold the whole value rather than guess.
      counts['unstable'] = (counts['unstable'] ?? 0) + 1;
      return { text: redactTag('unstable'), counts, isNull };
    }
    return { text: current, counts, isNull };
  }

  couldMatchBytes(b: Uint8Array, start: number, end: number): boolean {
    if (!this.prefilter || this.alwaysRun) return true;
    // An empty text finds nothing; bytesFeatures of no bytes is 0, so that case needs no branch.
    return this.couldMatchFeatures(bytesFeatures(b, start, end));
  }

  couldMatchFeatures(f: number): boolean {
    return !this.prefilter || this.alwaysRun || (f & this.gate) !== 0;
  }

  maskWhole(value: string, style: MaskStyle, name: string): string | null {
    return style === 'null' ? null : this.render(value, style, name);
  }

  private render(value: string, style: Exclude<MaskStyle, 'null'>, name: string): string {
    switch (style) {
      case 'redact':
        return redactTag(name);
      case 'partial':
        return partialMask(value);
      case 'hash':
        if (this.hashKey === undefined) {
          throw new GatewayError(
            ERROR_CODES.MASK_FAILED,
            'masking style "hash" needs a hash key, and none is configured',
          );
        }
        return hmacTag(this.hashKey, value);
    }
  }
}
