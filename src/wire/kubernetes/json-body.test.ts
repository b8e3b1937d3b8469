import { describe, expect, it } from 'vitest';
import {
  ambiguousJsonBody,
  apiServerMediaType,
  duplicateJsonKey,
  jsonPatchReadingObject,
} from './json-body.js';

describe('duplicateJsonKey', () => {
  it('finds a key given twice in one object, at any depth', () => {
    expect(duplicateJsonKey('{"a":1,"a":2}')).toBe('a');
    expect(duplicateJsonKey('{"spec":{"x":1},"spec":{"y":2}}')).toBe('spec');
    expect(duplicateJsonKey('{"s":{"c":[{"n":1,"m":2,"n":3}]}}')).toBe('n');
    expect(duplicateJsonKey('[{"a":1},{"b":{"c":1, "c" :2}}]')).toBe('c');
  });

  it('compares keys decoded, as Go does (escapes, lone surrogates as U+FFFD)', () => {
    expect(duplicateJsonKey('{"spec":1,"sp\\u0065c":2}')).toBe('spec');
    expect(duplicateJsonKey('{"a\\ud800":1,"a\\udc00":2}')).toBe('a\ufffd');
    expect(duplicateJsonKey('{"a\\"b":1,"a\\u0022b":2}')).toBe('a"b');
  });

  it('passes distinct keys, the same key in different objects, and keys only in strings', () => {
    expect(duplicateJsonKey('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(duplicateJsonKey('{"a":"\\"a\\":1","b":"a","c":["a","a"]}')).toBeUndefined();
    expect(duplicateJsonKey('{"Spec":1,"spec":2}')).toBeUndefined();
    expect(duplicateJsonKey('{"a":[1,{"b":2}],"b":{"a":3}}')).toBeUndefined();
    expect(duplicateJsonKey('"a"')).toBeUndefined();
  });
});

describe('ambiguousJsonBody', () => {
  it('names the key, and leaves what is not JSON to the API server', () => {
    expect(ambiguousJsonBody('{"kind":"Pod","kind":"Pod"}')).toMatch(/names the key "kind" twice/);
    expect(ambiguousJsonBody('{"kind":"Pod"}')).toBeUndefined();
    expect(ambiguousJsonBody('kind: Pod\nkind: Pod\n')).toBeUndefined();
  });
});

describe('apiServerMediaType', () => {
  it('reads no Content-Type as JSON, as the API server does', () => {
    expect(apiServerMediaType(undefined)).toBe('application/json');
    expect(apiServerMediaType('')).toBe('application/json');
    expect(apiServerMediaType('Application/YAML; charset=utf-8')).toBe('application/yaml');
  });
});

describe('jsonPatchReadingObject', () => {
  it('passes add, remove and replace, and names copy, move, test and what is not a list of operations', () => {
    expect(
      jsonPatchReadingObject(
        '[{"op":"add","path":"/a","value":1},{"op":"remove","path":"/b"},{"op":"replace","path":"/c","value":{"from":"/d"}}]',
      ),
    ).toBeUndefined();
    for (const op of ['copy', 'move', 'test'])
      expect(jsonPatchReadingObject(`[{"op":"${op}","from":"/data/x","path":"/y","value":1}]`)).toMatch(
        new RegExp(`"${op}" operation, which reads`),
      );
    expect(jsonPatchReadingObject('[{"op":"co\\u0070y","from":"/a","path":"/b"}]')).toMatch(/"copy"/);
    expect(jsonPatchReadingObject('{"op":"add","path":"/a","value":1}')).toMatch(/not a list/);
    expect(jsonPatchReadingObject('[["add"]]')).toMatch(/not an object/);
    expect(jsonPatchReadingObject('[{"Op":"add","path":"/a","value":1}]')).toMatch(/without an "op"/);
    expect(jsonPatchReadingObject('[{"op":"add"')).toMatch(/not valid JSON/);
  });
});
