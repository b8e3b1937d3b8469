// The hash that binds an approval to one exact action: SHA-256 over a canonical JSON document of the
// connection, the requester (subject + issuer), the statement text and its bind parameters.
// It must not normalise the text: an approval covers exactly the bytes the approver saw.

import { createHash } from 'node:crypto';

export interface HashedAction {
  readonly connection: string;
  readonly subject: string;
  readonly issuer: string;
  readonly text: string;
  readonly params?: readonly (string | null)[];
  /** The session settings that change the statement's meaning (setting-risks.ts MEANING_SETTINGS). */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * `sha256(JSON.stringify(["gatehouse-statement-v1", connection, issuer, subject, text, params]))` (or
 * `"gatehouse-statement-v2"` with a last element, the session's meaning-changing settings as sorted
 * `[name, value]` pairs, when there are any) in
 * hex, where params is the list of bind parameters in text form (`null` for SQL NULL; `[]` for the
 * simple protocol). A JSON array fixes the order and escapes every string, so no two different
 * actions share a document (docs/approvals.md documents this so others can recompute it).
 */
export function statementHash(a: HashedAction): string {
  const settings = Object.entries(a.settings ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  // v2 adds the meaning-changing settings as sorted [name, value] pairs; without any, v1 as before.
  const doc = JSON.stringify(
    settings.length === 0
      ? ['gatehouse-statement-v1', a.connection, a.issuer, a.subject, a.text, a.params ?? []]
      : ['gatehouse-statement-v2', a.connection, a.issuer, a.subject, a.text, a.params ?? [], settings],
  );
  return createHash('sha256').update(doc, 'utf8').digest('hex');
}

/** What an approval request keeps of a statement, for `keptExactly`. */
export interface KeptStatement {
  readonly connection: string;
  readonly requester: { readonly subject: string; readonly issuer: string };
  readonly statement?: {
    readonly text: string;
    readonly params?: readonly (string | null)[];
    readonly hash: string;
  };
  readonly preview?: { readonly settings?: Readonly<Record<string, string>> } | undefined;
}

/**
 * True when the text and parameters a request keeps are the very ones its hash binds: nothing was
 * redacted (a password, a connection string's secret) or clipped (a long parameter, a COPY's rows) on
 * the way into the request. Only then may that kept text be sent again for the requester: a redacted
 * copy is another statement, which would open a request an approver reads as the one they approved
 * (docs/security.md, class 290).
 */
export function keptExactly(r: KeptStatement): boolean {
  if (!r.statement) return false;
  const settings = r.preview?.settings;
  return (
    statementHash({
      connection: r.connection,
      subject: r.requester.subject,
      issuer: r.requester.issuer,
      text: r.statement.text,
      ...(r.statement.params ? { params: r.statement.params } : {}),
      ...(settings ? { settings } : {}),
    }) === r.statement.hash
  );
}
