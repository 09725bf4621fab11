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

/** The cofactors of several Euclid steps found on the leading bits. */
interface Cofactors {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/**
 * The inverse of `a` modulo `m > 1`, as CPython's `long_invmod` finds it
 * (its sign may differ; the caller reduces it modulo `m`), or CPython's
 * ValueError when there is none.
 *
 * Lehmer's method: as long as the remainders are big, the leading 50 bits
 * of both tell, in doubles, the quotients of a dozen or more Euclid steps
 * at once, and one step of four products applies them all; when they tell
 * nothing (a big quotient), one exact division step is taken.
 */
export function modularInverse(a: bigint, m: bigint, meter: Meter): bigint {
  const mWords = words(m);
  meter.charge(divCost(words(a), mWords) + addCost(mWords, mWords));
  // Invariant: su * a ≡ u and sv * a ≡ v (mod m), u > v >= 0.
  let u = m;
  let v = a % m;
  if (v < 0n) v += m;
  let su = 0n;
  let sv = 1n;
  // Remainders shrink as coefficients grow: |sv| <= m / u, so the words of
  // both sides together are at most m's and two. Each operation on one side
  // has its twin on the other, charged here as one operation over both
  // sides' words and a second fixed price.
  const both = mWords + 2;
  const lehmerStep = 4 * mulCost(1, both) + 2 * addCost(both, both) +
    (6 + LEHMER_OPERATIONS) * PRICES.operation;
  const exactStep = divCost(mWords, mWords) + mulCost(1, both) + addCost(both, both) +
    2 * PRICES.operation;
  const perQuotientWord = mWords * (PRICES.quotient + 2 * PRICES.product);
  while (v >= ONE_WORD) {
    const shift = BigInt(bitLength(u) - TOP_BITS);
    const cofactors = leadingCofactors(Number(u >> shift), Number(v >> shift));
    if (cofactors === undefined) {
      meter.charge(exactStep);
      const q = u / v;
      const qWords = words(q);
      if (qWords > 1) meter.charge((qWords - 1) * perQuotientWord);
      [u, v, su, sv] = [v, u - q * v, sv, su - q * sv];
    } else {
      meter.charge(lehmerStep);
      const [ca, cb, cc, cd] = [
        BigInt(cofactors.a),
        BigInt(cofactors.b),
        BigInt(cofactors.c),
        BigInt(cofactors.d),
      ];
      [u, v] = [ca * u + cb * v, cc * u + cd * v];
      [su, sv] = [ca * su + cb * sv, cc * su + cd * sv];
    }
  }
  // One-word remainders, coefficients up to m's size; the first quotient
  // may still be big (u was), and costs then as an exact step.
  const smallStep = divCost(1, 1) + mulCost(1, 1) + addCost(1, 1) +
    mulCost(1, mWords) + addCost(mWords, mWords);
  while (v !== 0n) {
    meter.charge(smallStep);
    const q = u / v;
    const qWords = words(q);
    if (qWords > 1) meter.charge(exactStep + (qWords - 1) * perQuotientWord);
    [u, v, su, sv] = [v, u - q * v, sv, su - q * sv];
  }
  if (u !== 1n) {
    throw new PyException("ValueError", ["base is not invertible for the given modulus"]);
  }
  return su;
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
