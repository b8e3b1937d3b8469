// How the bounded maps of web sign-ins (the console's sessions, the approval pages' sign-ins) share
// their places between principals: each keeps at most a few, its oldest giving way to its newest, and
// a full map takes no one's place. It must never let one principal's sign-ins push out another's.

/** Sign-ins one principal keeps at once (browsers, tabs after a lost binding, a CLI's page login). */
export const SIGN_INS_PER_PRINCIPAL = 16;

/** Whose sign-in it is: issuer, subject, and agent or not (a token in a person's name held by an agent is another principal). */
export function signInOwner(id: {
  readonly issuer: string;
  readonly subject: string;
  readonly agent: boolean;
}): string {
  return `${id.issuer}\u0000${id.subject}\u0000${id.agent ? 'agent' : 'person'}`;
}

/** Refused because every place is taken by live sign-ins of other principals. */
export class SignInPlacesFull extends Error {
  override readonly name = 'SignInPlacesFull';
  constructor() {
    super('too many sign-ins are open on this gateway right now; try again later');
  }
}

/**
 * Makes room for one more sign-in of `owner` in `map` (insertion order is age order): forgets the
 * expired, then this owner's oldest beyond `perPrincipal - 1`; throws SignInPlacesFull when the map
 * still holds `max` live sign-ins (of others). One walk over the map, as the sweep of the expired was.
 */
export function makeRoomFor<V>(
  map: Map<string, V>,
  owner: string,
  entry: { readonly ownerOf: (v: V) => string; readonly expired: (v: V) => boolean },
  max: number,
  perPrincipal = SIGN_INS_PER_PRINCIPAL,
): void {
  const mine: string[] = [];
  for (const [k, v] of map) {
    if (entry.expired(v)) map.delete(k);
    else if (entry.ownerOf(v) === owner) mine.push(k);
  }
  while (mine.length >= perPrincipal) map.delete(mine.shift()!);
  if (map.size >= max) throw new SignInPlacesFull();
}
