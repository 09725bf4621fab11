/**
 * The evaluation work meter's calibration: for each kind of work an
 * expression can ask for (big-int and float operations, the loops of
 * `pow(a, b, m)` and the modular inverse, steps), a tree made of as much of it
 * as the limits allow, timed, with the units the meter charged for it. The
 * meter's prices are right when every kind costs about one millisecond per
 * million units, so that the default `maxWork` (20,000,000) is about 20 ms
 * of work whatever it is spent on.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import {
  binary,
  call,
  constant,
  DEFAULT_EVAL_LIMITS,
  evaluate,
  type Expr,
  named,
  PyException,
  unary,
} from "../calc/mod.ts";

/** One kind of work: a tree made of it, and whether its steps are asked for. */
export interface CalibrationCase {
  /** What the tree spends its work on. */
  readonly name: string;
  /** The tree (sub-trees shared; within the default node limit). */
  readonly expr: Expr;
  /** Ask for the steps (then rendering them is the work). */
  readonly steps: boolean;
}

/** A measured kind of work. */
export interface CalibrationRow {
  /** The case's name. */
  readonly name: string;
  /** The units the meter charged (the limit itself when it refused the tree). */
  readonly units: number;
  /**
   * The least CPU time of the runs, in milliseconds (the garbage collector's
   * threads included, so it may exceed the wall-clock time).
   */
  readonly ms: number;
  /** The least wall-clock time of the runs, in milliseconds. */
  readonly wallMs: number;
  /** Wall-clock milliseconds per million units: about 1 when the meter's prices are right. */
  readonly msPerMillionUnits: number;
  /** How the evaluation ended: "ok", or the error's message. */
  readonly outcome: string;
}

const MICROSECONDS_PER_MS = 1000;
const UNITS_PER_MILLION = 1e6;

/** The message of a work refusal. */
const TOO_EXPENSIVE = "expression too expensive to evaluate (calcnet limit)";

/** The most nodes a calibration tree has, within the default node limit. */
const NODES = DEFAULT_EVAL_LIMITS.maxNodes - 1;

/** 4299 nines: the largest int the default limits allow. */
const NINES = 10n ** 4299n - 1n;
/** A 64-bit prime modulus (`2 ** 64 - 59`). */
const PRIME_64 = (1n << 64n) - 59n;

/** `copies` uses of `node` (shared), alternately added and subtracted in a left chain. */
function chain(node: Expr, copies: number): Expr {
  let tree = node;
  for (let i = 1; i < copies; i++) tree = binary(tree, i % 2 === 1 ? "+" : "-", node);
  return tree;
}

/** As many copies of `node` (of `size` nodes) as the node limit allows, in a chain. */
function filled(node: Expr, size: number): Expr {
  return chain(node, Math.floor((NODES + 1) / (size + 1)));
}

/** `depth` unary minuses around `node`. */
function minuses(node: Expr, depth: number): Expr {
  let tree = node;
  for (let i = 0; i < depth; i++) tree = unary("-", tree);
  return tree;
}

/** The two largest consecutive Fibonacci numbers within the int limit: Euclid's worst case. */
function fibonacciPair(): [bigint, bigint] {
  let [a, b] = [1n, 2n];
  while (b + a < 10n ** 4299n) [a, b] = [b, a + b];
  return [a, b];
}

/** A pseudo-random int of `digits` digits (a fixed linear congruential sequence). */
function pseudoRandom(digits: number, seed: number): bigint {
  let state = seed;
  let text = "9";
  for (let i = 1; i < digits; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    text += String(state % 10);
  }
  return BigInt(text);
}

/** A tree of nested `(x + x)` levels whose steps print every level: steps work. */
function doubling(leaf: Expr, levels: number): Expr {
  let tree = leaf;
  for (let i = 0; i < levels; i++) tree = unary("-", binary(tree, "+", tree));
  return tree;
}

