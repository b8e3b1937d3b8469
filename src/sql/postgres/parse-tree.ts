// Small readers for libpg-query's JSON parse tree (wrapped nodes, String lists, constants, DefElems).
// They only read; deciding what a statement means is the walker's and the statement rules' job.

/** A node body: the object inside a `{"TypeName": {...}}` wrapper. */
export type NodeBody = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is NodeBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body of `node` when it is a `{type: body}` wrapper of that type, else undefined. */
export function unwrap(node: unknown, type: string): NodeBody | undefined {
  if (!isObject(node)) return undefined;
  const body = node[type];
  return isObject(body) ? body : undefined;
}

/** The node type name and body of a wrapped node; undefined if `node` is not a one-key wrapper. */
export function wrapped(node: unknown): [type: string, body: NodeBody] | undefined {
  if (!isObject(node)) return undefined;
  let type: string | undefined;
  for (const key in node) {
    if (type !== undefined) return undefined;
    type = key;
  }
  if (type === undefined) return undefined;
  const body = node[type];
  return isObject(body) ? [type, body] : undefined;
}

/** The `sval`s of a list of `{"String": {"sval": …}}` nodes (or of a wrapped `List` of them). */
export function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : unwrap(value, 'List')?.['items'];
  if (!Array.isArray(items)) return [];
  const out: string[] = [];
  for (const item of items) {
    const sval = unwrap(item, 'String')?.['sval'];
    if (typeof sval === 'string') out.push(sval);
  }
  return out;
}

/** The last of a list of `String` nodes: a function's, operator's or type's own name without its schema. */
export function lastName(list: unknown): string | undefined {
  const names = stringList(list);
  return names[names.length - 1];
}

/** The items of a list: an array, or a wrapped `List` node's items (empty for anything else). */
export function listItems(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  const items = unwrap(value, 'List')?.['items'];
  return Array.isArray(items) ? items : [];
}

/** The string value of an `A_Const` string literal, looking through casts (`'x'::text`); else undefined. */
export function constantString(node: unknown): string | undefined {
  let current = node;
  for (let cast = unwrap(current, 'TypeCast'); cast !== undefined; cast = unwrap(current, 'TypeCast')) {
    current = cast['arg'];
  }
  // A_Const.sval is a bare String struct; an empty string literal is emitted as `"sval": {}`.
  const sval = unwrap(current, 'A_Const')?.['sval'];
  if (!isObject(sval)) return undefined;
  const text = sval['sval'];
  return typeof text === 'string' ? text : '';
}

/**
 * The value of a constant as PostgreSQL's GUC code reads it (strings as written, numbers in their
 * decimal text, booleans as on/off), looking through casts; undefined for anything not constant.
 */
export function constantValue(node: unknown): string | undefined {
  let current = node;
  for (let cast = unwrap(current, 'TypeCast'); cast !== undefined; cast = unwrap(current, 'TypeCast')) {
    current = cast['arg'];
  }
  const c = unwrap(current, 'A_Const');
  if (c === undefined) return undefined;
  if (c['isnull'] === true) return undefined;
  const sval = c['sval'];
  if (isObject(sval)) return typeof sval['sval'] === 'string' ? sval['sval'] : '';
  const ival = c['ival'];
  if (isObject(ival)) return String(typeof ival['ival'] === 'number' ? ival['ival'] : 0);
  const fval = c['fval'];
  if (isObject(fval) && typeof fval['fval'] === 'string') return fval['fval'];
  const boolval = c['boolval'];
  if (isObject(boolval)) return boolval['boolval'] === true ? 'on' : 'off';
  return undefined;
}

/** The DefElem bodies of an options list, by lower-case name. */
export function defElems(list: unknown): Map<string, NodeBody> {
  const out = new Map<string, NodeBody>();
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    const def = unwrap(item, 'DefElem');
    const name = def?.['defname'];
    if (def !== undefined && typeof name === 'string') out.set(name.toLowerCase(), def);
  }
  return out;
}

/**
 * A DefElem read as PostgreSQL's defGetBoolean does (no argument = true; true/false/on/off; 1/0).
 * Anything else counts as true: the caller uses this to spot options that make a statement riskier.
 */
export function defElemIsTrue(def: NodeBody | undefined): boolean {
  if (def === undefined) return false;
  const arg = def['arg'];
  if (arg === undefined) return true;
  const bool = unwrap(arg, 'Boolean');
  if (bool !== undefined) return bool['boolval'] === true;
  const int = unwrap(arg, 'Integer');
  if (int !== undefined) return (int['ival'] ?? 0) !== 0;
  const str = unwrap(arg, 'String')?.['sval'];
  if (typeof str === 'string') {
    const lower = str.toLowerCase();
    return !(lower === 'false' || lower === 'off' || lower === '0');
  }
  return true;
}

/** The string argument of a DefElem (`LANGUAGE plpgsql` → `plpgsql`), lower-cased. */
export function defElemString(def: NodeBody | undefined): string | undefined {
  const sval = unwrap(def?.['arg'], 'String')?.['sval'];
  return typeof sval === 'string' ? sval.toLowerCase() : undefined;
}
