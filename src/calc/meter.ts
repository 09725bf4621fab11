/**
 * The evaluation work meter: what each kind of work an expression asks for
 * costs ({@linkcode PRICES}, in units of about a nanosecond), the count of
 * what one evaluation spent, and the check of integer sizes.
 *
 * The prices are calibrated with `src/bench/meter_calibration_main.ts`: for
 * every kind of work (big-int and float operations, the loops of three-argument
 * `pow` and of the modular inverse, the steps), a tree doing as much of it as
 * the limits allow should take about a millisecond per million units, so that
 * the default `maxWork` of 20,000,000 units is about 20 ms however it is
 * spent. A big-int operation is priced by the 64-bit words it reads and
 * writes, and its allocation by a fixed price: in a loop of small operations
 * the allocations are most of the time.
 *
 * @module
 */

import { PyException } from "./py_exception.ts";

/** What the meter charges, in units of about a nanosecond (of the machine calibrated). */
export const PRICES: Readonly<{
  node: number;
  operation: number;
  word: number;
  kept: number;
  product: number;
  quotient: number;
  divisorWord: number;
  stepChar: number;
}> = Object.freeze({
  /** Every node of the tree: its dispatch, and all a float, a bool or a small int costs. */
  node: 70,
  /** Every big-int operation: a call and the allocation of its result. */
  operation: 15,
  /** Every 64-bit word an operation reads or writes. */
  word: 0.5,
  /**
   * Every word of a value the evaluation keeps (until it ends: the steps
   * show them): such values tire the garbage collector, which moves them.
   */
  kept: 4,
  /** Every pair of words a multiplication multiplies (fewer past Karatsuba's size). */
  product: 0.8,
  /** Every pair of a divisor's and a quotient's words (fewer past Burnikel-Ziegler's size). */
  quotient: 2,
  /** Every word of a divisor: long division walks it, and normalises it, whatever the quotient. */
  divisorWord: 10,
  /** Every character of the steps, rendered and bracket-stripped. */
  stepChar: 65,
});

/** What one evaluation may spend; see `EvalLimits` in evaluate.ts for the meaning. */
export interface MeterLimits {
  /** Largest number of decimal digits of an int. */
  readonly maxIntDigits: number;
  /** Largest amount of work, in units of {@linkcode PRICES}. */
  readonly maxWork: number;
}

/** `10 ** maxIntDigits`, its negative and its bit length, per limit used. */
interface IntBound {
  readonly bound: bigint;
  readonly negative: bigint;
  readonly bits: number;
}

const intLimitCache = new Map<number, IntBound>();

/**
 * Tracks the work an evaluation spends and checks integer sizes. One meter
 * serves one evaluation.
 */
export class Meter {
  /** `10 ** maxIntDigits`: the smallest magnitude with too many digits. */
  readonly #bound: bigint;
  /** `-#bound`, made once: negating it per check would copy it every time. */
  readonly #negativeBound: bigint;
  /** The bit length of `#bound`. */
  readonly #boundBits: number;
  readonly #maxDigits: number;
  readonly #maxWork: number;
  #work = 0;

  /** A meter with nothing spent yet. */
  constructor(limits: MeterLimits) {
    this.#maxDigits = limits.maxIntDigits;
    this.#maxWork = limits.maxWork;
    let cached = intLimitCache.get(limits.maxIntDigits);
    if (cached === undefined) {
      const bound = 10n ** BigInt(limits.maxIntDigits);
      cached = { bound, negative: -bound, bits: bitLength(bound) };
      intLimitCache.set(limits.maxIntDigits, cached);
    }
    this.#bound = cached.bound;
    this.#negativeBound = cached.negative;
    this.#boundBits = cached.bits;
  }

  /** The units still allowed. */
  get room(): number {
    return this.#maxWork - this.#work;
  }

