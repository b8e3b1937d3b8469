// Puts a tool call's context (tool name, the agent's stated reason) into the SQL it runs, as a
// sqlcommenter comment (https://google.github.io/sqlcommenter/spec/), so the statement record carries
// it. The classifier reads these pairs for lineage and never for policy; nothing here may change
// what the statement does.

/** Longest reason kept in the comment (the classifier keeps values up to 2048 characters). */
export const MAX_REASON_LENGTH = 1000;

/**
 * sqlcommenter value encoding: URL-encode, then escape quotes. `'` and `*` are percent-encoded too,
 * so a value can neither end the quoted value nor close the comment (`*\/`); `/` is always encoded,
 * so it cannot open a nested comment either.
 */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/'/g, '%27').replace(/\*/g, '%2A');
}

export function sqlcommenter(pairs: Readonly<Record<string, string>>): string {
  const body = Object.entries(pairs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeValue(k)}='${encodeValue(v)}'`)
    .join(',');
  return `/*${body}*/`;
}

/**
 * The statement with the comment appended on a line of its own: after a trailing `-- …` comment the
 * newline ends that comment first. The statement text passed in must not end with a `;` (the
 * classifier's per-statement text never does), or the comment would fall outside the statement.
 */
export function withPromptComment(statementText: string, pairs: Readonly<Record<string, string>>): string {
  return `${statementText}\n${sqlcommenter(pairs)}`;
}

/** A reason as recorded: trimmed, control characters folded to spaces, bounded in length. */
export function normaliseReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length <= MAX_REASON_LENGTH ? flat : `${flat.slice(0, MAX_REASON_LENGTH - 1)}…`;
}
