/**
 * Evaluates an expression tree as the course's Python server does, with
 * CPython 3.11's numbers, and records the steps it shows (docs/PROTOCOL.md §4, §5).
 *
 * Deliberate differences from CPython, each answered with a `PyException`
 * (so a 400) instead of a hang, a crash or a result the client cannot read:
 *
 * - ints of more than {@linkcode EvalLimits.maxIntDigits} digits are refused,
 *   before they are computed when their size can be foreseen (`9 ** 9 ** 9`
 *   fails in microseconds instead of running for minutes);
 * - work ({@linkcode EvalLimits.maxWork}), tree size
 *   ({@linkcode EvalLimits.maxNodes}) and the total length of the steps
 *   ({@linkcode EvalLimits.maxStepsLength}) are bounded;
 * - a negative float raised to a fractional power is a `ValueError`, not a
 *   complex number;
 * - a sub-tree that occurs twice in a tree (one Python object referenced
 *   twice) is evaluated, and shown in the steps, at each occurrence.
 *
 * @module
 */

import type { Expr, PyNumber, RandomState } from "./expr.ts";
import { binaryOp, unaryOp } from "./arith.ts";
import { Meter, PRICES } from "./meter.ts";
import { callFunction } from "./functions.ts";
import { flatten, type FlatTree } from "./flat_tree.ts";
import { MersenneTwister } from "./mt19937.ts";
import { PyException } from "./py_exception.ts";
import { StepRenderer } from "./steps.ts";
import { formatNumber } from "./number_format.ts";
import { limitsResolver } from "../base/mod.ts";

/** Bounds on what one evaluation may ask for. Exceeding one raises an `OverflowError`. */
export interface EvalLimits {
  /**
   * The most decimal digits an int may have, anywhere in the evaluation
   * (constants, intermediate and final results). Default 4300, CPython's own
   * limit for converting an int to text: beyond it the Python server could
   * compute a result but never print it in a step.
   */
  readonly maxIntDigits: number;
  /**
   * The most nodes a tree may have, a shared sub-tree counted at each
   * occurrence. Default 20,000: a 64 KiB request holds a few thousand
   * distinct nodes, and a pickle that shares sub-trees (a few hundred bytes
   * can describe millions) costs at most ~10 ms of evaluation.
   */
  readonly maxNodes: number;
  /**
   * The most work, in units of about a nanosecond (meter.ts prices every
   * node, every big-int operation, loops of them included, and every
   * character of the steps). Default 20,000,000, about 20 ms whatever the
   * work is; `pow(a, b, m)` with 4300-digit numbers would take seconds and is
   * refused before it starts.
   */
  readonly maxWork: number;
  /**
   * The most characters all steps together may have. Default 1,000,000: an
   * answer cannot carry more than 64 KiB anyway, and this keeps a huge tree
   * from costing quadratic time to render.
   */
  readonly maxStepsLength: number;
}

/** The limits the server applies unless told otherwise. */
export const DEFAULT_EVAL_LIMITS: EvalLimits = Object.freeze({
  maxIntDigits: 4300,
  maxNodes: 20_000,
  maxWork: 20_000_000,
  maxStepsLength: 1_000_000,
});

/**
 * `limits` with the defaults filled in (for an explicit undefined too),
 * frozen. Passing the result (or any frozen limits) again costs one lookup,
 * so limits resolved once can be passed with every request.
 *
 * @throws {RangeError} for a limit that is not a positive integer (a NaN
 * would silently disable it).
 *
 * @example
 * ```ts
 * const limits = resolveEvalLimits({ maxIntDigits: 10_000 });
 * evaluate(expr, { steps: true, limits }); // no further merging or checks
 * ```
 */
export const resolveEvalLimits: (limits?: Partial<EvalLimits>) => EvalLimits = limitsResolver(
  DEFAULT_EVAL_LIMITS,
  "eval limit",
);

/** How to evaluate. */
export interface EvalOptions {
  /** Record the steps (the request's S flag). */
  readonly showSteps: boolean;
  /**
   * Overrides of {@linkcode DEFAULT_EVAL_LIMITS}, checked by
   * {@linkcode resolveEvalLimits} (resolve them once to skip that per call).
   */
  readonly limits?: Partial<EvalLimits>;
}

/** The outcome of a successful evaluation. */
export interface Evaluation {
  /** The value: an int (bigint), a float (number) or a bool. */
  readonly result: PyNumber;
  /**
   * The steps, first the expression and last the result; empty unless asked
   * for, and empty for a bare constant.
   */
  readonly steps: string[];
}