  /** Adds `units` of work; throws once the total passes the limit. */
  charge(units: number): void {
    this.#work += units;
    if (this.#work > this.#maxWork) this.refuse();
  }

  /** Charges for keeping `value` until the evaluation ends (see {@linkcode PRICES}.kept). */
  keep(value: bigint | number | boolean): void {
    if (typeof value === "bigint") this.charge(PRICES.kept * words(value));
  }

  /** Throws the error of work beyond the limit (for work refused before it is done). */
  refuse(): never {
    throw new PyException("OverflowError", [
      "expression too expensive to evaluate (calcnet limit)",
    ]);
  }

  /** Returns `x` if it has at most `maxIntDigits` decimal digits; throws otherwise. */
  int(x: bigint): bigint {
    if (x >= this.#bound || x <= this.#negativeBound) throw this.#tooLarge();
    return x;
  }

  /**
   * Throws if an int of at least `bits` bits would be too large: such an int
   * is at least `2 ** (bits - 1)`, which exceeds the bound when `bits` is
   * greater than the bound's bit length.
   */
  intBits(bits: number): void {
    if (bits > this.#boundBits) throw this.#tooLarge();
  }

  #tooLarge(): PyException {
    return new PyException("OverflowError", [
      `integer too large: more than ${this.#maxDigits} digits (calcnet limit)`,
    ]);
  }
}

/** The units of adding or subtracting ints of `a` and `b` words (`b` = 0: negating). */
export function addCost(a: number, b: number): number {
  return PRICES.operation + PRICES.word * (a + b + Math.max(a, b));
}

/** The units of multiplying ints of `a` and `b` words. */
export function mulCost(a: number, b: number): number {
  return PRICES.operation + PRICES.word * 2 * (a + b) +
    PRICES.product * a * b * fasterPast(Math.min(a, b), KARATSUBA_WORDS);
}

/**
 * The units of dividing an int of `a` words by one of `b` words (quotient
 * or remainder): the divisor's words, and the divisor's times the
 * quotient's.
 */
export function divCost(a: number, b: number): number {
  const quotientWords = Math.max(1, a - b + 1);
  return PRICES.operation + PRICES.word * (a + b) + PRICES.divisorWord * b +
    PRICES.quotient * quotientWords * b * fasterPast(Math.min(quotientWords, b), BURNIKEL_WORDS);
}

/** V8 multiplies ints both longer than this (in words) by Karatsuba's method. */
const KARATSUBA_WORDS = 34;
/** V8 divides by Burnikel and Ziegler's method past this many words. */
const BURNIKEL_WORDS = 57;
/**
 * How the price of a word pair falls past those sizes: by `(threshold /
 * words) ** FAST_SCALING` (fitted to V8's times; Karatsuba alone would
 * give 0.415).
 */
const FAST_SCALING = 0.3;

/** The share of the schoolbook price a product or quotient of operands of `words` words costs. */
function fasterPast(words: number, threshold: number): number {
  return words <= threshold ? 1 : (threshold / words) ** FAST_SCALING;
}

/** Integers below this magnitude are one word. */
const WORD_LIMIT = 1n << 64n;
/** `-WORD_LIMIT`, made once (a bigint negation is an allocation). */
const NEGATIVE_WORD_LIMIT = -WORD_LIMIT;
const BITS_PER_WORD = 64;
/** The largest word count the bounds below reach; beyond, words are counted in steps. */
const TABLE_WORDS = 1024;
/** Past 16 words, the word counts with a bound are this ratio apart (at most). */
const TABLE_RATIO = 1.125;
const EXACT_WORD_COUNTS = 16;

/** `2 ** (64 k)` and its negative for ascending word counts k, made on first use. */
interface WordBounds {
  readonly counts: readonly number[];
  readonly positive: readonly bigint[];
  readonly negative: readonly bigint[];
}

let wordBounds: WordBounds | undefined;

function bounds(): WordBounds {
  if (wordBounds !== undefined) return wordBounds;
  const counts: number[] = [];
  for (let k = 1; k <= EXACT_WORD_COUNTS; k++) counts.push(k);
  for (let k = EXACT_WORD_COUNTS; k < TABLE_WORDS;) {
    k = Math.min(TABLE_WORDS, Math.ceil(k * TABLE_RATIO));
    counts.push(k);
  }
  const positive = counts.map((k) => 1n << BigInt(BITS_PER_WORD * k));
  wordBounds = { counts, positive, negative: positive.map((bound) => -bound) };
  return wordBounds;
}

/**
 * The index of the first bound of `table` above `|x|` (`table.counts.length`
 * when there is none), by comparisons only: V8 compares ints of different
 * lengths without reading their digits, so this costs no allocation and
 * almost no time, where a shift or `toString` would copy the int.
 */
function boundIndex(x: bigint, table: WordBounds): number {
  let low = 0;
  let high = table.counts.length;
  const { positive, negative } = table;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const below = x < 0n ? x > (negative[middle] as bigint) : x < (positive[middle] as bigint);
    if (below) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The number of 64-bit words of `x`, for pricing: exact up to 16 words,
 * beyond at most 1/8 more than exact. Costs a few comparisons.
 */
export function words(x: bigint): number {
  if (x < WORD_LIMIT && x > NEGATIVE_WORD_LIMIT) return 1;
  const table = bounds();
  const index = boundIndex(x, table);
  if (index < table.counts.length) return table.counts[index] as number;
  return TABLE_WORDS + words(x >> BigInt(BITS_PER_WORD * TABLE_WORDS));
}

/** `2 ** 32`, to split a one-word int into two 32-bit halves. */
const TWO_TO_32 = 2 ** 32;

/**
 * The number of bits of `|x|` (0 for 0), like Python's `int.bit_length()`:
 * the words below the top ones found by comparisons, the rest counted on
 * the top word or few.
 *
 * @example
 * ```ts
 * bitLength(255n); // 8
 * bitLength(-(2n ** 100n)); // 101
 * ```
 */
export function bitLength(x: bigint): number {
  let rest = x < 0n ? -x : x;
  let bits = 0;
  while (rest >= WORD_LIMIT) {
    const table = bounds();
    const index = boundIndex(rest, table);
    // All words below the bound under `rest` are full: shift them out.
    const below = index === 0 ? 0 : table.counts[index - 1] as number;
    const shift = BITS_PER_WORD * below;
    rest >>= BigInt(shift);
    bits += shift;
  }
  const value = Number(rest);
  if (value < TWO_TO_32) return bits + 32 - Math.clz32(value);
  // Number(rest) may round up: take the high half by a shift, exactly.
  return bits + 64 - Math.clz32(Number(rest >> 32n));
}
