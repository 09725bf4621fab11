/**
 * CPython's `random.Random` generator (MT19937), continued from a state that
 * travelled with a request, so `rand` answers exactly as the Python server.
 *
 * @module
 */

import { MT_WORDS as N, type RandomState } from "./expr.ts";

const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * A Mersenne Twister that starts from a copy of a {@linkcode RandomState}
 * (the given state is never modified).
 *
 * @example
 * ```ts
 * const generator = new MersenneTwister(state);
 * generator.random(); // the same float as Python's Random.random()
 * ```
 */
export class MersenneTwister {
  readonly #mt: Uint32Array;
  #index: number;

  /** Copies `state`; throws a RangeError if it is not 624 words and an index in 0..624. */
  constructor(state: RandomState) {
    if (state.words.length !== N || state.index < 0 || state.index > N) {
      throw new RangeError(`a random state needs ${N} words and an index in 0..${N}`);
    }
    this.#mt = Uint32Array.from(state.words);
    this.#index = state.index;
  }

  /** CPython's `genrand_uint32`: the next tempered 32-bit output. */
  nextUint32(): number {
    const mt = this.#mt;
    if (this.#index >= N) {
      for (let k = 0; k < N; k++) {
        const y = ((mt[k] as number) & UPPER_MASK) | ((mt[(k + 1) % N] as number) & LOWER_MASK);
        mt[k] = (mt[(k + M) % N] as number) ^ (y >>> 1) ^ ((y & 1) === 0 ? 0 : MATRIX_A);
      }
      this.#index = 0;
    }
    let y = mt[this.#index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** CPython's `Random.random()`: 53 random bits from two outputs, in [0, 1). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}