/** The kinds of work the meter prices, each as much of it as the limits allow. */
export function calibrationCases(): CalibrationCase[] {
  const big = constant(NINES);
  const half = constant(10n ** 2149n + 7n);
  const small = constant((1n << 62n) + 3n);
  const [fibLow, fibHigh] = fibonacciPair();
  const randomModulus = pseudoRandom(4299, 7) | 1n;
  // A Fibonacci base would make the powers collapse to small numbers.
  const otherRandom = pseudoRandom(4290, 3);
  const op = (left: Expr, symbol: "+" | "*" | "/" | "%" | "**", right: Expr): Expr =>
    binary(left, symbol, right);
  const pow3 = (a: bigint, b: bigint, m: bigint): Expr =>
    call("pow", [constant(a), constant(b), constant(m)]);
  const intCases: [string, Expr, number][] = [
    ["add, 64-bit", small, 1],
    ["add, 4300 digits", big, 1],
    ["mul, 64-bit", op(small, "*", small), 3],
    ["mul, 2150 x 2150 digits", op(half, "*", half), 3],
    ["mul, 4280 digits x 64-bit", op(constant(10n ** 4280n - 1n), "*", small), 3],
    ["mod, 4300 by 2150 digits", op(big, "%", half), 3],
    ["int true division, 4300 by 4000 digits", op(big, "/", constant(10n ** 4000n + 1n)), 3],
    ["pow, 3 ** 9000", op(constant(3n), "**", constant(9000n)), 3],
    ["pow, 3 ** 40", op(constant(3n), "**", constant(40n)), 3],
    ["powMod, 64-bit modulus, 4299-digit exponent", pow3(3n, NINES, PRIME_64), 4],
    ["powMod, 4300-digit modulus, 40-bit exponent", pow3(otherRandom, 3n ** 25n, randomModulus), 4],
    ["powMod, 4300-digit modulus, 4299-digit exponent", pow3(otherRandom, NINES, randomModulus), 4],
    ["inverse, consecutive Fibonacci numbers", pow3(fibLow, -1n, fibHigh), 4],
    ["inverse, 4300-digit pseudo-random modulus", pow3(otherRandom, -1n, randomModulus), 4],
    ["inverse, 64-bit modulus", pow3(12345678901234567n, -1n, PRIME_64), 4],
    ["log of a 4300-digit int", call("log", [big]), 2],
    ["max of 4300-digit ints", call("max", [big, big]), 3],
  ];
  return [
    ...intCases.map(([name, node, size]) => ({ name, expr: filled(node, size), steps: false })),
    { name: "unary minus, 4300 digits", expr: minuses(big, NODES - 1), steps: false },
    { name: "float add", expr: filled(constant(1.5), 1), steps: false },
    { name: "float sin", expr: filled(call("sin", [constant(1.5)]), 2), steps: false },
    { name: "float power", expr: filled(op(constant(1.5), "**", constant(0.7)), 3), steps: false },
    { name: "steps, doubling PI", expr: doubling(named("PI"), 10), steps: true },
    { name: "steps, doubling 1", expr: doubling(constant(1n), 12), steps: true },
    { name: "steps, 4300-digit constants", expr: chain(big, 200), steps: true },
    { name: "steps, left chain of 1s", expr: chain(constant(1n), 2000), steps: true },
  ];
}

/** How one evaluation under `maxWork` ends: "ok" or the error's message. */
function outcomeOf(testCase: CalibrationCase, maxWork: number): string {
  try {
    evaluate(testCase.expr, { steps: testCase.steps, limits: { maxWork } });
    return "ok";
  } catch (error: unknown) {
    if (!(error instanceof PyException)) throw error;
    return String(error.args.at(-1));
  }
}

/** The units a tree costs: the smallest limit that does not refuse it for its work. */
function unitsOf(testCase: CalibrationCase): number {
  const limit = DEFAULT_EVAL_LIMITS.maxWork;
  if (outcomeOf(testCase, limit) === TOO_EXPENSIVE) return limit;
  let low = 0;
  let high = limit;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (outcomeOf(testCase, middle) === TOO_EXPENSIVE) low = middle;
    else high = middle;
  }
  return high;
}

/** The fastest CPU and wall-clock times of `runs` evaluations of `testCase`, and how it ended. */
function timeCase(
  testCase: CalibrationCase,
  runs: number,
): { ms: number; wallMs: number; outcome: string } {
  let ms = Infinity;
  let wallMs = Infinity;
  let outcome = "";
  // Run with --v8-flags=--expose-gc: each run starts from a clean heap,
  // so that it pays for its own garbage, not for the cases before it.
  const collect = (globalThis as { gc?: () => void }).gc;
  for (let run = 0; run < runs; run++) {
    collect?.();
    const start = performance.now();
    const cpu = cpuUsage();
    outcome = outcomeOf(testCase, DEFAULT_EVAL_LIMITS.maxWork);
    const used = cpuUsage(cpu);
    wallMs = Math.min(wallMs, performance.now() - start);
    ms = Math.min(ms, (used.user + used.system) / MICROSECONDS_PER_MS);
  }
  return { ms, wallMs, outcome };
}

/**
 * Prices every case (its units, found by bisecting the work limit, which
 * also warms the code up), then times them all in `rounds` rounds of `runs`
 * runs each, interleaved so that a busy moment of the machine spoils one
 * round of every case, not all of one: the fastest time counts.
 */
export function calibrate(
  cases: readonly CalibrationCase[],
  rounds: number,
  runs: number,
): CalibrationRow[] {
  const units = cases.map(unitsOf);
  const best = cases.map(() => ({ ms: Infinity, wallMs: Infinity, outcome: "" }));
  for (let round = 0; round < rounds; round++) {
    cases.forEach((testCase, i) => {
      const timed = timeCase(testCase, runs);
      const row = best[i] as { ms: number; wallMs: number; outcome: string };
      row.ms = Math.min(row.ms, timed.ms);
      row.wallMs = Math.min(row.wallMs, timed.wallMs);
      row.outcome = timed.outcome;
    });
  }
  return cases.map((testCase, i) => {
    const { ms, wallMs, outcome } = best[i] as { ms: number; wallMs: number; outcome: string };
    const caseUnits = units[i] as number;
    return {
      name: testCase.name,
      units: caseUnits,
      ms,
      wallMs,
      msPerMillionUnits: wallMs / (caseUnits / UNITS_PER_MILLION),
      outcome,
    };
  });
}

/** The rows as a Markdown table. */
export function calibrationTable(rows: readonly CalibrationRow[]): string {
  const lines = [
    "| work | units | wall ms | CPU ms | ms per 1M units | outcome |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const row of rows) {
    const outcome = row.outcome === TOO_EXPENSIVE ? "refused: too expensive" : row.outcome;
    lines.push(
      `| ${row.name} | ${Math.round(row.units)} | ${row.wallMs.toFixed(1)} | ${
        row.ms.toFixed(1)
      } | ${row.msPerMillionUnits.toFixed(2)} | ${outcome} |`,
    );
  }
  return lines.join("\n");
}
