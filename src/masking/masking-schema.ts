// The `masking:` section of gatehouse.yaml (zod): detectors, styles, hash key, column rules, JSON key
// names and profiles. Documented in docs/masking.md. Validation only; no file or secret is read here.

import { z } from 'zod';
import { compileCustomPattern } from './custom-regex-detector.js';
import { BUILTIN_DETECTORS, DETECTOR_NAME_PATTERN, isBuiltinDetector } from './detector-names.js';
import { MASK_STYLES } from './finding.js';
import { DEFAULT_SENSITIVE_KEYS, keyTag } from './json-masking.js';

const detectorName = z
  .string()
  .regex(DETECTOR_NAME_PATTERN, 'a detector name: lowercase letters, digits and _, starting with a letter');

export const maskStyleSchema = z
  .enum(MASK_STYLES, {
    // YAML reads a bare `null` as "no value", not as the style.
    error: (issue) => (issue.input === null ? 'write the null style in quotes: "null"' : undefined),
  })
  .describe('redact: [REDACTED:<detector>]; partial: keep the last 4; hash: hmac:<16 hex>; null: SQL NULL');

/**
 * Where the HMAC key comes from. Same shape as `secretRefSchema` in src/config/schema.ts, repeated
 * because masking may import only core, and the config schema imports this file.
 */
export const hashKeyRefSchema = z.union([
  z.strictObject({ env: z.string().describe('name of an environment variable holding the key') }),
  z.strictObject({ file: z.string().describe('path of a file holding the key (trailing newline ignored)') }),
  z.strictObject({
    encrypted: z
      .string()
      .regex(/^gh1:/, 'a value from `gatehouse secret encrypt` (starts with gh1:)')
      .describe('value encrypted with `gatehouse secret encrypt`'),
  }),
]);

export const customDetectorSchema = z
  .strictObject({
    name: detectorName,
    pattern: z.string().min(1).describe('JavaScript regular expression; every match is masked'),
    flags: z.string().optional().describe('regex flags among i, m, s, u, v (g is implied)'),
  })
  .superRefine((d, ctx) => {
    const r = compileCustomPattern(d.pattern, d.flags);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r, path: ['pattern'] });
  });

export const dictionarySchema = z
  .strictObject({
    name: detectorName,
    words: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('words or phrases, matched whole and case-insensitively'),
    file: z.string().min(1).optional().describe('a file with one word or phrase per line (# comments)'),
  })
  .refine((d) => (d.words === undefined) !== (d.file === undefined), {
    message: 'give either words or file',
  });

export const detectorsSchema = z.strictObject({
  enabled: z
    .union([z.literal('all'), z.array(z.string())])
    .default('all')
    .describe('built-in detectors to run'),
  custom: z.array(customDetectorSchema).default([]),
  dictionaries: z.array(dictionarySchema).default([]),
  encoded: z.boolean().default(true).describe('look inside base64 and hex runs'),
});

const columnPattern = z
  .string()
  .regex(
    /^(?:[^.\s]+\.){0,2}[^.\s]+$/,
    'schema.table.column, table.column or column ("*" wildcards allowed)',
  );

export const columnRuleSchema = z.strictObject({
  column: columnPattern,
  style: maskStyleSchema.optional().describe('default: masking.style'),
  tag: detectorName.optional().describe('name in [REDACTED:<tag>] and in counts (default: column)'),
  detectors: z
    .array(detectorName)
    .min(1)
    .optional()
    .describe(
      'scan the column with these detectors instead of masking it whole (ssn then accepts 123456789)',
    ),
});

const styleOverrides = z
  .record(detectorName, maskStyleSchema)
  .describe('style per detector (or JSON key / column tag)');

export const maskingProfileSchema = z.strictObject({
  detectors: detectorsSchema.optional(),
  style: maskStyleSchema.optional(),
  styles: styleOverrides.optional(),
  columns: z.array(columnRuleSchema).optional(),
  jsonKeys: z.array(z.string().min(1)).optional(),
  namedColumns: z.boolean().optional(),
});

export const DEFAULT_DETECTORS: z.output<typeof detectorsSchema> = {
  enabled: 'all',
  custom: [],
  dictionaries: [],
  encoded: true,
};

