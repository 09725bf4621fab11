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

/** One kind of work: trees made of it, and whether their steps are asked for. */
export interface CalibrationCase {
  /** What the trees spend their work on. */
  readonly name: string;
  /** The tree of `copies` copies of the work (1 to `maxCopies`; sub-trees shared). */
  readonly tree: (copies: number) => Expr;
  /** The most copies the default node limit allows (1: the tree is fixed). */
  readonly maxCopies: number;
  /** Ask for the steps (then rendering them is the work). */
  readonly steps: boolean;
}

/** A measured kind of work. */
export interface CalibrationRow {
  /** The case's name. */
  readonly name: string;
  /**
   * The copies timed: the most the work limit allows, so that the units are
   * those of work done (a refused tree is charged for work refused before
   * it is done, a whole `pow` at a time).
   */
  readonly copies: number;
  /** The units the meter charged (the limit itself when it refused the tree). */
  readonly units: number;
  /**
   * The least CPU time of the runs, in milliseconds (the garbage collector's
   * threads included, so it may exceed the wall-clock time).
   */
  readonly ms: number;
  /** The least wall-clock time of the runs, in milliseconds. */
  readonly wallMs: number;
  /**
   * Milliseconds per million units, by the lesser of the two times (on a
   * busy machine the wall clock counts waits for a core, the CPU time the
   * collector's helper threads): about 1 when the meter's prices are right.
   */
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

/** A case of up to as many copies of `node` (of `size` nodes) as the node limit allows, in a chain. */
function chained(name: string, node: Expr, size: number): CalibrationCase {
  const maxCopies = Math.floor((NODES + 1) / (size + 1));
  return { name, tree: (copies) => chain(node, copies), maxCopies, steps: false };
}

/** A case of one fixed tree. */
function fixed(name: string, expr: Expr, steps: boolean): CalibrationCase {
  return { name, tree: () => expr, maxCopies: 1, steps };
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
    ...intCases.map(([name, node, size]) => chained(name, node, size)),
    {
      name: "unary minus, 4300 digits",
      tree: (copies) => minuses(big, copies),
      maxCopies: NODES - 1,
      steps: false,
    },
    chained("float add", constant(1.5), 1),
    chained("float sin", call("sin", [constant(1.5)]), 2),
    chained("float power", op(constant(1.5), "**", constant(0.7)), 3),
    fixed("steps, doubling PI", doubling(named("PI"), 10), true),
    fixed("steps, doubling 1", doubling(constant(1n), 12), true),
    fixed("steps, 4300-digit constants", chain(big, 200), true),
    fixed("steps, left chain of 1s", chain(constant(1n), 2000), true),
  ];
}

/** A tree to evaluate, with or without its steps. */
interface Run {
  readonly expr: Expr;
  readonly steps: boolean;
}

/** How one evaluation under `maxWork` ends: "ok" or the error's message. */
function outcomeOf(run: Run, maxWork: number): string {
  try {
    evaluate(run.expr, { showSteps: run.steps, limits: { maxWork } });
    return "ok";
  } catch (error: unknown) {
    if (!(error instanceof PyException)) throw error;
    return String(error.args.at(-1));
  }
}

/** The units a tree costs: the smallest limit that does not refuse it for its work. */
function unitsOf(run: Run): number {
  const limit = DEFAULT_EVAL_LIMITS.maxWork;
  if (outcomeOf(run, limit) === TOO_EXPENSIVE) return limit;
  let low = 0;
  let high = limit;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (outcomeOf(run, middle) === TOO_EXPENSIVE) low = middle;
    else high = middle;
  }
  return high;
}

/** The most copies of a case the default work limit allows (1 when even one is refused). */
function affordableCopies(testCase: CalibrationCase): number {
  const refused = (copies: number): boolean =>
    outcomeOf(
      { expr: testCase.tree(copies), steps: testCase.steps },
      DEFAULT_EVAL_LIMITS.maxWork,
    ) ===
      TOO_EXPENSIVE;
  if (!refused(testCase.maxCopies)) return testCase.maxCopies;
  let low = 1;
  let high = testCase.maxCopies;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (refused(middle)) high = middle;
    else low = middle;
  }
  return low;
}

/** The fastest CPU and wall-clock times of `runs` evaluations of `run`, and how it ended. */
function timeCase(run: Run, runs: number): { ms: number; wallMs: number; outcome: string } {
  let ms = Infinity;
  let wallMs = Infinity;
  let outcome = "";
  // Run with --v8-flags=--expose-gc: each run starts from a clean heap,
  // so that it pays for its own garbage, not for the cases before it.
  const collect = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < runs; i++) {
    collect?.();
    const start = performance.now();
    const cpu = cpuUsage();
    outcome = outcomeOf(run, DEFAULT_EVAL_LIMITS.maxWork);
    const used = cpuUsage(cpu);
    wallMs = Math.min(wallMs, performance.now() - start);
    ms = Math.min(ms, (used.user + used.system) / MICROSECONDS_PER_MS);
  }
  return { ms, wallMs, outcome };
}

/**
 * Sizes every case to the most copies the work limit allows, prices it
 * (its units, found by bisecting the limit, which also warms the code up),
 * then times them all in `rounds` rounds of `runs` runs each, interleaved so
 * that a busy moment of the machine spoils one round of every case, not all
 * of one: the fastest time counts.
 */
export function calibrate(
  cases: readonly CalibrationCase[],
  rounds: number,
  runs: number,
): CalibrationRow[] {
  const copies = cases.map(affordableCopies);
  const sized = cases.map((testCase, i) => ({
    expr: testCase.tree(copies[i] as number),
    steps: testCase.steps,
  }));
  const units = sized.map(unitsOf);
  const best = cases.map(() => ({ ms: Infinity, wallMs: Infinity, outcome: "" }));
  for (let round = 0; round < rounds; round++) {
    sized.forEach((run, i) => {
      const timed = timeCase(run, runs);
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
      copies: copies[i] as number,
      units: caseUnits,
      ms,
      wallMs,
      msPerMillionUnits: Math.min(wallMs, ms) / (caseUnits / UNITS_PER_MILLION),
      outcome,
    };
  });
}

/** The rows as a Markdown table. */
export function calibrationTable(rows: readonly CalibrationRow[]): string {
  const lines = [
    "| work | copies | units | wall ms | CPU ms | ms per 1M units | outcome |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const row of rows) {
    const outcome = row.outcome === TOO_EXPENSIVE ? "refused: too expensive" : row.outcome;
    lines.push(
      `| ${row.name} | ${row.copies} | ${Math.round(row.units)} | ${row.wallMs.toFixed(1)} | ${
        row.ms.toFixed(1)
      } | ${row.msPerMillionUnits.toFixed(2)} | ${outcome} |`,
    );
  }
  return lines.join("\n");
}
