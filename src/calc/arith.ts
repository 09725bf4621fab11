/**
 * CPython 3.11's number semantics for the calculator's operators: exact
 * `int`s (bigint), IEEE `float`s (number) and `bool`s that act as ints, with
 * CPython's results, error classes and messages.
 *
 * Every function takes a {@linkcode Meter}: it charges the work that big
 * integers cost and refuses integers beyond the configured size, before
 * computing them whenever the size can be foreseen.
 *
 * @module
 */

import type { BinarySymbol, PyNumber, UnarySymbol } from "./expr.ts";
import { PyException } from "./py_exception.ts";

/** The largest magnitude a double holds exactly as an integer, as a bigint. */
const EXACT_LIMIT = 2n ** 53n;
/** Integers below this magnitude cost one unit of work. */
const WORD_LIMIT = 2n ** 64n;
const CHUNK = 1000n;
const TWO_TO_CHUNK = 1n << CHUNK;

/** What one evaluation may spend; see `EvalLimits` in evaluate.ts for the meaning. */
export interface MeterLimits {
  /** Largest number of decimal digits of an int. */
  readonly maxIntDigits: number;
  /** Largest amount of work, in units of about one 64-bit word operation. */
  readonly maxWork: number;
}

const intLimitCache = new Map<
  number,
  { readonly bound: bigint; readonly negativeBound: bigint; readonly bits: number }
>();

/**
 * Tracks the work an evaluation spends and checks integer sizes. One meter
 * serves one evaluation.
 */
