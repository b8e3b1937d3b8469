// gatehouse.yaml `policies:` section. Policies bind principals to connections with ordered rules.
// Documented field by field in docs/policy.md and docs/config.md.

import { z } from 'zod';
import { SQL_CATEGORIES } from '../core/sql-statement.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'an id: letters, digits, _ . : -');

/** Who a policy applies to. All given fields must match; an empty object matches everyone. */
export const subjectMatchSchema = z
  .strictObject({
    groups: z.array(z.string()).optional().describe('any of these groups'),
    subjects: z.array(z.string()).optional().describe('any of these subjects (token `sub`)'),
    tokenKinds: z.array(z.enum(['oidc', 'service'])).optional(),
    agent: z.boolean().optional().describe('true: only AI-agent principals; false: only non-agents'),
  })
  .describe('principals the policy applies to');

/** What a rule matches. All given fields must match (each list is any-of). */
export const ruleMatchSchema = z.strictObject({
  categories: z.array(z.enum(SQL_CATEGORIES)).optional().describe('SQL risk categories (any of)'),
  kinds: z.array(z.string()).optional().describe('statement kinds, e.g. "drop table", "select"'),
  tables: z
    .array(z.string())
    .optional()
    .describe('tables the statement names: "table", "schema.table", wildcards "*" allowed'),
  functions: z.array(z.string()).optional().describe('functions called anywhere in the statement'),
  operations: z
    .array(z.string())
    .optional()
    .describe('HTTP/AWS `service:Operation` patterns with "*" wildcards'),
  methods: z.array(z.string()).optional().describe('HTTP methods'),
  paths: z.array(z.string()).optional().describe('HTTP path globs ("*" one segment, "**" any)'),
});

export const ruleSchema = z.strictObject({
  id,
  effect: z.enum(['allow', 'deny', 'review']),
  match: ruleMatchSchema.default({}),
  message: z.string().optional().describe('shown to the client when the rule denies or holds'),
  mode: z.enum(['hold', 'defer']).optional().describe('review mode (default hold)'),
  approval: z.string().optional().describe('approval rule name for review effects'),
  mask: z.union([z.boolean(), z.string()]).optional().describe('masking obligation (true or a profile)'),
  rowCap: z.number().int().positive().optional(),
});

export const policySchema = z.strictObject({
  id,
  description: z.string().optional(),
  subjects: subjectMatchSchema.default({}),
  connections: z.array(z.string()).min(1).describe('connection names this policy grants; "*" for all'),
  rules: z.array(ruleSchema).default([]),
});

export const policiesSchema = z.array(policySchema).default([]);

export type PolicyConfig = z.infer<typeof policySchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
