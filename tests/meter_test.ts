/**
 * The work meter's parts: word counts and bit lengths found by comparisons,
 * the prices of the big-int loops, and Lehmer's modular inverse.
 */

import assert from "node:assert/strict";
import { bitLength, Meter, PRICES, words } from "../src/calc/meter.ts";
import { powMod } from "../src/calc/arith.ts";
import { PyException } from "../src/calc/py_exception.ts";
import { Rng } from "./helpers/calc_oracle.ts";

const SEED = 20250610;
/** A limit no test reaches, so that a meter only counts. */
const UNLIMITED = 1e15;

function counter(): Meter {
  return new Meter({ maxIntDigits: 100_000, maxWork: UNLIMITED });
}

/** The units a meter made by {@linkcode counter} has spent. */
function spent(meter: Meter): number {
  return UNLIMITED - meter.room;
}

/** A random int of `bits` bits exactly (its top bit set), negative half the time. */
function randomInt(rng: Rng, bits: number): bigint {
  let x = 1n;
  let left = bits - 1;
  for (; left >= 32; left -= 32) x = (x << 32n) | BigInt(rng.uint32());
  x = (x << BigInt(left)) | BigInt(rng.int(2 ** left));
  return rng.int(2) === 0 ? x : -x;
}

/** The bit length as the binary digits count it. */
function digitsBitLength(x: bigint): number {
  return x === 0n ? 0 : (x < 0n ? -x : x).toString(2).length;
}

/** The inverse of `a` modulo `m` by plain extended Euclid, or undefined. */
function plainInverse(a: bigint, m: bigint): bigint | undefined {
  let [r0, r1, s0, s1] = [((a % m) + m) % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return r0 === 1n ? ((s0 % m) + m) % m : undefined;
}

Deno.test("bitLength() counts the binary digits: edges, 64-bit words, and random ints to 70,000 bits", () => {
  const edges = [0n, 1n, 2n, 3n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n, 1n << 64n];
  for (const bits of [63, 64, 65, 127, 128, 129, 1024, 65_536, 65_537, 70_000]) {
    const power = 1n << BigInt(bits);
    edges.push(power - 1n, power, power + 1n, -power, -(power - 1n));
  }
  for (const x of edges) assert.equal(bitLength(x), digitsBitLength(x), `${x}`);
  const rng = new Rng(SEED);
  for (let i = 0; i < 2000; i++) {
    const x = randomInt(rng, 1 + rng.int(i < 1900 ? 16_000 : 70_000));
    assert.equal(bitLength(x), digitsBitLength(x));
  }
});

Deno.test("words() is exact to 16 words and at most 1/8 over beyond, never under", () => {
  const rng = new Rng(SEED + 1);
  for (let i = 0; i < 3000; i++) {
    const x = randomInt(rng, 1 + rng.int(i < 2900 ? 20_000 : 80_000));
    const exact = Math.max(1, Math.ceil(digitsBitLength(x) / 64));
    const counted = words(x);
    if (exact <= 16) assert.equal(counted, exact, `${exact} words`);
    assert.ok(counted >= exact && counted <= Math.ceil(exact * 1.125), `${counted} for ${exact}`);
  }
  assert.equal(words(0n), 1);
  assert.equal(words(-(1n << 64n)), 2);
});

Deno.test("powMod() charges every squaring and product of its loop", () => {
  // The review's: a 14,284-bit exponent modulo a 64-bit prime, 28.6K units before.
  const exponent = 10n ** 4299n - 1n;
  const ones = [...exponent.toString(2)].filter((bit) => bit === "1").length;
  const meter = counter();
  powMod(3n, exponent, (1n << 64n) - 59n, meter);
  // Each squaring and each product is two big-int operations (a product, a remainder).
  const operations = 2 * (bitLength(exponent) + ones);
  assert.ok(spent(meter) >= operations * PRICES.operation, `${spent(meter)} units`);
  const short = new Meter({ maxIntDigits: 4300, maxWork: spent(meter) - 1 });
  assert.throws(() => powMod(3n, exponent, (1n << 64n) - 59n, short), PyException);
});

Deno.test("pow(a, -1, m) by Lehmer's steps agrees with plain extended Euclid (3,000 random and edge cases)", () => {
  const rng = new Rng(SEED + 2);
  const cases: [bigint, bigint][] = [[2n, 5n], [2n, 4n], [-3n, 7n], [0n, 9n]];
  for (let i = 0; i < 3000; i++) {
    const m = randomInt(rng, 2 + rng.int(3000));
    cases.push([randomInt(rng, 1 + rng.int(3200)), m < 0n ? -m : m]);
  }
  const fibonacci = [1n, 1n];
  while (fibonacci.length < 5000) {
    fibonacci.push((fibonacci.at(-1) ?? 0n) + (fibonacci.at(-2) ?? 0n));
  }
  for (let k = 95; k < 5000; k += 487) {
    const [low, high] = [fibonacci[k - 1] ?? 0n, fibonacci[k] ?? 0n];
    cases.push([low, high], [high, low], [-low, high]);
  }
  for (const bits of [64n, 65n, 128n, 1000n, 4096n]) {
    const power = 1n << bits;
    cases.push([power - 1n, power], [power + 1n, power * power - 1n], [3n, power + 1n]);
  }
  for (const [a, m] of cases) {
    let inverse: bigint | undefined;
    try {
      const r = powMod(a, -1n, m, counter());
      inverse = r;
    } catch (error: unknown) {
      if (!(error instanceof PyException) || error.type !== "ValueError") throw error;
    }
    assert.equal(inverse, m === 1n ? 0n : plainInverse(a, m), `pow(${a}, -1, ${m})`);
  }
});

Deno.test("pow(a, -1, m) is charged as its steps come, not for the worst case up front", () => {
  const modulus = 10n ** 4299n - 1n - 2n ** 4000n;
  const quick = counter();
  powMod(2n, -1n, modulus, quick); // two steps: one big quotient, then 1
  const many = counter();
  powMod(3n ** 9000n, -1n, modulus, many); // some 8,000 Euclid steps, 400 of Lehmer's
  // Both pay for the power by 1 that follows (two squarings' worth at this size).
  assert.ok(spent(quick) * 3 < spent(many), `${spent(quick)} vs ${spent(many)}`);
  // Each of Lehmer's steps is a dozen big-int operations at least.
  assert.ok(spent(many) > 400 * 12 * PRICES.operation, `${spent(many)} units`);
});

Deno.test("Meter.keep() charges the words of a kept int, nothing for a float or a bool", () => {
  const meter = counter();
  meter.keep(1.5);
  meter.keep(true);
  assert.equal(spent(meter), 0);
  meter.keep(1n << 640n);
  assert.equal(spent(meter), PRICES.kept * 11);
});
