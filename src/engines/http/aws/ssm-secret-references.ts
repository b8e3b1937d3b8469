// SSM Parameter Store reads a Secrets Manager secret for a parameter named
// `/aws/reference/secretsmanager/<secret-id>` (GetParameter, GetParameters with decryption: "Referencing
// AWS Secrets Manager secrets from Parameter Store parameters"), and answers with the secret's value.
// Such a request is decided as the ssm operation on the name it gives, and also as the
// secretsmanager:GetSecretValue it does, on the secret it names: an allow of SSM reads does not read
// secrets, and a deny of a secret holds whichever API reads it (docs/security.md, class 372).

import { canonicalPath } from '../../../wire/http/canonical-path.js';
import type { AwsClassification, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';

/**
 * The reference prefix, as SSM matches it (with or without its leading `/`, or in a parameter's ARN;
 * any case, to be safe).
 */
const REFERENCE = /^(?:arn:[^:]*:ssm:[^:]*:[^:]*:parameter)?\/?aws\/reference\/secretsmanager\/?/i;

/** The names an SSM JSON request gives its parameters (`Name`, `Names`). */
export function parameterNamesInJson(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  const name = body['Name'];
  if (typeof name === 'string') out.push(name);
  const names = body['Names'];
  if (Array.isArray(names)) for (const n of names) if (typeof n === 'string') out.push(n);
  return out;
}

/**
 * The secret ids a parameter name references: the rest of the name, and without a trailing `:selector`
 * (a version or label, as a parameter name may carry), so that a rule on either spelling matches.
 */
export function referencedSecrets(name: string): string[] {
  const m = REFERENCE.exec(name);
  if (m === null) return [];
  const id = name.slice(m[0].length);
  const colon = id.lastIndexOf(':');
  return colon > 0 && !id.startsWith('arn:') ? [id, id.slice(0, colon)] : [id];
}

/** The classification with a secretsmanager:GetSecretValue for each secret its parameters reference. */
export function withReferencedSecrets(
  service: string,
  cls: AwsClassification,
  names: () => readonly string[],
): AwsClassification {
  if (cls.operation === undefined || service !== 'ssm') return cls;
  const secrets = [...new Set(names().flatMap(referencedSecrets))];
  if (secrets.length === 0) return cls;
  if (secrets.includes('')) return unknown(cls.protocol, 'a Secrets Manager reference names no secret');
  const root = canonicalPath('/', {});
  if (!root.ok) return unknown(cls.protocol, 'the referenced secrets cannot be named');
  const reads: ImpliedRequest[] = secrets.map((secret) => ({
    operation: 'secretsmanager:GetSecretValue',
    method: 'POST',
    path: root,
    rawQuery: '',
    resource: secret,
    headers: { 'secret-reference': secret.slice(0, 2048) },
  }));
  return { ...cls, implied: [...(cls.implied ?? []), ...reads] };
}
