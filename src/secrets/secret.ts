// A secret value that redacts itself wherever it could leak by accident (String, JSON, util.inspect,
// template literals); only an explicit `.reveal()` hands out the value. It must not be serialised.

import { inspect } from 'node:util';

const REDACTED = '[secret]';

export class Secret {
  // A true private field: not enumerable, not visible to JSON.stringify, structuredClone or inspect.
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it at the last moment, where the value is used, and never log the result. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
