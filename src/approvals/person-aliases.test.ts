import { describe, expect, it } from 'vitest';
import { canonicalPerson, personAliasesProblem } from './person-aliases.js';

const people = {
  'alice@corp.example': ['alice@corp-sso.example', 'Ann.Admin@corp.example'],
  '@corp.example': ['@corp.io'],
};

describe('canonicalPerson', () => {
  it('maps an alias address, lower-cased, onto its person', () => {
    expect(canonicalPerson('ALICE@corp-sso.example', people)).toBe('alice@corp.example');
    expect(canonicalPerson('ann.admin@corp.example', people)).toBe('alice@corp.example');
  });
  it('maps an aliased domain, then an address alias of the result', () => {
    expect(canonicalPerson('bob@corp.io', people)).toBe('bob@corp.example');
    const both = { 'alice@corp.example': ['ann@corp.example'], '@corp.example': ['@corp.io'] };
    expect(canonicalPerson('ann@corp.io', both)).toBe('alice@corp.example');
  });
  it('leaves other persons, and no person, as they are', () => {
    expect(canonicalPerson('carol@elsewhere.example', people)).toBe('carol@elsewhere.example');
    expect(canonicalPerson(undefined, people)).toBeUndefined();
    expect(canonicalPerson('x@corp.io.evil.example', people)).toBe('x@corp.io.evil.example');
  });
});

describe('personAliasesProblem', () => {
  it('accepts a well-formed map', () => expect(personAliasesProblem(people)).toBeUndefined());
  it('refuses an alias under two persons, a chain, and a domain mapped to an address', () => {
    expect(personAliasesProblem({ 'a@x': ['c@x'], 'b@x': ['c@x'] })).toMatch(/both/);
    expect(personAliasesProblem({ 'a@x': ['b@x'], 'b@x': ['c@x'] })).toMatch(/of its own/);
    expect(personAliasesProblem({ 'a@x': ['@y'] })).toMatch(/@domain/);
  });
});
