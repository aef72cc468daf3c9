/**
 * Secrets have their own type: the value is reachable only through `reveal()`,
 * and every way an object gets printed, logged or serialized shows a mask.
 */
import { inspect } from 'node:util';

const MASK = '****';

export class Secret<T> {
  readonly name: string;
  readonly #value: T;

  constructor(name: string, value: T) {
    this.name = name;
    this.#value = value;
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return `Secret(${this.name}: ${MASK})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Where secrets come from: Secrets Manager in AWS, a user-owned file locally. */
export interface SecretSource {
  get(name: string): Promise<Secret<Record<string, unknown>>>;
}
