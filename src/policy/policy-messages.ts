// Client-facing messages for deny and review decisions: what was refused, by which rule, why, and
// what to do instead. Written for a person or a model reading an error; never includes secrets.

import type { ReviewMode } from '../core/decision.js';
import type { SqlCategory } from '../core/sql-statement.js';

interface CategoryText {
  /** What was refused, given the statement kind in upper case. */
  readonly subject: (kind: string) => string;
  readonly why: string;
  readonly instead: string;
}

/** Default texts per taxonomy category (docs/sql-taxonomy.md), used when a rule has no `message`. */
export const CATEGORY_TEXT: Readonly<Record<SqlCategory, CategoryText>> = {
  read: {
    subject: (k) => `${k} (a read)`,
    why: 'this policy does not let you read data here',
    instead: 'Ask an administrator for read access to this connection.',
  },
  write: {
    subject: (k) => k,
    why: 'it changes data',
    instead: 'Ask someone with write access to run it, or ask an administrator for a rule that allows it.',
  },
  'write-unbounded': {
    // The unbounded UPDATE/DELETE may sit inside another statement (a writable CTE, EXPLAIN ANALYZE, COPY).
    subject: (k) =>
      /^(update|delete)\b/i.test(k)
        ? `${k} without a WHERE clause`
        : `${k} containing an UPDATE or DELETE without a WHERE clause`,
    why: 'it would affect every row of the table',
    instead: 'Add a WHERE clause that limits the rows, or ask a DBA.',
  },
  'ddl-create': {
    subject: (k) => k,
    why: 'it creates a schema object',
    instead: 'Propose the change as a migration for review, or ask a DBA.',
  },
  'ddl-alter': {
    subject: (k) => k,
    why: 'it changes the structure of an existing schema object',
    instead: 'Propose the change as a migration for review, or ask a DBA.',
  },
  'ddl-drop': {
    subject: (k) => k,
    why: 'it destroys a schema object and the data in it',
    instead: 'If the object really must go, ask a DBA, or propose a migration for review.',
  },
  truncate: {
    subject: () => 'TRUNCATE',
    why: 'it removes every row of the table and cannot be limited',
    instead: 'Use DELETE with a WHERE clause for the rows you mean, or ask a DBA.',
  },
  'drop-database': {
    subject: () => 'DROP DATABASE',
    why: 'it destroys a whole database',
    instead: 'Ask a DBA.',
  },
  privilege: {
    subject: (k) => k,
    why: 'it changes roles, privileges or the role the session acts as',
    instead: 'Ask an administrator to change access.',
  },
  admin: {
    subject: (k) => k,
    why: 'it is a server administration command (settings, other sessions, maintenance, replication)',
    instead: 'Ask a DBA to run it.',
  },
  'file-and-program': {
    subject: (k) => k,
    why: 'it reads or writes files on the database server, or runs a program there',
    instead: 'Use COPY ... TO STDOUT or FROM STDIN through your client instead, or ask a DBA.',
  },
  procedural: {
    subject: (k) => k,
    why: 'it runs procedural code (a DO block or a function body) whose effects cannot be checked before it runs',
    instead: 'Send the individual SQL statements instead, or ask a DBA.',
  },
  transaction: {
    subject: (k) => k,
    why: 'this policy does not allow transaction control here',
    instead: 'Ask an administrator for a rule that allows it.',
  },
  session: {
    subject: (k) => k,
    why: 'it changes session state, which can change how later statements are resolved',
    instead: 'Schema-qualify names instead of changing settings, or ask an administrator.',
  },
  lock: {
    subject: (k) => k,
    why: 'it takes explicit locks that can block other sessions',
    instead: 'Rely on the locks your statements take on their own, or ask a DBA.',
  },
  secrets: {
    subject: (k) => `${k} (a read of stored settings)`,
    why:
      'it reads the value of a setting stored in the server (custom settings such as app.jwt_secret, set with ' +
      'ALTER DATABASE/ROLE … SET or in postgresql.conf, are where deployments keep secrets)',
    instead:
      "Read built-in settings by name (SHOW work_mem, current_setting('server_version_num')), or ask a DBA.",
  },
  unknown: {
    subject: (k) => k,
    why: 'Gatehouse cannot classify it, so it cannot check what it would do',
    instead: 'Rewrite it as ordinary SELECT, INSERT, UPDATE or DELETE statements, or ask a DBA.',
  },
};

/**
 * Most severe first: when a rule matches several of a statement's categories, the message speaks of
 * the one that matters most (a writable CTE that is also unbounded is explained as unbounded).
 */
export const CATEGORY_SEVERITY: readonly SqlCategory[] = [
  'drop-database',
  'file-and-program',
  'privilege',
  'admin',
  'secrets',
  'unknown',
  'ddl-drop',
  'truncate',
  'write-unbounded',
  'procedural',
  'ddl-alter',
  'ddl-create',
  'write',
  'lock',
  'session',
  'transaction',
  'read',
];

