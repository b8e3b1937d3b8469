// Console sign-in sessions: an opaque random id in an HttpOnly cookie, the signed-in person, the
// session's CSRF token and the digest of its browser-binding secret (src/api/browser-binding.ts)
// kept here (only a SHA-256 of the id is used as the key). Bounded in number
// and lifetime. It must never hold an agent: callers refuse agents before creating a session.

import { createHash, randomBytes } from 'node:crypto';
import { newBinding } from '../api/browser-binding.js';
import { makeRoomFor, signInOwner, SIGN_INS_PER_PRINCIPAL } from '../api/sign-in-places.js';
import type { Identity } from '../core/identity.js';

export type SignInMethod = 'token' | 'oidc' | 'saml' | 'demo-link';

export interface ConsoleSession {
  readonly identity: Identity;
  /** Token and OIDC sign-ins keep the token so every request re-verifies it (revocation, expiry). */
  readonly token?: string;
  readonly method: SignInMethod;
  /** Synchronizer token every state-changing request must carry. */
  readonly csrf: string;
  /**
   * SHA-256 of the secret the signing-in browser keeps in origin-scoped storage: the cookie alone
   * (sent to every port of the host) shows and changes nothing without it.
   */
  readonly bindDigest: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** Where console sessions live (in memory per gateway today; a shared store can implement it). */
export interface ConsoleSessionStore {
  /**
   * `bind`: the secret, handed once to the browser that signed in (never kept). Throws
   * SignInPlacesFull (src/api/sign-in-places.ts) rather than push out another principal's session.
   */
  create(session: Omit<ConsoleSession, 'csrf' | 'createdAt' | 'bindDigest'>): {
    id: string;
    session: ConsoleSession;
    bind: string;
  };
  get(id: string): ConsoleSession | undefined;
  delete(id: string): void;
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64url');

export class MemoryConsoleSessions implements ConsoleSessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #max: number;
  readonly #now: () => Date;

  readonly #perPrincipal: number;

  constructor(opts: { max?: number; perPrincipal?: number; now?: () => Date } = {}) {
    this.#max = opts.max ?? 10_000;
    this.#perPrincipal = opts.perPrincipal ?? SIGN_INS_PER_PRINCIPAL;
    this.#now = opts.now ?? (() => new Date());
  }

  create(s: Omit<ConsoleSession, 'csrf' | 'createdAt' | 'bindDigest'>): {
    id: string;
    session: ConsoleSession;
    bind: string;
  } {
    // The cap bounds memory under a sign-in flood; one principal's sign-ins give way to its own newer
    // ones and never push out another's: a map full of others' live sign-ins refuses this one
    // (SignInPlacesFull) rather than sign someone else out (docs/security.md, class 388).
    const now = this.#now().getTime();
    makeRoomFor(
      this.#sessions,
      signInOwner(s.identity),
      { ownerOf: (v) => signInOwner(v.identity), expired: (v) => v.expiresAt.getTime() <= now },
      this.#max,
      this.#perPrincipal,
    );
    const id = randomBytes(32).toString('base64url');
    const bind = newBinding();
    const session: ConsoleSession = {
      ...s,
      csrf: randomBytes(24).toString('base64url'),
      bindDigest: bind.digest,
      createdAt: this.#now(),
    };
    this.#sessions.set(digest(id), session);
    return { id, session, bind: bind.secret };
  }

  get(id: string): ConsoleSession | undefined {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const key = digest(id);
    const s = this.#sessions.get(key);
    if (s && s.expiresAt.getTime() <= this.#now().getTime()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.#sessions.delete(digest(id));
  }

  get size(): number {
    return this.#sessions.size;
  }
}