export class Meter {
  /** `10 ** maxIntDigits`: the smallest magnitude with too many digits. */
  readonly #bound: bigint;
  /** `-#bound`, made once: negating a 4,300-digit int per check allocated 1.8 KB. */
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
      cached = { bound, negativeBound: -bound, bits: bitLength(bound) };
      intLimitCache.set(limits.maxIntDigits, cached);
    }
    this.#bound = cached.bound;
    this.#negativeBound = cached.negativeBound;
    this.#boundBits = cached.bits;
  }

  /** Adds `units` of work; throws once the total passes the limit. */
  charge(units: number): void {
    this.#work += units;
    if (this.#work > this.#maxWork) {
      throw new PyException("OverflowError", [
        "expression too expensive to evaluate (calcnet limit)",
      ]);
    }
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

/**
 * The number of bits of `|x|` (0 for 0), like Python's `int.bit_length()`.
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
  while (rest >= TWO_TO_CHUNK) {
    rest >>= CHUNK;
    bits += 1000;
  }
  if (rest === 0n) return bits;
  // Number(rest) is finite here; log2 may be one off near powers of two.
  let n = Math.floor(Math.log2(Number(rest))) + 1;
  if (n > 1 && rest >> BigInt(n - 1) === 0n) n--;
  else if (rest >> BigInt(n) !== 0n) n++;
  return bits + n;
}

/** The approximate number of 64-bit words of `x`, for charging work. */
function words(x: bigint): number {
  return x < WORD_LIMIT && x > -WORD_LIMIT ? 1 : Math.ceil(bitLength(x) / 64);
}

/** A bool as the int it stands for; ints and floats unchanged. */
export function num(x: bigint | boolean): bigint;
/** A bool as the int it stands for; ints and floats unchanged. */
export function num(x: PyNumber): bigint | number;
export function num(x: PyNumber): bigint | number {
  return typeof x === "boolean" ? (x ? 1n : 0n) : x;
}

/**
 * Python's `float(x)` for an int, float or bool (`PyLong_AsDouble`: correctly
 * rounded, `OverflowError('int too large to convert to float')` beyond the
 * double range).
 */
export function toFloat(x: PyNumber): number {
  if (typeof x === "number") return x;
  if (typeof x === "boolean") return x ? 1 : 0;
  // ECMAScript's Number(bigint) rounds to nearest, ties to even, like CPython.
  const f = Number(x);
  if (f === Infinity || f === -Infinity) {
    throw new PyException("OverflowError", ["int too large to convert to float"]);
  }
  return f;
}

/**
 * Python's `a <op> b` for the six binary operators of the calculator.
 *
 * @example
 * ```ts
 * binaryOp("%", 7n, -3n, meter); // -2n
 * binaryOp("/", 6n, 2n, meter); // 3
 * binaryOp("**", 2n, -1n, meter); // 0.5
 * ```
 */
export function binaryOp(
  op: BinarySymbol,
  a: PyNumber,
  b: PyNumber,
  meter: Meter,
): bigint | number {
  const x = num(a);
  const y = num(b);
  switch (op) {
    case "+":
      if (typeof x === "bigint" && typeof y === "bigint") {
        chargeLinear(meter, x, y);
        return meter.int(x + y);
      }
      return toFloat(x) + toFloat(y);
    case "-":
      if (typeof x === "bigint" && typeof y === "bigint") {
        chargeLinear(meter, x, y);
        return meter.int(x - y);
      }
      return toFloat(x) - toFloat(y);
    case "*":
      if (typeof x === "bigint" && typeof y === "bigint") {
        meter.charge(words(x) * words(y));
        return meter.int(x * y);
      }
      return toFloat(x) * toFloat(y);
    case "/":
      return trueDivide(x, y, meter);
    case "%":
      return remainder(x, y, meter);
    case "**":
      return power(x, y, meter);
  }
}

function chargeLinear(meter: Meter, x: bigint, y: bigint): void {
  meter.charge(Math.max(words(x), words(y)));
}

/** Python's unary `-x` and `+x` (a bool becomes an int). */
export function unaryOp(op: UnarySymbol, a: PyNumber): bigint | number {
  const x = num(a);
  return op === "-" ? -x : x;
}

function trueDivide(x: bigint | number, y: bigint | number, meter: Meter): number {
  if (typeof x === "bigint" && typeof y === "bigint") return intTrueDivide(x, y, meter);
  const divisor = toFloat(y);
  const dividend = toFloat(x);
  if (divisor === 0) throw new PyException("ZeroDivisionError", ["float division by zero"]);
  return dividend / divisor;
}

/**
 * `a / b` for two ints, correctly rounded as CPython's `long_true_divide`
 * does it (so it also works where neither int converts to a float).
 */
function intTrueDivide(a: bigint, b: bigint, meter: Meter): number {
  if (b === 0n) throw new PyException("ZeroDivisionError", ["division by zero"]);
  if (a <= EXACT_LIMIT && a >= -EXACT_LIMIT && b <= EXACT_LIMIT && b >= -EXACT_LIMIT) {
    // Both are exact doubles and IEEE division rounds correctly.
    return Number(a) / Number(b);
  }
  meter.charge(words(a) * words(b));
  const negative = (a < 0n) !== (b < 0n);
  const n = a < 0n ? -a : a;
  const d = b < 0n ? -b : b;
  const magnitude = n === 0n ? 0 : positiveRatio(n, d);
  return negative ? -magnitude : magnitude;
}

const DBL_MANT_DIG = 53;
const DBL_MIN_EXP = -1021;
const DBL_MAX_EXP = 1024;

/** `n / d` for positive bigints, correctly rounded (half to even). */
function positiveRatio(n: bigint, d: bigint): number {
  const diff = bitLength(n) - bitLength(d);
  // 2 ** (diff - 1) <= n / d < 2 ** (diff + 1)
  if (diff > DBL_MAX_EXP) throw divisionOverflow();
  if (diff < DBL_MIN_EXP - DBL_MANT_DIG - 1) return 0;
  // Compute q = floor(n / d / 2 ** shift) with two or three bits beyond the
  // precision the result has (53 bits, fewer for subnormals).
  const shift = Math.max(diff, DBL_MIN_EXP) - DBL_MANT_DIG - 2;
  const num = shift < 0 ? n << BigInt(-shift) : n;
  const den = shift > 0 ? d << BigInt(shift) : d;
  let q = num / den;
  const inexact = q * den !== num;
  const qBits = bitLength(q);
  const extra = Math.max(qBits, DBL_MIN_EXP - shift) - DBL_MANT_DIG;
  q = roundLowBits(q, extra, inexact);
  const mantissa = Number(q); // exact: at most 54 significant bits, the last a carry
  if (
    shift + qBits >= DBL_MAX_EXP && (shift + qBits > DBL_MAX_EXP || mantissa === 2 ** qBits)
  ) {
    throw divisionOverflow();
  }
  return ldexp(mantissa, shift);
}

function divisionOverflow(): PyException {
  return new PyException("OverflowError", ["integer division result too large for a float"]);
}

/**
 * Rounds `q` to a multiple of `2 ** extra`, half to even, where `sticky`
 * says that nonzero bits were already dropped below `q` (CPython's rounding
 * step in `long_true_divide`).
 */
function roundLowBits(q: bigint, extra: number, sticky: boolean): bigint {
  const half = 1n << BigInt(extra - 1);
  const unit = half << 1n;
  const dropped = q & (unit - 1n);
  const kept = q - dropped;
  // Up when above half, or at exactly half with an odd kept part.
  const up = (dropped & half) !== 0n &&
    ((dropped & (half - 1n)) !== 0n || sticky || (q & unit) !== 0n);
  return up ? kept + unit : kept;
}

/** `x * 2 ** e` for an `x` that is exact at the result's precision. */
function ldexp(x: number, e: number): number {
  // Split the scaling so every factor is a normal power of two: each product
  // is exact because the final value is representable.
  if (e < -1000) return x * pow2(-1000) * pow2(e + 1000);
  if (e > 1000) return x * pow2(1000) * pow2(e - 1000);
  return x * pow2(e);
}

const POW2_VIEW = new DataView(new ArrayBuffer(8));

/** The double `2 ** e` for -1022 <= e <= 1023, built from its bits. */
function pow2(e: number): number {
  POW2_VIEW.setUint32(0, (e + 1023) << 20);
  POW2_VIEW.setUint32(4, 0);
  return POW2_VIEW.getFloat64(0);
}

function remainder(x: bigint | number, y: bigint | number, meter: Meter): bigint | number {
  if (typeof x === "bigint" && typeof y === "bigint") {
    if (y === 0n) throw new PyException("ZeroDivisionError", ["integer modulo by zero"]);
    meter.charge(words(x) * words(y));
    return floorMod(x, y);
  }
  const vx = toFloat(x);
  const wx = toFloat(y);
  if (wx === 0) throw new PyException("ZeroDivisionError", ["float modulo"]);
  // CPython's float_rem: fmod (JS % is exactly fmod), then the divisor's sign.
  const mod = vx % wx;
  if (mod !== 0) return (wx < 0) !== (mod < 0) ? mod + wx : mod;
  return wx < 0 ? -0 : 0;
}

/** Python's `x % y` for ints: the result takes the divisor's sign. */
function floorMod(x: bigint, y: bigint): bigint {
  const r = x % y;
  return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r;
}

function power(x: bigint | number, y: bigint | number, meter: Meter): bigint | number {
  if (typeof x === "bigint" && typeof y === "bigint" && y >= 0n) return intPower(x, y, meter);
  return floatPower(toFloat(x), toFloat(y));
}

/** `base ** exp` for ints with `exp >= 0`, refused before computing when too large. */
function intPower(base: bigint, exp: bigint, meter: Meter): bigint {
  if (exp === 0n || base === 1n) return 1n;
  if (base === 0n) return 0n;
  if (base === -1n) return (exp & 1n) === 0n ? 1n : -1n;
  const baseBits = bitLength(base);
  // |base| >= 2, so the result has at least (baseBits - 1) * exp + 1 bits.
  const lowBits = exp > 1_000_000_000n ? Infinity : (baseBits - 1) * Number(exp) + 1;
  meter.intBits(lowBits);
  const resultWords = Math.ceil((baseBits * Number(exp)) / 64);
  meter.charge(resultWords * resultWords);
  return meter.int(base ** exp);
}

/**
 * CPython's `float_pow`: the special cases it sorts out itself, then the C
 * library's `pow`.
 *
 * Deliberate difference: a negative base raised to a non-integral power is
 * a complex number in Python 3; calcnet has no complex numbers and raises
 * `ValueError('negative number cannot be raised to a fractional power')`
 * (Python 2's words for it) instead, unless the complex number's modulus
 * overflows, which Python reports as `OverflowError('complex exponentiation')`.
 */
function floatPower(iv: number, iw: number): number {
  if (iw === 0) return 1;
  if (Number.isNaN(iv)) return iv;
  if (Number.isNaN(iw)) return iv === 1 ? 1 : iw;
  if (iw === Infinity || iw === -Infinity) {
    const av = Math.abs(iv);
    if (av === 1) return 1;
    return (iw > 0) === (av > 1) ? Infinity : 0;
  }
  const odd = isOddInteger(iw);
  if (iv === Infinity || iv === -Infinity) {
    if (iw > 0) return odd ? iv : Infinity;
    return odd ? (iv < 0 ? -0 : 0) : 0;
  }
  if (iv === 0) {
    if (iw < 0) {
      throw new PyException("ZeroDivisionError", ["0.0 cannot be raised to a negative power"]);
    }
    return odd ? iv : 0;
  }
  let base = iv;
  let negate = false;
  if (base < 0) {
    if (iw !== Math.floor(iw)) {
      // Python hands this to complex power, whose modulus |base| ** iw
      // overflowing is an OverflowError there too.
      if ((-base) ** iw === Infinity) {
        throw new PyException("OverflowError", ["complex exponentiation"]);
      }
      throw new PyException("ValueError", [
        "negative number cannot be raised to a fractional power",
      ]);
    }
    base = -base;
    negate = odd;
  }
  if (base === 1) return negate ? -1 : 1;
  const result = base ** iw;
  if (result === Infinity) {
    throw new PyException("OverflowError", [34n, "Numerical result out of range"]);
  }
  return negate ? -result : result;
}

function isOddInteger(x: number): boolean {
  return Math.abs(x) % 2 === 1;
}

/**
 * Python's three-argument `pow(base, exp, mod)` for ints: the result takes
 * the modulus's sign; a negative exponent uses the modular inverse.
 *
 * @example
 * ```ts
 * powMod(2n, -1n, 5n, meter); // 3n
 * powMod(2n, 3n, -5n, meter); // -2n
 * ```
 */
export function powMod(base: bigint, exp: bigint, mod: bigint, meter: Meter): bigint {
  if (mod === 0n) throw new PyException("ValueError", ["pow() 3rd argument cannot be 0"]);
  const negativeOutput = mod < 0n;
  const m = negativeOutput ? -mod : mod;
  if (m === 1n) return 0n;
  const mWords = words(m);
  let b = base;
  let e = exp;
  if (e < 0n) {
    e = -e;
    meter.charge(bitLength(m) * mWords + words(b) * mWords);
    b = modularInverse(b, m);
  }
  // Square-and-multiply costs two word-quadratic steps per exponent bit.
  const eBits = bitLength(e);
  meter.charge(words(b) * mWords + 2 * eBits * mWords * mWords);
  b = floorMod(b, m);
  let result = 1n;
  for (const bit of e.toString(2)) {
    result = (result * result) % m;
    if (bit === "1") result = (result * b) % m;
  }
  return negativeOutput && result !== 0n ? result - m : result;
}

/** The inverse of `a` modulo `m > 1` (extended Euclid), as CPython's `long_invmod`. */
function modularInverse(a: bigint, m: bigint): bigint {
  let r0 = floorMod(a, m);
  let r1 = m;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) {
    throw new PyException("ValueError", ["base is not invertible for the given modulus"]);
  }
  return s0;
}

