// The Kubernetes protobuf encoding of the objects granted-powers.ts reads, decoded to the JSON shape it
// reads (kubectl's typed commands — `create rolebinding`, `create role`, `create secret` — send
// protobuf). Only the fields that decide what a write grants are kept; field numbers are those of
// k8s.io/api's generated.proto (rbac/v1, core/v1, certificates/v1, and apimachinery's ObjectMeta). The
// envelope is `k8s\0` then a runtime.Unknown (typeMeta 1, raw 2, contentEncoding 3, contentType 4).
// Anything else — another encoding, a wire type a field cannot have, a truncated message — is
// undefined: the caller takes the body as one that may grant anything.

const MAGIC = Buffer.from('k8s\0', 'latin1');

type Fields = Map<number, (Buffer | bigint)[]>;

/** One message's fields by number: length-delimited values as bytes, varints as numbers. */
function fields(buf: Buffer): Fields | undefined {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint | undefined => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (i >= buf.length) return undefined;
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (i < buf.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: Buffer | bigint;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      value = v;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || len > BigInt(buf.length - i)) return undefined;
      value = buf.subarray(i, i + Number(len));
      i += Number(len);
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
      if (i > buf.length) return undefined;
      continue;
    } else return undefined;
    const list = out.get(num) ?? [];
    list.push(value);
    out.set(num, list);
  }
  return out;
}

const STRICT = new TextDecoder('utf-8', { fatal: true });

function strings(f: Fields, n: number): string[] | undefined {
  const out: string[] = [];
  for (const v of f.get(n) ?? []) {
    if (!Buffer.isBuffer(v)) return undefined;
    out.push(STRICT.decode(v));
  }
  return out;
}

function string(f: Fields, n: number): string | undefined {
  return strings(f, n)?.at(-1);
}

function messages(f: Fields, n: number): Fields[] | undefined {
  const out: Fields[] = [];
  for (const v of f.get(n) ?? []) {
    if (!Buffer.isBuffer(v)) return undefined;
    const m = fields(v);
    if (m === undefined) return undefined;
    out.push(m);
  }
  return out;
}

/** A map<string,string> field (entries: key 1, value 2). */
function stringMap(f: Fields, n: number): Record<string, string> | undefined {
  const entries = messages(f, n);
  if (entries === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) out[string(e, 1) ?? ''] = string(e, 2) ?? '';
  return out;
}

/**
 * Whether a singular field is given at most once: Go's protobuf merges a message given twice (the
 * first one's labels with the second's), where this reading would see one; so neither is read.
 */
function once(f: Fields, ...ns: number[]): boolean {
  return ns.every((n) => (f.get(n)?.length ?? 0) <= 1);
}

function meta(f: Fields): Record<string, unknown> | undefined {
  if (!once(f, 1)) return undefined;
  const m = messages(f, 1)?.at(-1);
  if (m === undefined) return {};
  const labels = stringMap(m, 11);
  const annotations = stringMap(m, 12);
  if (labels === undefined || annotations === undefined) return undefined;
  return { name: string(m, 1), labels, annotations };
}

/**
 * The object a protobuf body holds, shaped as its JSON (only the fields that decide a grant), or
 * undefined when it is not one Gatehouse reads this way.
 */
export function grantObjectFromProtobuf(resource: string, body: Buffer): Record<string, unknown> | undefined {
  try {
    if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const unknown = fields(body.subarray(MAGIC.length));
    if (unknown === undefined || !once(unknown, 2, 3, 4)) return undefined;
    // Only raw protobuf inside: no other content encoding or type.
    if ((unknown.get(3)?.length ?? 0) > 0 && string(unknown, 3) !== '') return undefined;
    const rawType = string(unknown, 4);
    if (rawType !== undefined && rawType !== '' && rawType !== 'application/vnd.kubernetes.protobuf')
      return undefined;
    const raw = unknown.get(2)?.at(-1);
    if (!Buffer.isBuffer(raw)) return undefined;
    const o = fields(raw);
    // metadata, a ClusterRole's aggregationRule, a binding's roleRef, a Secret's type: once each.
    if (o === undefined || !once(o, 1, 3)) return undefined;
    const metadata = meta(o);
    if (metadata === undefined) return undefined;
    switch (resource) {
      case 'roles':
      case 'clusterroles': {
        const rules = messages(o, 2);
        if (rules === undefined) return undefined;
        const read = rules.map((r) => ({
          verbs: strings(r, 1),
          apiGroups: strings(r, 2),
          resources: strings(r, 3),
          nonResourceURLs: strings(r, 5),
        }));
        if (read.some((r) => Object.values(r).some((v) => v === undefined))) return undefined;
        const aggregation = (o.get(3)?.length ?? 0) > 0 ? { aggregationRule: {} } : {};
        return { metadata, rules: read, ...aggregation };
      }
      case 'rolebindings':
      case 'clusterrolebindings': {
        const subjects = messages(o, 2);
        const ref = messages(o, 3)?.at(-1);
        if (subjects === undefined || ref === undefined) return undefined;
        return {
          metadata,
          subjects: subjects.map((s) => ({
            kind: string(s, 1),
            name: string(s, 3),
            namespace: string(s, 4),
          })),
          roleRef: { apiGroup: string(ref, 1), kind: string(ref, 2), name: string(ref, 3) },
        };
      }
      case 'secrets':
        return { metadata, type: string(o, 3) };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
