// Finds what the config schema expects at a path of a parsed config, so errors can list the known
// keys of an object ("did you mean") and recognise a secret reference. Reads zod's own definitions
// (`_zod.def`); it never validates anything itself.

import type { z } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly discriminator?: string;
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  readonly getter?: () => z.ZodType;
  readonly values?: readonly unknown[];
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'default', 'nullable', 'readonly', 'catch', 'prefault', 'nonoptional']);

/** The concrete schemas a value at this level may match (wrappers removed, unions spread). */
function alternatives(s: z.ZodType, raw: unknown, depth = 0): z.ZodType[] {
  if (depth > 20) return [];
  const def = defOf(s);
  if (WRAPPERS.has(def.type) && def.innerType) return alternatives(def.innerType, raw, depth + 1);
  if (def.type === 'pipe' && def.in) return alternatives(def.in, raw, depth + 1);
  if (def.type === 'lazy' && def.getter) return alternatives(def.getter(), raw, depth + 1);
  if (def.type === 'union' && def.options) {
    const options = def.options.flatMap((o) => alternatives(o, raw, depth + 1));
    // A discriminated union: the option its discriminator names, when the value names one.
    if (def.discriminator && raw && typeof raw === 'object') {
      const tag = (raw as Record<string, unknown>)[def.discriminator];
      const chosen = options.filter((o) => {
        const lit = defOf(o).shape?.[def.discriminator!];
        return lit !== undefined && literalValues(lit).includes(tag);
      });
      if (chosen.length > 0) return chosen;
    }
    // Otherwise the options that suit the shape of the value (an object, a list, a scalar).
    const fitting = options.filter((o) => fits(o, raw));
    return fitting.length > 0 ? fitting : options;
  }
  if (def.type === 'intersection' && def.left && def.right)
    return [...alternatives(def.left, raw, depth + 1), ...alternatives(def.right, raw, depth + 1)];
  return [s];
}

function literalValues(s: z.ZodType): readonly unknown[] {
  const def = defOf(s);
  if (WRAPPERS.has(def.type) && def.innerType) return literalValues(def.innerType);
  return def.type === 'literal' ? (def.values ?? []) : [];
}

function fits(s: z.ZodType, raw: unknown): boolean {
  const t = defOf(s).type;
  if (Array.isArray(raw)) return t === 'array';
  if (raw && typeof raw === 'object') return t === 'object' || t === 'record';
  return t !== 'object' && t !== 'array' && t !== 'record';
}

function child(raw: unknown, key: PropertyKey): unknown {
  return raw && typeof raw === 'object' ? (raw as Record<PropertyKey, unknown>)[key] : undefined;
}

/** The schemas that may apply at `path` of the raw config. */
export function schemasAt(root: z.ZodType, rawRoot: unknown, path: readonly PropertyKey[]): z.ZodType[] {
  let current: { schema: z.ZodType; raw: unknown }[] = [{ schema: root, raw: rawRoot }];
  for (const key of path) {
    const next: { schema: z.ZodType; raw: unknown }[] = [];
    for (const { schema, raw } of current) {
      const value = child(raw, key);
      for (const alt of alternatives(schema, raw)) {
        const def = defOf(alt);
        if (def.type === 'object' && typeof key === 'string' && def.shape?.[key])
          next.push({ schema: def.shape[key], raw: value });
        else if (def.type === 'record' && def.valueType) next.push({ schema: def.valueType, raw: value });
        else if (def.type === 'array' && def.element && typeof key === 'number')
          next.push({ schema: def.element, raw: value });
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.flatMap(({ schema, raw }) => alternatives(schema, raw));
}

/** The keys an object at `path` may have (from every alternative that is an object). */
export function knownKeysAt(root: z.ZodType, rawRoot: unknown, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(root, rawRoot, path)) {
    const shape = defOf(s).shape;
    if (defOf(s).type === 'object' && shape) for (const k of Object.keys(shape)) keys.add(k);
  }
  return [...keys];
}

const SECRET_KEYS = new Set(['env', 'file', 'encrypted']);

/** Does the field at `path` take a secret reference ({env}, {file} or {encrypted})? */
export function isSecretRefAt(root: z.ZodType, rawRoot: unknown, path: readonly PropertyKey[]): boolean {
  let parentAlternatives = 0;
  let secretShapes = 0;
  for (const s of schemasAtAnyShape(root, rawRoot, path)) {
    const def = defOf(s);
    if (def.type !== 'object' || !def.shape) continue;
    parentAlternatives++;
    const keys = Object.keys(def.shape);
    if (keys.length === 1 && SECRET_KEYS.has(keys[0]!)) secretShapes++;
  }
  return parentAlternatives > 0 && secretShapes === parentAlternatives;
}

/** Like schemasAt, but the last level keeps every union option whatever shape the value has. */
function schemasAtAnyShape(root: z.ZodType, rawRoot: unknown, path: readonly PropertyKey[]): z.ZodType[] {
  if (path.length === 0) return alternatives(root, {});
  const parents = schemasAt(root, rawRoot, path.slice(0, -1));
  const key = path[path.length - 1]!;
  const out: z.ZodType[] = [];
  for (const p of parents) {
    const def = defOf(p);
    const s =
      def.type === 'object' && typeof key === 'string'
        ? def.shape?.[key]
        : def.type === 'record'
          ? def.valueType
          : def.type === 'array' && typeof key === 'number'
            ? def.element
            : undefined;
    if (s) out.push(...alternatives(s, {}));
  }
  return out;
}