/**
 * Python's `a > b` between ints, floats and bools: exact, also between an
 * int and a float (no rounding of the int), and false whenever a NaN is
 * involved.
 */
export function greaterThan(a: PyNumber, b: PyNumber): boolean {
  return compare(num(a), num(b)) > 0;
}

/** Python's `a < b`; see {@linkcode greaterThan}. */
export function lessThan(a: PyNumber, b: PyNumber): boolean {
  return compare(num(a), num(b)) < 0;
}

/** -1, 0 or 1 as `x` is below, equal to or above `y`; NaN when unordered. */
function compare(x: bigint | number, y: bigint | number): number {
  if (typeof x === "bigint" && typeof y === "bigint") return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === "number" && typeof y === "number") {
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (typeof x === "bigint") return compareIntFloat(x, y as number);
  return -compareIntFloat(y as bigint, x);
}

function compareIntFloat(i: bigint, f: number): number {
  if (Number.isNaN(f)) return NaN;
  if (f === Infinity) return -1;
  if (f === -Infinity) return 1;
  if (i <= EXACT_LIMIT && i >= -EXACT_LIMIT) {
    const x = Number(i);
    return x < f ? -1 : x > f ? 1 : 0;
  }
  const floor = Math.floor(f);
  const fi = BigInt(floor);
  if (i < fi) return -1;
  if (i > fi) return 1;
  return floor === f ? 0 : -1;
}