type Section = {
  detectors?: z.output<typeof detectorsSchema> | undefined;
  styles?: Record<string, string> | undefined;
  columns?: readonly z.output<typeof columnRuleSchema>[] | undefined;
  jsonKeys?: readonly string[] | undefined;
};

/** Cross-field checks shared by the top level and each profile. */
function checkSection(s: Section, fallback: Section, path: (string | number)[], ctx: z.RefinementCtx): void {
  const detectors = s.detectors ?? fallback.detectors ?? DEFAULT_DETECTORS;
  if (s.detectors && s.detectors.enabled !== 'all') {
    for (const [i, name] of s.detectors.enabled.entries()) {
      if (!isBuiltinDetector(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown built-in detector "${name}" (known: ${BUILTIN_DETECTORS.join(', ')})`,
          path: [...path, 'detectors', 'enabled', i],
        });
      }
    }
  }
  const defined = new Set<string>(BUILTIN_DETECTORS);
  for (const [i, d] of [...detectors.custom, ...detectors.dictionaries].entries()) {
    if (defined.has(d.name)) {
      ctx.addIssue({
        code: 'custom',
        message: `detector "${d.name}" is defined twice (or is a built-in name)`,
        path: [...path, 'detectors', i < detectors.custom.length ? 'custom' : 'dictionaries'],
      });
    }
    defined.add(d.name);
  }
  const columns = s.columns ?? fallback.columns ?? [];
  for (const [i, c] of columns.entries()) {
    for (const d of c.detectors ?? []) {
      if (!defined.has(d))
        ctx.addIssue({
          code: 'custom',
          message: `unknown detector "${d}"`,
          path: [...path, 'columns', i, 'detectors'],
        });
    }
  }
  const known = new Set(defined);
  known.add('column');
  for (const c of columns) if (c.tag) known.add(c.tag);
  for (const k of s.jsonKeys ?? fallback.jsonKeys ?? []) known.add(keyTag(k));
  for (const name of Object.keys(s.styles ?? {})) {
    if (!known.has(name))
      ctx.addIssue({
        code: 'custom',
        message: `styles: unknown detector "${name}"`,
        path: [...path, 'styles', name],
      });
  }
}

export const maskingSchema = z
  .strictObject({
    detectors: detectorsSchema.default(DEFAULT_DETECTORS),
    style: maskStyleSchema.default('redact'),
    styles: styleOverrides.default({}),
    hashKey: hashKeyRefSchema
      .optional()
      .describe('HMAC key for the hash style (32+ random bytes); default: a key generated in the data dir'),
    columns: z
      .array(columnRuleSchema)
      .default([])
      .describe('columns masked whole or scanned with chosen detectors'),
    jsonKeys: z
      .array(z.string().min(1))
      .default([...DEFAULT_SENSITIVE_KEYS])
      .describe('JSON keys whose values are masked whatever they hold ("*" wildcards)'),
    namedColumns: z
      .boolean()
      .default(true)
      .describe(
        'mask a PostgreSQL result column whole when its source column (outside the system schemas) is named like a jsonKeys entry (password, api_key, secret, token…), by lineage like a column rule',
      ),
    maxCellBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(128 * 1024)
      .describe(
        'values larger than this (bytes) are withheld rather than scanned, so masking one huge value never holds the gateway for long',
      ),
    profiles: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/), maskingProfileSchema)
      .default({})
      .describe(
        'named variants selected by a policy rule `mask: <profile>`; fields given replace the top level',
      ),
  })
  .superRefine((m, ctx) => {
    checkSection(m, m, [], ctx);
    for (const [name, p] of Object.entries(m.profiles)) checkSection(p, m, ['profiles', name], ctx);
  });

export type MaskingConfig = z.output<typeof maskingSchema>;
export type MaskingProfileConfig = z.output<typeof maskingProfileSchema>;
export type MaskingDetectorsConfig = z.output<typeof detectorsSchema>;
export type ColumnRuleConfig = z.output<typeof columnRuleSchema>;
export type HashKeyRef = z.output<typeof hashKeyRefSchema>;
