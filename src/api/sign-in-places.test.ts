import { describe, expect, it } from 'vitest';
import { makeRoomFor, signInOwner, SignInPlacesFull } from './sign-in-places.js';

interface Entry {
  readonly owner: string;
  readonly until: number;
}
const entry = { ownerOf: (v: Entry) => v.owner, expired: (v: Entry) => v.until <= 100 };

describe('makeRoomFor', () => {
  it("gives way to the owner's own newest sign-ins, never another's", () => {
    const m = new Map<string, Entry>();
    m.set('admin', { owner: 'alice', until: 1000 });
    for (let i = 0; i < 50; i++) {
      makeRoomFor(m, 'claude', entry, 10, 3);
      m.set(`c${i}`, { owner: 'claude', until: 1000 });
    }
    expect([...m.keys()]).toEqual(['admin', 'c47', 'c48', 'c49']);
  });

  it('forgets the expired, and refuses rather than push out a live sign-in of someone else', () => {
    const m = new Map<string, Entry>([
      ['old', { owner: 'bob', until: 50 }],
      ['a', { owner: 'alice', until: 1000 }],
      ['b', { owner: 'bob', until: 1000 }],
    ]);
    makeRoomFor(m, 'carol', entry, 3, 3);
    expect(m.has('old')).toBe(false);
    m.set('c', { owner: 'carol', until: 1000 });
    expect(() => makeRoomFor(m, 'dave', entry, 3, 3)).toThrow(SignInPlacesFull);
    expect([...m.keys()]).toEqual(['a', 'b', 'c']);
    // Carol's own oldest gives way to her newest even when the map is full.
    expect(() => makeRoomFor(m, 'carol', entry, 3, 1)).not.toThrow();
    expect([...m.keys()]).toEqual(['a', 'b']);
  });

  it('tells an agent holding a token in a person’s name from the person', () => {
    const person = signInOwner({ issuer: 'https://idp', subject: 'alice', agent: false });
    const agent = signInOwner({ issuer: 'https://idp', subject: 'alice', agent: true });
    expect(person).not.toBe(agent);
  });
});
