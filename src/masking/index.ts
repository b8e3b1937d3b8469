// Public surface of the masking layer: detectors, masking styles, JSON masking, column rules, config.
// Everything here is pure and synchronous; protocol code applies it to rows, bodies and messages.

export { createDetectorSet } from './detector-set.js';
export type { DetectorSet, DetectorSetConfig } from './detector-set.js';
export { MASK_STYLES } from './finding.js';
export type { Finding, MaskContext, MaskResult, MaskStyle, StyleChoice } from './finding.js';
export { BUILTIN_DETECTORS, DETECTOR_NAME_PATTERN, ENCODED_PREFIX } from './detector-names.js';
export type { BuiltinDetectorName } from './detector-names.js';
export type { CustomDetectorConfig } from './custom-regex-detector.js';
export { parseDictionaryText } from './dictionary-detector.js';
export type { DictionaryConfig } from './dictionary-detector.js';
export { HASH_HEX_CHARS, hmacTag, partialMask, redactTag } from './mask-styles.js';
export {
  DEFAULT_SENSITIVE_KEYS,
  maskJsonText,
  maskKeyedText,
  maskNamedText,
  maskTextFields,
  pairMemberRole,
  secretTypeTag,
  sensitiveKeyTag,
} from './json-masking.js';
export { isNoEchoDefaultKey, isNoEchoTrue, NO_ECHO_TAG } from './no-echo-defaults.js';
export type { JsonMaskOptions } from './json-masking.js';
export { createColumnMatcher } from './column-rules.js';
export type { ColumnRule } from './column-rules.js';
export { maskingSchema } from './masking-schema.js';
export type { ColumnRuleConfig, HashKeyRef, MaskingConfig, MaskingProfileConfig } from './masking-schema.js';
export { detectorSetConfigFor, resolveMaskingProfile, styleChooser } from './masking-config.js';
export type { DetectorSetInputs, MaskingProfile } from './masking-config.js';
export { maskTerminalText, TerminalMasker } from './terminal-masker.js';
export { jsonViewHidesCode, stringViewHidesCode, textViewHidesCode } from './masked-view-code.js';
export type { ViewComparison } from './masked-view-code.js';
export { openPrivateKeyAt, PRIVATE_KEY_END } from './private-key-pem.js';
export type { KeyTagOf } from './text-fields.js';
export type { MaskCounts } from './terminal-masker.js';