export function mostSevere(categories: Iterable<SqlCategory>): SqlCategory | undefined {
  let best: SqlCategory | undefined;
  let bestRank = Infinity;
  for (const c of categories) {
    const rank = CATEGORY_SEVERITY.indexOf(c);
    if (rank < bestRank) {
      best = c;
      bestRank = rank;
    }
  }
  return best;
}

/** Upper-case display of a statement kind (`drop table` → `DROP TABLE`). */
export function displayKind(kind: string): string {
  return kind.toUpperCase();
}

function reviewTail(mode: ReviewMode): string {
  return mode === 'defer'
    ? 'It has been sent for approval; run it again once it is approved.'
    : 'Gatehouse holds it until an approver decides: it runs if approved and is refused otherwise.';
}

export function sqlDenyMessage(ruleId: string, kind: string, category: SqlCategory): string {
  const t = CATEGORY_TEXT[category];
  return `${t.subject(displayKind(kind))} is refused by rule ${ruleId}: ${t.why}. ${t.instead}`;
}

export function sqlReviewMessage(
  ruleId: string,
  kind: string,
  category: SqlCategory,
  mode: ReviewMode,
): string {
  const t = CATEGORY_TEXT[category];
  return `${t.subject(displayKind(kind))} needs a human's approval under rule ${ruleId}: ${t.why}. ${reviewTail(mode)}`;
}

/** A deny or review rule that matched on names (tables, functions, kinds) rather than on a category. */
export function sqlNameMessage(
  effect: 'deny' | 'review',
  ruleId: string,
  kind: string,
  names: readonly string[],
  mode: ReviewMode,
): string {
  const what = names.length > 0 ? `${displayKind(kind)} on ${names.join(', ')}` : displayKind(kind);
  return effect === 'deny'
    ? `${what} is refused by rule ${ruleId}: the policy does not allow this statement to touch ${names.length > 0 ? names.join(', ') : 'what it names'}. Leave it out of the statement, or ask an administrator.`
    : `${what} needs a human's approval under rule ${ruleId}: the policy protects ${names.length > 0 ? names.join(', ') : 'this kind of statement'}. ${reviewTail(mode)}`;
}

export function sqlDefaultMessage(
  effect: 'deny' | 'review',
  ruleId: string,
  kind: string,
  uncovered: readonly SqlCategory[],
  connection: string,
  mode: ReviewMode,
): string {
  const cats = uncovered.join(', ');
  const head = `${displayKind(kind)} (${cats}) is not covered by any rule on connection ${connection}`;
  return effect === 'deny'
    ? `${head}, so it is refused by rule ${ruleId}: only what a rule allows may run. Use a statement the policy allows, or ask an administrator for a rule that allows ${cats}.`
    : `${head}, so it needs a human's approval under rule ${ruleId}. ${reviewTail(mode)}`;
}

export function httpMessage(
  effect: 'deny' | 'review',
  ruleId: string,
  what: string,
  mode: ReviewMode,
  isDefault: boolean,
  connection: string,
): string {
  if (isDefault) {
    return effect === 'deny'
      ? `${what} is not covered by any rule on connection ${connection}, so it is refused by rule ${ruleId}: only what a rule allows may run. Ask an administrator for a rule that allows it.`
      : `${what} is not covered by any rule on connection ${connection}, so it needs a human's approval under rule ${ruleId}. ${reviewTail(mode)}`;
  }
  return effect === 'deny'
    ? `${what} is refused by rule ${ruleId}: the policy does not allow this operation. Use an operation the policy allows, or ask an administrator.`
    : `${what} needs a human's approval under rule ${ruleId}: the policy protects this operation. ${reviewTail(mode)}`;
}

export function connectionAccessMessage(connection: string, subject: string): string {
  return (
    `Access to connection ${connection} is refused by rule connection-access: no policy grants it to ${subject}. ` +
    `Ask an administrator for a policy that grants you this connection.`
  );
}

export function unparseableMessage(parseError: string | undefined): string {
  const detail = parseError === undefined ? '' : ` (${truncate(parseError, 200)})`;
  return (
    `The statement could not be parsed${detail}, so it is refused by rule unparseable: Gatehouse only forwards SQL ` +
    `it can read and check. Fix the syntax, or send the statements one at a time.`
  );
}

/** Values a custom rule message may refer to as {kind}, {category}, {rule}, {connection}, {names}. */
export interface MessageVars {
  readonly kind: string;
  readonly category: string;
  readonly rule: string;
  readonly connection: string;
  readonly names: string;
}

/** Fills a rule's own message; appends the rule id when the text does not name it, so every message does. */
export function fillCustomMessage(template: string, vars: MessageVars): string {
  const text = template.replace(/\{(kind|KIND|category|rule|connection|names)\}/g, (_m, key: string) =>
    key === 'KIND' ? displayKind(vars.kind) : vars[key as keyof MessageVars],
  );
  return text.includes(vars.rule) ? text : `${text} (rule ${vars.rule})`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
