// Turns a parsed `masking:` section into what the maskers take: the effective profile, a style
// chooser, and DetectorSetConfig objects. Pure: files and secrets are resolved by the caller.

import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { ColumnRule } from './column-rules.js';
import type { DetectorSetConfig } from './detector-set.js';
import { isBuiltinDetector } from './detector-names.js';
import type { MaskStyle } from './finding.js';
import type { MaskingConfig, MaskingDetectorsConfig } from './masking-schema.js';

/** The settings in force for one masking obligation (`mask: true` or `mask: <profile>`). */
export interface MaskingProfile {
  readonly name: string;
  readonly detectors: MaskingDetectorsConfig;
  readonly style: MaskStyle;
  readonly styles: Readonly<Record<string, MaskStyle>>;
  readonly columns: readonly ColumnRule[];
  readonly jsonKeys: readonly string[];
  /**
   * A PostgreSQL column named like a `jsonKeys` entry (outside the system schemas) is masked whole, as
   * if a column rule named it (after the profile's rules and the built-in ones).
   */
  readonly namedColumns: boolean;
}

/** The top level (no name, or "default") or a named profile whose given fields replace the top level's. */
export function resolveMaskingProfile(config: MaskingConfig, name?: string): MaskingProfile {
  const base: MaskingProfile = {
    name: 'default',
    detectors: config.detectors,
    style: config.style,
    styles: config.styles,
    columns: config.columns,
    jsonKeys: config.jsonKeys,
    namedColumns: config.namedColumns,
  };
  if (name === undefined || name === 'default') return base;
  const p = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
  if (p === undefined)
    throw new GatewayError(ERROR_CODES.CONFIG_INVALID, `unknown masking profile "${name}"`);
  return {
    name,
    detectors: p.detectors ?? base.detectors,
    style: p.style ?? base.style,
    styles: p.styles ?? base.styles,
    columns: p.columns ?? base.columns,
    jsonKeys: p.jsonKeys ?? base.jsonKeys,
    namedColumns: p.namedColumns ?? base.namedColumns,
  };
}

/** The style for a detector (or column tag, or JSON key tag): its override, else the profile's style. */
export function styleChooser(profile: MaskingProfile): (detector: string) => MaskStyle {
  const { styles, style } = profile;
  return (detector) => (Object.hasOwn(styles, detector) ? (styles[detector] as MaskStyle) : style);
}

export interface DetectorSetInputs {
  /** HMAC key for the hash style. */
  readonly hashKey?: Uint8Array;
  /** Reads a dictionary `file:` entry into words (the caller does the I/O, e.g. parseDictionaryText). */
  readonly readDictionary?: (file: string) => readonly string[];
}

/**
 * The DetectorSetConfig for a profile; with `only`, restricted to those detector names (a column rule's
 * `detectors:`), which also turns on the bare 9-digit SSN form.
 */
export function detectorSetConfigFor(
  profile: MaskingProfile,
  inputs: DetectorSetInputs = {},
  only?: readonly string[],
): DetectorSetConfig {
  const d = profile.detectors;
  const wanted = (name: string): boolean => only === undefined || only.includes(name);
  const builtins = d.enabled === 'all' ? undefined : d.enabled;
  const enabled =
    only === undefined
      ? (builtins ?? 'all')
      : only.filter((n) => isBuiltinDetector(n) && (builtins === undefined || builtins.includes(n)));
  const dictionaries = d.dictionaries
    .filter((x) => wanted(x.name))
    .map((x) => {
      if (x.words) return { name: x.name, words: x.words };
      if (!inputs.readDictionary || x.file === undefined) {
        throw new GatewayError(
          ERROR_CODES.CONFIG_INVALID,
          `masking dictionary "${x.name}": its file was not loaded`,
        );
      }
      return { name: x.name, words: inputs.readDictionary(x.file) };
    });
  return {
    enabled,
    custom: d.custom.filter((x) => wanted(x.name)),
    dictionaries,
    encoded: d.encoded,
    bareSsn: only !== undefined,
    ...(inputs.hashKey ? { hashKey: inputs.hashKey } : {}),
  };
}
