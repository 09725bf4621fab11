/**
 * Seeded random expressions whose answers calcnet's own evaluator computes.
 *
 * Only operations whose result is the same bit for bit in CPython and in
 * calcnet are drawn: `+ - * / % **`, unary `-`/`+`, `sqrt`, `max`, `min`,
 * `pow` on small ints and short decimals. Every
 * sub-expression is kept within ±1e12 (and away from 0 by more than 1e-9
 * unless 0), so no huge int, infinity, NaN or error arises; `sin`, `cos`,
 * `tan` and `log` are left out because glibc and V8 may differ in the last
 * digit (docs/PROTOCOL.md §4), which would blame a correct server; named constants
 * too, because which of them a step shows by name depends on a quirk only
 * the course examples pin down (they are checked there).
 *
 * @module
 */

import {
  binary,
  type BinarySymbol,
  call,
  constant,
  evaluate,
  type Expr,
  formatNumber,
  PyException,
  type PyNumber,
  unary,
} from "../calc/mod.ts";
import { SeededRandom } from "./seeded_random.ts";

/** A random request and the answer calcnet computes for it. */
export interface RandomExpression {
  /** The tree. */
  readonly expr: Expr;
  /** How it reads (its first step, or the constant). */
  readonly text: string;
  /** Whether the request asks for the steps. */
  readonly showSteps: boolean;
  /** Python's `repr()` of the result. */
  readonly repr: string;
  /** The expected steps (empty when not asked for). */
  readonly expectedSteps: readonly string[];
}

const LIMIT = 1e12;
const TINY = 1e-9;
const DECIMALS = [0.5, 0.25, 1.5, 2.5, 0.1, 0.2, 3.75, -1.5, -0.5, 10.125] as const;
const OPERATORS: readonly BinarySymbol[] = ["+", "-", "*", "/", "%", "**"];
const EXPONENTS: readonly Expr[] = [
  constant(0n),
  constant(1n),
  constant(2n),
  constant(3n),
  constant(-1n),
  constant(-2n),
  constant(0.5),
];
const ATTEMPTS = 20;

/**
 * `count` random expressions from `seed`: the same seed gives the same
 * expressions, flags and answers on every run.
 */
export function randomExpressions(seed: number, count: number): RandomExpression[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => {
    const expr = node(random, random.integer(2, 4));
    const steps = random.chance(0.5);
    const shown = evaluate(expr, { showSteps: true });
    return {
      expr,
      text: shown.steps[0] ?? formatNumber(shown.result),
      showSteps: steps,
      repr: formatNumber(shown.result),
      expectedSteps: steps ? shown.steps : [],
    };
  });
}

/** A random tree of at most `depth` levels whose every sub-tree is tame. */
function node(random: SeededRandom, depth: number): Expr {
  if (depth <= 1) return leaf(random);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const candidate = composite(random, depth);
    if (tame(candidate)) return candidate;
  }
  return leaf(random);
}

function composite(random: SeededRandom, depth: number): Expr {
  const roll = random.next();
  if (roll < 0.6) {
    const operator = random.pick(OPERATORS);
    const left = node(random, depth - 1);
    // A small exponent keeps powers tame; any exponent may be drawn again.
    const right = operator === "**" ? random.pick(EXPONENTS) : node(random, depth - 1);
    return binary(left, operator, right);
  }
  if (roll < 0.7) return unary(random.chance(0.7) ? "-" : "+", node(random, depth - 1));
  if (roll < 0.78) return call("sqrt", [node(random, depth - 1)]);
  if (roll < 0.93) {
    const args = Array.from({ length: random.integer(2, 4) }, () => node(random, depth - 1));
    return call(random.chance(0.5) ? "max" : "min", args);
  }
  if (roll < 0.97) return call("pow", [node(random, depth - 1), random.pick(EXPONENTS)]);
  // pow(a, b, m) takes ints only.
  return call("pow", [
    constant(BigInt(random.integer(-50, 50))),
    constant(BigInt(random.integer(0, 30))),
    constant(BigInt(random.pick([2, 5, 9, 13, 97]))),
  ]);
}

function leaf(random: SeededRandom): Expr {
  return random.next() < 0.75
    ? constant(BigInt(random.integer(-20, 20)))
    : constant(random.pick(DECIMALS));
}

/** Whether `expr` evaluates without error to a value of moderate size. */
function tame(expr: Expr): boolean {
  let value: PyNumber;
  try {
    value = evaluate(expr, { showSteps: false }).result;
  } catch (error: unknown) {
    if (error instanceof PyException) return false;
    throw error;
  }
  if (typeof value === "boolean") return true;
  const magnitude = typeof value === "bigint" ? Math.abs(Number(value)) : Math.abs(value);
  return Number.isFinite(magnitude) && magnitude <= LIMIT && (magnitude === 0 || magnitude >= TINY);
}
