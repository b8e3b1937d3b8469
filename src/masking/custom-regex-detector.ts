// User-defined regex detectors from the config (name, pattern, flags). Compiled once; every match of
// the pattern is a finding. The pattern is trusted config: a catastrophic pattern costs CPU per cell.

import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { Finding } from './finding.js';

export interface CustomDetectorConfig {
  readonly name: string;
  readonly pattern: string;
  /** RegExp flags among i, m, s, u, v. `g` is always added; `y` and `d` are ignored. */
  readonly flags?: string;
}

/** Compiles a pattern the way a custom detector uses it, or returns why it cannot be used. */
export function compileCustomPattern(pattern: string, flags = ''): RegExp | string {
  const cleaned = [...new Set(flags.replace(/[gyd]/g, ''))].join('');
  if (!/^[imsuv]*$/.test(cleaned)) return `unsupported regex flags "${flags}" (allowed: i, m, s, u, v)`;
  let re: RegExp;
  try {
    re = new RegExp(pattern, `${cleaned}g`);
  } catch (e) {
    return `invalid regex: ${(e as Error).message}`;
  }
  if (re.test('')) return 'the pattern matches the empty string';
  re.lastIndex = 0;
  return re;
}

export function compileCustomDetector(cfg: CustomDetectorConfig): (text: string, out: Finding[]) => void {
  const compiled = compileCustomPattern(cfg.pattern, cfg.flags);
  if (typeof compiled === 'string') {
    throw new GatewayError(ERROR_CODES.CONFIG_INVALID, `masking detector "${cfg.name}": ${compiled}`);
  }
  const re = compiled;
  const name = cfg.name;
  return (text, out) => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const len = m[0].length;
      if (len === 0) {
        re.lastIndex = m.index + 1;
        continue;
      }
      out.push({ detector: name, start: m.index, end: m.index + len, text: m[0] });
    }
  };
}
