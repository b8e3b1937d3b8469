// gatehouse.yaml `policies:` and `policyDefaults:` sections. Policies bind principals to connections
// with ordered rules. Documented field by field in docs/policy.md; evaluation lives in src/policy.

import { z } from 'zod';
import { SSH_REQUESTS } from '../core/action.js';
import { SQL_CATEGORIES } from '../core/sql-statement.js';

/** Rule ids the engine itself uses in decisions; a configured rule may not take one of them. */
export const RESERVED_RULE_IDS = [
  'connection-access',
  'default-deny',
  'default-review',
  'unparseable',
] as const;

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'an id: letters, digits, _ . : -');

/** Who a policy applies to. All given fields must match; an empty object matches everyone. */
export const subjectMatchSchema = z
  .strictObject({
    groups: z.array(z.string()).min(1).optional().describe('any of these groups'),
    subjects: z.array(z.string()).min(1).optional().describe('any of these subjects (token `sub`)'),
    tokenKinds: z
      .array(z.enum(['oidc', 'service']))
      .min(1)
      .optional(),
    agent: z.boolean().optional().describe('true: only AI-agent principals; false: only non-agents'),
  })
  .describe('principals the policy applies to');

/**
 * `subjects:` is one matcher, or a list of matchers of which any may match (so "agent principals
 * or members of ai-agents" is one policy rather than two copies of the same rules).
 */
export const subjectsSchema = z.union([subjectMatchSchema, z.array(subjectMatchSchema).min(1)]);

const SQL_MATCH_FIELDS = ['categories', 'kinds', 'tables', 'functions'] as const;
const HTTP_MATCH_FIELDS = ['operations', 'methods', 'paths', 'awsResources'] as const;
const KUBERNETES_MATCH_FIELDS = [
  'verbs',
  'apiGroups',
  'resources',
  'namespaces',
  'names',
  'nonResourceURLs',
  'stdin',
] as const;
const SSH_MATCH_FIELDS = ['sshRequests', 'hosts', 'subsystems'] as const;
/** Fields that mean the same on Kubernetes exec and SSH: a rule naming only these matches both. */
const COMMAND_MATCH_FIELDS = ['commands', 'commandCategories', 'tty', 'ports'] as const;

/** `schema.name` or `name`, each part a glob where `*` matches any characters. */
const namePattern = z
  .string()
  .min(1)
  .refine((s) => s.split('.').length <= 2 && !s.split('.').some((part) => part === ''), {
    message: 'a name pattern: "name" or "schema.name" ("*" wildcards allowed)',
  });

/** What a rule matches. All given fields must match (each list is any-of; see docs/policy.md for coverage). */
export const ruleMatchSchema = z
  .strictObject({
    categories: z.array(z.enum(SQL_CATEGORIES)).min(1).optional().describe('SQL risk categories'),
    kinds: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('statement kinds, e.g. "drop table", "select"; "*" wildcards'),
    tables: z
      .array(namePattern)
      .min(1)
      .optional()
      .describe('tables the statement names: "table", "schema.table", wildcards "*" allowed'),
    functions: z.array(namePattern).min(1).optional().describe('functions called anywhere in the statement'),
    operations: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('HTTP/AWS `service:Operation` patterns with "*" wildcards'),
    methods: z.array(z.string().min(1)).min(1).optional().describe('HTTP methods ("*" for any)'),
    paths: z
      .array(z.string().startsWith('/'))
      .min(1)
      .optional()
      .describe('HTTP path globs ("*" one segment, "**" any number of segments)'),
    awsResources: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'AWS: the resource a request acts on (bucket/key, table, queue URL, the role of an iam:PassRole, the key of a kms:GenerateDataKey…), case-sensitive globs where "*" matches any characters',
      ),
    // Kubernetes (docs/kubernetes.md): the API server's request attributes, RBAC-style.
    verbs: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Kubernetes verbs: get list watch create update patch delete deletecollection proxy, "*"'),
    apiGroups: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('Kubernetes API groups ("" or "core" for the core group, "*" wildcards)'),
    resources: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'resources: "pods", "pods/exec", "*/log", "*/*"; a pattern without "/" matches main resources only',
      ),
    namespaces: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('namespaces ("*" wildcards; "" for cluster-scoped requests)'),
    names: z.array(z.string().min(1)).min(1).optional().describe('object names ("*" wildcards)'),
    nonResourceURLs: z
      .array(z.string().startsWith('/'))
      .min(1)
      .optional()
      .describe('non-resource paths such as /api, /version, /openapi/** (path globs)'),
    commands: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'exec commands: globs over the argv joined by spaces (Kubernetes) or the command line (SSH), e.g. "ls *"',
      ),
    commandCategories: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Kubernetes and SSH exec, SSH shell lines: risk categories the shell-command classifier gives the command',
      ),
    tty: z
      .boolean()
      .optional()
      .describe('Kubernetes exec/attach, SSH exec/shell: the session asks for a terminal (-t)'),
    stdin: z.boolean().optional().describe('exec/attach: the session sends input (-i)'),
    ports: z
      .array(z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d{1,5}-\d{1,5}$/)]))
      .min(1)
      .optional()
      .describe('port-forward: ports or ranges "8000-8999" (Kubernetes pod ports, SSH direct-tcpip ports)'),
    // SSH (docs/ssh.md)
    sshRequests: z
      .array(z.enum(SSH_REQUESTS))
      .min(1)
      .optional()
      .describe(
        'SSH requests: exec, shell, line (a reconstructed shell line), sftp, subsystem, port-forward',
      ),
    hosts: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('SSH port-forward: destination hosts ("*" wildcards)'),
    subsystems: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('SSH subsystems by name (sftp…; "*" wildcards)'),
  })
  .refine(
    (m) => {
      const has = (fields: readonly (keyof typeof m)[]) => fields.some((f) => m[f] !== undefined);
      const kinds = [
        has(SQL_MATCH_FIELDS),
        has(HTTP_MATCH_FIELDS),
        has(KUBERNETES_MATCH_FIELDS) || has(SSH_MATCH_FIELDS) || has(COMMAND_MATCH_FIELDS),
      ].filter(Boolean).length;
      return kinds <= 1 && !(has(KUBERNETES_MATCH_FIELDS) && has(SSH_MATCH_FIELDS));
    },
    {
      message:
        'a rule matches either SQL (categories, kinds, tables, functions), HTTP (operations, methods, paths), Kubernetes (verbs, apiGroups, resources, namespaces, names, nonResourceURLs, stdin) or SSH (sshRequests, hosts, subsystems), not several; commands, commandCategories, tty and ports go with Kubernetes or SSH fields, or alone (then they match both)',
    },
  );

