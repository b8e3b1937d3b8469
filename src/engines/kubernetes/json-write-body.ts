// A write's body as the Kubernetes engine reads it to decide what it sets (pod-privileges.ts,
// granted-powers.ts): JSON of one of the API server's JSON media types (patches included), strict
// UTF-8, and a JSON patch's operations checked whole before any is judged. What cannot be read so is
// a reason, and the caller decides it as "may set anything".

import { apiServerMediaType } from '../../wire/kubernetes/json-body.js';

const READABLE_TYPES = new Set([
  'application/json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/yaml',
]);

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export type BodyDocument =
  | { readonly ok: true; readonly type: string; readonly doc: unknown }
  | { readonly ok: false; readonly reason: string };

/** The body's JSON document and media type, or why it cannot be read. */
export function readBodyDocument(contentType: string | string[] | undefined, body: Buffer): BodyDocument {
  const type = apiServerMediaType(contentType);
  if (!READABLE_TYPES.has(type))
    return { ok: false, reason: `its content type ${type.slice(0, 80) || '(none)'} is not JSON` };
  try {
    return { ok: true, type, doc: JSON.parse(STRICT_UTF8.decode(body)) };
  } catch {
    return { ok: false, reason: 'it is not JSON text' };
  }
}

/** One JSON patch operation (RFC 6902), its path as pointer tokens. */
export interface PatchOperation {
  readonly op: 'add' | 'replace' | 'copy' | 'move' | 'remove' | 'test';
  readonly at: string[];
  readonly value: unknown;
  readonly from: unknown;
}

const PATCH_OPS: ReadonlySet<string> = new Set(['add', 'replace', 'copy', 'move', 'remove', 'test']);

/** A JSON patch's operations, or why it cannot be read (any operation that is not one of RFC 6902's). */
export function patchOperations(
  doc: unknown,
):
  | { readonly ok: true; readonly ops: readonly PatchOperation[] }
  | { readonly ok: false; readonly reason: string } {
  if (!Array.isArray(doc)) return { ok: false, reason: 'the JSON patch is not a list of operations' };
  const ops: PatchOperation[] = [];
  for (const op of doc as unknown[]) {
    if (typeof op !== 'object' || op === null || Array.isArray(op))
      return { ok: false, reason: 'the JSON patch has an operation that is not an object' };
    const o = op as Record<string, unknown>;
    if (typeof o.op !== 'string' || typeof o.path !== 'string')
      return { ok: false, reason: 'the JSON patch has an operation without an op or a path' };
    const at = pointer(o.path);
    if (at === undefined)
      return { ok: false, reason: 'the JSON patch has a path that is not a JSON pointer' };
    if (!PATCH_OPS.has(o.op))
      return {
        ok: false,
        reason: `the JSON patch has an unknown operation ${JSON.stringify(o.op.slice(0, 20))}`,
      };
    ops.push({ op: o.op as PatchOperation['op'], at, value: o.value, from: o.from });
  }
  return { ok: true, ops };
}

/** A JSON pointer's tokens (`~1` is `/`, `~0` is `~`); undefined when it is not one. */
export function pointer(p: string): string[] | undefined {
  if (p === '') return [];
  if (!p.startsWith('/')) return undefined;
  return p
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** At most `max` of `all`, the rest counted. */
export function firstNamed(all: readonly string[], max: number): string[] {
  const named = all.slice(0, max);
  if (all.length > max) named.push(`… and ${all.length - max} more`);
  return named;
}
