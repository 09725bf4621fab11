/**
 * The modular inverse behind `pow(a, -1, m)`: Lehmer's extended Euclid,
 * each step charged as it comes (how many steps there are is known only
 * as it goes: up to 1.44 per bit of `m`, for consecutive Fibonacci numbers).
 *
 * @module
 */

import { addCost, bitLength, divCost, type Meter, mulCost, PRICES, words } from "./meter.ts";
import { PyException } from "./py_exception.ts";

/**
 * How many leading bits of the remainders Lehmer's steps run on, as
 * doubles: below 2 ** 53 their sums and products by the cofactors stay
 * exact, and a quotient's floor is never rounded up.
 */
const TOP_BITS = 50;

/** Remainders below this are one word: plain Euclid finishes. */
const ONE_WORD = 1n << 64n;

/**
 * The big-int operations of one Lehmer step besides its products and sums:
 * the bit length and the two shifts that take the leading bits, the
 * cofactors made bigints.
 */
const LEHMER_OPERATIONS = 8;

/** What a division step costs besides its big-int operations: its quotient's size check and bookkeeping. */
const DIVISION_STEP_OPERATIONS = 3;

/** The cofactors of several Euclid steps found on the leading bits. */
interface Cofactors {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/** Two consecutive remainders `u > v >= 0` and their coefficients: `su * a ≡ u (mod m)`. */
interface Euclid {
  u: bigint;
  v: bigint;
  su: bigint;
  sv: bigint;
}

/** What the steps of one inverse cost, for a modulus of `mWords` words. */
interface StepPrices {
  readonly lehmer: number;
  readonly exact: number;
  readonly small: number;
  readonly perQuotientWord: number;
}

/**
 * Remainders shrink as coefficients grow: |sv| <= m / u, so the words of
 * both sides together are at most m's and two. Each operation on one side
 * has its twin on the other, charged as one operation over both sides'
 * words and a second fixed price.
 */
function stepPrices(mWords: number): StepPrices {
  const both = mWords + 2;
  return {
    lehmer: 4 * mulCost(1, both) + 2 * addCost(both, both) +
      (6 + LEHMER_OPERATIONS) * PRICES.operation,
    exact: divCost(mWords, mWords) + mulCost(1, both) + addCost(both, both) +
      (2 + DIVISION_STEP_OPERATIONS) * PRICES.operation,
    // One-word remainders, coefficients up to m's size.
    small: divCost(1, 1) + mulCost(1, 1) + addCost(1, 1) + mulCost(1, both) +
      addCost(both, both) + DIVISION_STEP_OPERATIONS * PRICES.operation,
    perQuotientWord: mWords * (PRICES.quotient + 2 * PRICES.product),
  };
}

/**
 * The inverse of `a` modulo `m > 1`, as CPython's `long_invmod` finds it
 * (its sign may differ; the caller reduces it modulo `m`), or CPython's
 * ValueError when there is none.
 *
 * Lehmer's method: as long as the remainders are big, the leading 50 bits
 * of both tell, in doubles, the quotients of a dozen or more Euclid steps
 * at once, and one step of four products applies them all; when they tell
 * nothing (a big quotient), one exact division step is taken. Plain Euclid
 * finishes on one-word remainders.
 */
export function modularInverse(a: bigint, m: bigint, meter: Meter): bigint {
  const mWords = words(m);
  meter.charge(divCost(words(a), mWords) + addCost(mWords, mWords));
  const state: Euclid = { u: m, v: a % m, su: 0n, sv: 1n };
  if (state.v < 0n) state.v += m;
  const prices = stepPrices(mWords);
  while (state.v >= ONE_WORD) {
    const shift = BigInt(bitLength(state.u) - TOP_BITS);
    const cofactors = leadingCofactors(Number(state.u >> shift), Number(state.v >> shift));
    if (cofactors === undefined) {
      exactStep(state, prices.exact, prices, meter);
    } else {
      meter.charge(prices.lehmer);
      applyCofactors(state, cofactors);
    }
  }
  while (state.v !== 0n) exactStep(state, prices.small, prices, meter);
  if (state.u !== 1n) {
    throw new PyException("ValueError", ["base is not invertible for the given modulus"]);
  }
  return state.su;
}

/**
 * One Euclid step by a long division, charged `price`; a quotient of more
 * than a word (the first after Lehmer's steps may be one) costs as an
 * exact step and its other words besides.
 */
function exactStep(state: Euclid, price: number, prices: StepPrices, meter: Meter): void {
  meter.charge(price);
  const q = state.u / state.v;
  const qWords = words(q);
  if (qWords > 1) meter.charge(prices.exact + (qWords - 1) * prices.perQuotientWord);
  const r = state.u - q * state.v;
  state.u = state.v;
  state.v = r;
  const s = state.su - q * state.sv;
  state.su = state.sv;
  state.sv = s;
}

/** The remainders and coefficients after the Euclid steps `cofactors` stand for. */
function applyCofactors(state: Euclid, cofactors: Cofactors): void {
  const [a, b, c, d] = [
    BigInt(cofactors.a),
    BigInt(cofactors.b),
    BigInt(cofactors.c),
    BigInt(cofactors.d),
  ];
  const { u, v, su, sv } = state;
  state.u = a * u + b * v;
  state.v = c * u + d * v;
  state.su = a * su + b * sv;
  state.sv = c * su + d * sv;
}

/**
 * Knuth's Algorithm L, steps L2 and L3: the Euclid steps that the leading
 * bits `x >= y` of two remainders determine (each quotient the same for the
 * largest and the smallest values those bits may stand for), as the
 * cofactors of the remainders they lead to; undefined when not even the
 * first is determined.
 */
function leadingCofactors(xTop: number, yTop: number): Cofactors | undefined {
  let [x, y] = [xTop, yTop];
  let [a, b, c, d] = [1, 0, 0, 1];
  while (y + c !== 0 && y + d !== 0) {
    const q = Math.floor((x + a) / (y + c));
    if (q !== Math.floor((x + b) / (y + d))) break;
    [a, c] = [c, a - q * c];
    [b, d] = [d, b - q * d];
    [x, y] = [y, x - q * y];
  }
  return b === 0 ? undefined : { a, b, c, d };
}
