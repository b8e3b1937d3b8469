// PostgreSQL type OIDs grouped by what masking must do with a value of that type: pass it untouched,
// read it as text, read its digits, or decode a structure. Data only (OIDs from pg_type.dat, stable).
// Must not guess: a type not listed here is `other` and gets the careful treatment, never `pass`.

/**
 * How a value of a type is handled.
 * - `pass`: no detector can hit its text form (integers up to 10 digits, floats, booleans, dates and
 *   times, UUIDs, network addresses, OIDs…): relayed without decoding; a column rule makes it NULL.
 * - `string`: the value is text in both formats (binary send of text types is the text itself).
 * - `digits`: int8 and numeric: a card number fits in them (`card::bigint`), so their decimal form is
 *   scanned; a hit makes the cell NULL, since the type cannot hold a masking tag.
 * - `json`, `jsonb`, `bytea`: decoded by their own rules.
 * - `array`: an array whose element type is known (binary format decoded element by element).
 * - `other`: anything else (composites, enums, domains, extension types such as citext): scanned as
 *   text in text format; in binary format scanned byte-wise and withheld (NULL) when anything is found.
 */
export type TypeHandling = 'pass' | 'string' | 'digits' | 'json' | 'jsonb' | 'bytea' | 'array' | 'other';

export const PgType = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const PASS: readonly number[] = [
  16, // bool
  21, // int2
  22, // int2vector
  23, // int4
  24, // regproc
  26, // oid
  27, // tid
  28, // xid
  29, // cid
  30, // oidvector
  600,
  601,
  602,
  603,
  604,
  628,
  718, // point lseg path box polygon line circle
  650, // cidr
  700, // float4 — `card::float4` is 4.111111e+15: the digits are gone
  701, // float8 — prints 4.111111111111111e+15 (docs/masking.md: not caught)
  774, // macaddr8
  790, // money
  829, // macaddr
  869, // inet
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1266, // timetz
  1560, // bit
  1562, // varbit
  2202,
  2203,
  2204,
  2205,
  2206, // regprocedure regoper regoperator regclass regtype
  2278, // void
  2950, // uuid
  3220, // pg_lsn
  3734,
  3769, // regconfig regdictionary
  4089,
  4096,
  4191, // regnamespace regrole regcollation
  5069, // xid8
  3904,
  3908,
  3910,
  3912, // int4range tsrange tstzrange daterange (numrange and int8range can hold a card: `other`)
];

/**
 * Range type OID → its element type, for the ranges whose bounds can hold a card (`int8range(card,
 * card + 1)` prints it): scanned as text, and bound by bound in binary format.
 */
export const RANGE_ELEMENT: ReadonlyMap<number, number> = new Map([
  [3926, 20], // int8range
  [3906, 1700], // numrange
]);

/** Multirange type OID → its range type, for the same element types. */
export const MULTIRANGE_RANGE: ReadonlyMap<number, number> = new Map([
  [4536, 3926], // int8multirange
  [4532, 3906], // nummultirange
]);

const STRING: readonly number[] = [
  18, // "char"
  19, // name
  25, // text
  142, // xml (binary send is the text in the client encoding)
  705, // unknown (string literals)
  1042, // bpchar
  1043, // varchar
  2275, // cstring
];

/** Array type OID → element type OID, for the arrays whose binary form is decoded. */
export const ARRAY_ELEMENT: ReadonlyMap<number, number> = new Map([
  [1000, 16],
  [1001, 17],
  [1002, 18],
  [1003, 19],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1014, 1042],
  [1015, 1043],
  [1016, 20],
  [1021, 700],
  [1022, 701],
  [1028, 26],
  [1115, 1114],
  [1182, 1082],
  [1183, 1083],
  [1185, 1184],
  [1187, 1186],
  [1231, 1700],
  [1270, 1266],
  [143, 142],
  [199, 114],
  [2951, 2950],
  [3807, 3802],
]);

const HANDLING = new Map<number, TypeHandling>();
for (const oid of PASS) HANDLING.set(oid, 'pass');
for (const oid of STRING) HANDLING.set(oid, 'string');
HANDLING.set(PgType.int8, 'digits');
HANDLING.set(PgType.numeric, 'digits');
HANDLING.set(PgType.json, 'json');
HANDLING.set(PgType.jsonb, 'jsonb');
HANDLING.set(PgType.bytea, 'bytea');
for (const oid of ARRAY_ELEMENT.keys()) HANDLING.set(oid, 'array');

export function typeHandling(typeOid: number): TypeHandling {
  return HANDLING.get(typeOid) ?? 'other';
}
