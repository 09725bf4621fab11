/**
 * A small seeded generator (SplitMix32) so that a check run can be replayed
 * exactly from the seed it prints.
 *
 * @module
 */

/** The largest seed: seeds are unsigned 32-bit integers. */
export const MAX_SEED = 0xffff_ffff;

/**
 * Deterministic pseudo-random numbers from a 32-bit seed.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(42);
 * random.integer(1, 6); // the same roll on every run with seed 42
 * ```
 */
export class SeededRandom {
  #state: number;

  /** A generator started at `seed` (its low 32 bits). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** An integer in [min, max], both included. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.integer(0, items.length - 1)] as T;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.nextUint32() & 0xff);
  }
}

/** A fresh seed from the system's cryptographic generator. */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