export const ruleSchema = z
  .strictObject({
    id,
    effect: z.enum(['allow', 'deny', 'review']),
    match: ruleMatchSchema.default({}),
    message: z
      .string()
      .min(1)
      .optional()
      .describe(
        'shown to the client when the rule denies or holds; {kind} {category} {rule} {connection} are filled in',
      ),
    mode: z.enum(['hold', 'defer']).optional().describe('review mode (default hold)'),
    approval: z.string().optional().describe('approval rule name for review effects'),
    mask: z.union([z.boolean(), z.string()]).optional().describe('masking obligation (true or a profile)'),
    rowCap: z.number().int().positive().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.effect !== 'review' && (r.mode !== undefined || r.approval !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `rule ${r.id}: mode and approval apply only to effect review`,
      });
    }
    if (r.effect === 'deny' && (r.mask !== undefined || r.rowCap !== undefined)) {
      ctx.addIssue({ code: 'custom', message: `rule ${r.id}: mask and rowCap do not apply to effect deny` });
    }
    if ((RESERVED_RULE_IDS as readonly string[]).includes(r.id)) {
      ctx.addIssue({ code: 'custom', message: `rule id ${r.id} is reserved for the engine's own decisions` });
    }
  });

export const policySchema = z.strictObject({
  id,
  description: z.string().optional(),
  subjects: subjectsSchema.default({}),
  connections: z.array(z.string().min(1)).min(1).describe('connection names this policy grants; "*" for all'),
  rules: z.array(ruleSchema).default([]),
});

/** Policy ids are unique, and a rule id names exactly one rule across all policies (decisions carry it). */
export const policiesSchema = z
  .array(policySchema)
  .default([])
  .superRefine((policies, ctx) => {
    const policyIds = new Set<string>();
    const ruleOwner = new Map<string, string>();
    policies.forEach((p, i) => {
      if (policyIds.has(p.id))
        ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate policy id ${p.id}` });
      policyIds.add(p.id);
      p.rules.forEach((r, j) => {
        const owner = ruleOwner.get(r.id);
        if (owner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'rules', j, 'id'],
            message: `duplicate rule id ${r.id} (also in policy ${owner}); a rule id must name one rule`,
          });
        } else ruleOwner.set(r.id, p.id);
      });
    });
  });

/**
 * Per-connection policy settings. `effect`: what happens when no rule covers an action, `deny` (the
 * default) or `review`. `searchPath`: where the policy assumes unqualified names live. Keys are
 * connection names or "*"; an exact name wins over "*" (the entry as a whole, not field by field).
 */
export const policyDefaultSchema = z.union([
  z.enum(['deny', 'review']),
  z.strictObject({
    effect: z.enum(['deny', 'review']),
    mode: z.enum(['hold', 'defer']).optional().describe('review mode (default hold)'),
    approval: z.string().optional().describe('approval rule name for default reviews'),
    message: z.string().min(1).optional(),
    searchPath: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'a schema name'))
      .min(1)
      .optional()
      .describe(
        'schemas unqualified names resolve through on this connection (default [public]; pg_catalog is implied first)',
      ),
  }),
]);

export const policyDefaultsSchema = z
  .record(z.string().min(1), policyDefaultSchema)
  .default({})
  .describe('per-connection effect for actions no rule covers: deny (default) or review');

export type SubjectMatchConfig = z.infer<typeof subjectMatchSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type RuleMatchConfig = z.infer<typeof ruleMatchSchema>;
export type PolicyDefaultConfig = z.infer<typeof policyDefaultSchema>;
export type PolicyDefaultsConfig = z.infer<typeof policyDefaultsSchema>;