/**
 * Evaluates `expr` depth first, left to right, as the Python server does.
 * The tree is not modified; `rand` calls draw from a copy of their
 * `RandomState`, one generator per state object, so calls sharing a state
 * continue one sequence as they do in Python.
 *
 * Throws a `PyException` for every error the Python server would answer
 * (and for the limits above), with CPython's class and message.
 *
 * @example
 * ```ts
 * const { result, steps } = evaluate(parseExpression("max(2, 3) + 3"), { steps: true });
 * result; // 6n
 * steps; // ["max(2, 3) + 3", "3 + 3", "6"]
 * ```
 */
export function evaluate(expr: Expr, options: EvalOptions): Evaluation {
  const limits = resolveEvalLimits(options.limits);
  const tree = flatten(expr, limits.maxNodes);
  const { nodes, sizes } = tree;
  const meter = new Meter(limits);
  // Created on the first `rand` call only: most trees have none.
  let generators: Map<RandomState, MersenneTwister> | undefined;
  const values: PyNumber[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as Expr;
    meter.charge(PRICES.node);
    switch (node.kind) {
      case "constant":
        values[i] = typeof node.value === "bigint" ? meter.int(node.value) : node.value;
        break;
      case "named":
        values[i] = node.value;
        break;
      case "unary":
        values[i] = unaryOp(node.operator, values[i - 1] as PyNumber, meter);
        break;
      case "binary": {
        const left = values[i - 1 - (sizes[i - 1] as number)] as PyNumber;
        values[i] = binaryOp(node.operator, left, values[i - 1] as PyNumber, meter);
        break;
      }
      case "call": {
        const args: PyNumber[] = new Array(node.args.length);
        let child = i - 1;
        for (let k = args.length - 1; k >= 0; k--) {
          args[k] = values[child] as PyNumber;
          child -= sizes[child] as number;
        }
        let generator: MersenneTwister | undefined;
        if (node.random !== undefined) {
          generators ??= new Map();
          generator = generators.get(node.random);
          if (generator === undefined) {
            generator = new MersenneTwister(node.random);
            generators.set(node.random, generator);
          }
        }
        values[i] = callFunction(node.name, args, meter, generator);
        break;
      }
    }
    // A value worked out is kept to the end (the steps show it); a constant is the tree's own.
    if (node.kind !== "constant") meter.keep(values[i] as PyNumber);
  }
  const result = values[nodes.length - 1] as PyNumber;
  if (!options.showSteps || nodes.length === 1) return { result, steps: [] };
  return { result, steps: recordSteps(tree, values, limits.maxStepsLength, meter) };
}

/**
 * The steps of an evaluated tree, as the course server's recursion records
 * them (docs/PROTOCOL.md §5): one per operator or call in evaluation order, taken
 * just before it is applied, then the value. Each character is charged; a
 * step is rendered only when the meter can pay for what it is known to print.
 */
function recordSteps(
  tree: FlatTree,
  values: readonly PyNumber[],
  maxLength: number,
  meter: Meter,
): string[] {
  const nodes = tree.nodes;
  // The constants it prints are paid for with the first step.
  const renderer = new StepRenderer(tree, values, Math.min(maxLength, affordableChars(meter)));
  const steps: string[] = [];
  let length = 0;
  for (let i = 0; i < nodes.length; i++) {
    const kind = (nodes[i] as Expr).kind;
    if (kind === "constant" || kind === "named") continue;
    const room = maxLength - length;
    const affordable = affordableChars(meter);
    const step = renderer.render(i, Math.min(room, affordable));
    if (step === undefined && affordable < room) meter.refuse();
    length += step?.length ?? Infinity;
    if (step === undefined || length > maxLength) throw stepsTooLong(maxLength);
    meter.charge(step.length * PRICES.stepChar);
    steps.push(step);
  }
  const value = formatNumber(values[nodes.length - 1] as PyNumber);
  if (length + value.length > maxLength) throw stepsTooLong(maxLength);
  meter.charge(value.length * PRICES.stepChar);
  steps.push(value);
  return steps;
}

/** The characters of steps the meter can still pay for. */
function affordableChars(meter: Meter): number {
  return Math.floor(meter.room / PRICES.stepChar);
}

function stepsTooLong(maxLength: number): PyException {
  return new PyException("OverflowError", [
    `steps too long: more than ${maxLength} characters (calcnet limit)`,
  ]);
}
