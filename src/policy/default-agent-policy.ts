// The shipped default policy for AI agents (and the `dba` group), documented in docs/policy.md and
// used by the demo. Plain config data: it goes through the same evaluation as any written policy.

import type { ReviewMode } from '../core/decision.js';
import type { PolicyConfig, RuleConfig } from '../config/policy-schema.js';

export interface DefaultAgentPolicyOptions {
  /** Groups whose members are treated as agents in addition to agent principals (default `ai-agents`). */
  readonly agentGroups?: readonly string[];
  /** Groups of people who keep broad rights (default `dba`). */
  readonly dbaGroups?: readonly string[];
  /** Approval rule name put on every review rule. */
  readonly approval?: string;
  /** Review mode for every review rule (default hold). */
  readonly mode?: ReviewMode;
  /** Masking obligation on what agents may do (e.g. `true` or a profile name). */
  readonly mask?: boolean | string;
  /** Row cap on what agents may do. */
  readonly rowCap?: number;
}

/**
 * Statement kinds that point unqualified names elsewhere for the rest of a session or transaction
 * (the classifier gives `SET search_path` the kind `set search_path`; the glob also covers LOCAL/SESSION).
 */
export const SEARCH_PATH_KINDS: readonly string[] = ['set*search_path'];

/**
 * Catalogs that hold credentials (SCRAM/MD5 password hashes, foreign-server passwords). Reading them is
 * `read`, so without this a gateway that logs in upstream as a superuser would hand them to an agent.
 */
export const CREDENTIAL_CATALOGS: readonly string[] = [
  'pg_catalog.pg_authid',
  'pg_catalog.pg_shadow',
  'pg_catalog.pg_user_mapping',
  'pg_catalog.pg_user_mappings',
  'information_schema.user_mapping_options',
  // Options of foreign servers and wrappers can hold passwords too (some wrappers take them there),
  // and a subscription's connection string does; information_schema's underscore views show the
  // raw option arrays (docs/security.md class 117).
  'pg_catalog.pg_foreign_server',
  'pg_catalog.pg_foreign_data_wrapper',
  'pg_catalog.pg_subscription',
  'information_schema.foreign_server_options',
  'information_schema.foreign_data_wrapper_options',
  'information_schema._pg_user_mappings',
  'information_schema._pg_foreign_servers',
  'information_schema._pg_foreign_data_wrappers',
];

/**
 * Issue 3 §3: read allowed; write with a WHERE → review; write-unbounded, truncate, ddl-drop,
 * drop-database, privilege, admin, file-and-program → deny; procedural, ddl-create, ddl-alter → review;
 * unknown → deny. Plus: explicit locks → review; transaction control and session settings allowed,
 * except `SET search_path`, which is denied so an unqualified name cannot be pointed at another schema
 * (set_config('search_path', …) is classified admin, which is denied already); reading the catalogs
 * that hold credentials, and the values of stored settings (`secrets`: custom settings such as
 * app.jwt_secret, pg_settings, pg_db_role_setting), are denied. People in `dba` keep
 * broad rights but drop-database is reviewed; the dba policy applies only to non-agent principals, so
 * "alice through Claude Code" gets the agent rules.
 */
export function defaultAgentPolicies(
  connections: readonly string[],
  options: DefaultAgentPolicyOptions = {},
): PolicyConfig[] {
  const review = (id: string, categories: RuleConfig['match']['categories']): RuleConfig => ({
    id,
    effect: 'review',
    match: { categories },
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.approval === undefined ? {} : { approval: options.approval }),
    ...obligations,
  });
  const denyCategory = (id: string, categories: RuleConfig['match']['categories']): RuleConfig => ({
    id,
    effect: 'deny',
    match: { categories },
  });
  const obligations = {
    ...(options.mask === undefined ? {} : { mask: options.mask }),
    ...(options.rowCap === undefined ? {} : { rowCap: options.rowCap }),
  };

  const agents: PolicyConfig = {
    id: 'agents',
    description: 'Default guardrails for AI agents: read freely, review changes, never destroy.',
    subjects: [{ agent: true }, { groups: [...(options.agentGroups ?? ['ai-agents'])] }],
    connections: [...connections],
    rules: [
      denyCategory('agents-no-unbounded-writes', ['write-unbounded']),
      denyCategory('agents-no-truncate', ['truncate']),
      denyCategory('agents-no-drop', ['ddl-drop']),
      denyCategory('agents-no-drop-database', ['drop-database']),
      denyCategory('agents-no-privilege', ['privilege']),
      denyCategory('agents-no-admin', ['admin']),
      denyCategory('agents-no-files-or-programs', ['file-and-program']),
      denyCategory('agents-no-unknown', ['unknown']),
      {
        id: 'agents-no-search-path',
        effect: 'deny',
        match: { kinds: [...SEARCH_PATH_KINDS] },
        message:
          '{KIND} is refused by rule {rule}: changing search_path would let an unqualified name resolve to a ' +
          'different table than the policy checked. Schema-qualify names (schema.table) instead.',
      },
      {
        id: 'agents-no-credential-catalogs',
        effect: 'deny',
        match: { tables: [...CREDENTIAL_CATALOGS] },
        message:
          '{KIND} on {names} is refused by rule {rule}: these catalogs hold password hashes and other ' +
          'credentials. Query pg_roles, pg_user or information_schema.foreign_servers instead, which leave them out.',
      },
      {
        id: 'agents-no-stored-settings',
        effect: 'deny',
        match: { categories: ['secrets'] },
        message:
          '{KIND} is refused by rule {rule}: it reads the value of a setting the server stores (a custom ' +
          "setting such as app.jwt_secret set with ALTER DATABASE/ROLE … SET, or the server's configuration), " +
          "where deployments keep secrets. Built-in settings can be read by name (SHOW work_mem, current_setting('server_version_num')).",
      },
      review('agents-review-writes', ['write']),
      review('agents-review-ddl', ['ddl-create', 'ddl-alter']),
      review('agents-review-procedural', ['procedural']),
      review('agents-review-locks', ['lock']),
      {
        id: 'agents-allow-read',
        effect: 'allow',
        match: { categories: ['read', 'transaction', 'session'] },
        ...obligations,
      },
    ],
  };

  const dba: PolicyConfig = {
    id: 'dba',
    description:
      'People in the DBA group keep broad rights; dropping a database still needs a second person.',
    subjects: { groups: [...(options.dbaGroups ?? ['dba'])], agent: false },
    connections: [...connections],
    rules: [
      {
        id: 'dba-review-drop-database',
        effect: 'review',
        match: { categories: ['drop-database'] },
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(options.approval === undefined ? {} : { approval: options.approval }),
      },
      { id: 'dba-allow-all', effect: 'allow', match: {} },
    ],
  };

  return [agents, dba];
}

/** The default for every connection (`connections: ["*"]`). */
export const DEFAULT_AGENT_POLICIES: readonly PolicyConfig[] = defaultAgentPolicies(['*']);
