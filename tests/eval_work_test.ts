/**
 * The evaluation's work meter against the hostile review's packets (F1): a
 * big-int loop costs what its operations cost, so that every request ends,
 * answered or refused, within a bound; and the legitimate heavy requests are
 * still answered. Only public entry points, so that the old code runs these
 * tests too (and fails them).
 */

import assert from "node:assert/strict";
import { binary, call, constant, evaluate, type Expr, PyException } from "../src/calc/mod.ts";
import { encodeException, encodeExpr } from "../src/pickle/mod.ts";
import { requestPacket } from "../src/protocol/mod.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../src/server/handler.ts";
import { calibrationCases } from "../src/bench/meter_calibration.ts";

/**
 * The bound on one request's evaluation (about 20 ms of work by design),
 * generous enough for a loaded 2-core machine.
 */
const BOUND_MS = 100;
/** Timed runs of each request (the fastest counts: the others waited for a core). */
const RUNS = 5;

/** The fastest of {@linkcode RUNS} runs of `run`, in ms, after one to warm up. */
function fastest(run: () => unknown): number {
  run();
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** A request packet for `expr` without steps. */
function packetOf(expr: Expr): Uint8Array {
  return requestPacket(encodeExpr(expr), {
    showSteps: false,
    cacheResult: true,
    cacheControl: 65535,
  });
}

/** The refusal the server answers for too much work. */
const TOO_EXPENSIVE = encodeException(
  new PyException("OverflowError", ["expression too expensive to evaluate (calcnet limit)"]),
);

/** `(a ** e) % m` by plain square and multiply, unmetered. */
function modPow(a: bigint, e: bigint, m: bigint): bigint {
  let result = 1n;
  for (const bit of e.toString(2)) {
    result = (result * result) % m;
    if (bit === "1") result = (result * a) % m;
  }
  return result;
}

/** The two largest consecutive Fibonacci numbers of at most 4299 digits: Euclid's worst case. */
function fibonacciPair(): [bigint, bigint] {
  let [a, b] = [1n, 2n];
  while (b + a < 10n ** 4299n) [a, b] = [b, a + b];
  return [a, b];
}

/** The review's pow700.bin: 700 uses (shared sub-trees) of pow(3, 10**4299 - 1, 2**64 - 59). */
function pow700(): { expr: Expr; packet: Uint8Array } {
  const pow = call("pow", [constant(3n), constant(10n ** 4299n - 1n), constant((1n << 64n) - 59n)]);
  const doubled: Expr[] = [pow];
  for (let k = 1; k <= 9; k++) {
    doubled.push(binary(doubled[k - 1] as Expr, "+", doubled[k - 1] as Expr));
  }
  let expr = doubled[9] as Expr;
  for (const k of [7, 5, 4, 3, 2]) expr = binary(expr, "+", doubled[k] as Expr);
  return { expr, packet: packetOf(expr) };
}

Deno.test("answerRequest() refuses the review's 700 shared pow(3, 10**4299 - 1, 2**64 - 59) in < 100 ms", () => {
  const { packet } = pow700();
  assert.equal(packet.length, 2436, "the review's 2,436-byte request");
  let answer = answerRequest(packet, DEFAULT_SERVER_POLICY, 1);
  const ms = fastest(() => answer = answerRequest(packet, DEFAULT_SERVER_POLICY, 1));
  assert.equal(answer.statusCode, 400);
  assert.deepEqual(answer.packet.subarray(12), TOO_EXPENSIVE);
  assert.ok(ms < BOUND_MS, `${ms.toFixed(1)} ms`);
});

Deno.test("answerRequest() answers the review's 5 inverses of consecutive 4,299-digit Fibonacci numbers in < 100 ms", () => {
  const [low, high] = fibonacciPair();
  const inverse = call("pow", [constant(low), constant(-1n), constant(high)]);
  let expr: Expr = inverse;
  for (let k = 2; k <= 5; k++) expr = binary(expr, "+", inverse);
  const packet = packetOf(expr);
  assert.equal(packet.length, 4019, "the review's fibinv5.bin");
  const ms = fastest(() => answerRequest(packet, DEFAULT_SERVER_POLICY, 1));
  assert.ok(ms < BOUND_MS, `${ms.toFixed(1)} ms`);
  const one = evaluate(inverse, { showSteps: false }).result;
  assert.ok(typeof one === "bigint" && one > 0n && one < high);
  assert.equal((one * low) % high, 1n, "it is the inverse");
  assert.equal(evaluate(expr, { showSteps: false }).result, 5n * one);
});

Deno.test("evaluate() ends every kind of work the meter prices within 100 ms, at the most the limits allow", async (t) => {
  for (const testCase of calibrationCases()) {
    await t.step(testCase.name, () => {
      const ms = fastest(() => {
        try {
          evaluate(testCase.tree(testCase.maxCopies), { showSteps: testCase.steps });
        } catch (error: unknown) {
          if (!(error instanceof PyException)) throw error;
        }
      });
      assert.ok(ms < BOUND_MS, `${ms.toFixed(1)} ms`);
    });
  }
});

Deno.test("evaluate() still answers one heavy three-argument pow of each kind, exactly", async (t) => {
  const [low, high] = fibonacciPair();
  const nines = 10n ** 4299n - 1n;
  const prime = (1n << 64n) - 59n;
  await t.step("pow(3, 10**4299 - 1, 2**64 - 59): one is fine, 700 are not", () => {
    assert.equal(
      evaluate(call("pow", [constant(3n), constant(nines), constant(prime)]), {
        showSteps: false,
      }).result,
      modPow(3n, nines, prime),
    );
  });
  await t.step("pow(x, 40-bit exponent, 4299-digit modulus)", () => {
    const exponent = 3n ** 25n;
    const expr = call("pow", [constant(low), constant(exponent), constant(high - 2n)]);
    assert.equal(evaluate(expr, { showSteps: false }).result, modPow(low, exponent, high - 2n));
  });
  await t.step("the inverse of a 4290-digit number modulo a 4299-digit one", () => {
    const modulus = nines - 2n ** 4000n; // odd, and prime to 3 ** 9000
    const base = 3n ** 9000n;
    const inverse = evaluate(call("pow", [constant(base), constant(-1n), constant(modulus)]), {
      showSteps: false,
    }).result;
    assert.ok(typeof inverse === "bigint" && inverse >= 0n && inverse < modulus);
    assert.equal((inverse * base) % modulus, 1n);
  });
});
