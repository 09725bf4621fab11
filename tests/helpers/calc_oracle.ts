/**
 * CPython as the oracle for the calculator tests: converts trees to the JSON
 * that tests/fixtures/calc_oracle.py reads, runs it, and generates random
 * trees and texts from a seeded generator.
 */

import {
  binary,
  BINARY_SYMBOLS,
  call,
  constant,
  type ConstantName,
  type Expr,
  type FunctionName,
  named,
  type PyNumber,
  type RandomState,
  unary,
} from "../../src/calc/expr.ts";
import { PyException } from "../../src/calc/py_exception.ts";
import { type EvalLimits, evaluate } from "../../src/calc/evaluate.ts";
import { formatNumber } from "../../src/calc/number_format.ts";
import { callFunction } from "../../src/calc/functions.ts";
import { Meter } from "../../src/calc/meter.ts";
import { DEFAULT_EVAL_LIMITS } from "../../src/calc/evaluate.ts";
import { fixturePath, runPython } from "./python.ts";
import { mulberry32 } from "./random.ts";

/** A number as the oracle writes it. */
export type JsonNumber = { int: string } | { float: string } | { bool: boolean };

/** A tree node as the oracle reads it. */
type JsonNode =
  | { k: "const"; v: JsonNumber }
  | { k: "named"; name: ConstantName; v: JsonNumber }
  | { k: "bin"; op: string; l: JsonNode; r: JsonNode }
  | { k: "un"; op: string; x: JsonNode }
  | { k: "call"; f: string; args: JsonNode[]; state?: number };

/** An exception as the oracle writes it. */
interface JsonException {
  type: string;
  args: (string | { int: string })[];
}

/** A call of a C-library function the oracle made: name, arguments, result (null: it raised). */
export type LibmCall = [FunctionName, JsonNumber[], JsonNumber | null];

/** The oracle's answer for one evaluation (`libm` when asked for). */
export type OracleAnswer =
  & ({ result: JsonNumber; steps: string[] } | { exception: JsonException } | { complex: true })
  & { libm?: LibmCall[] };

const view = new DataView(new ArrayBuffer(8));

/**
 * A number in the oracle's JSON form: floats by their exact bits, a NaN's
 * sign included. (pickle_fixture.ts's `numberJson` writes every NaN as
 * 7ff8…; the parser tests compare with CPython's trees bit for bit.)
 */
function numberToJson(x: PyNumber): JsonNumber {
  if (typeof x === "bigint") return { int: x.toString() };
  if (typeof x === "boolean") return { bool: x };
  view.setFloat64(0, x);
  return { float: view.getBigUint64(0).toString(16).padStart(16, "0") };
}

/** A number from the oracle's JSON form. */
export function numberFromJson(x: JsonNumber): PyNumber {
  if ("int" in x) return BigInt(x.int);
  if ("bool" in x) return x.bool;
  view.setBigUint64(0, BigInt(`0x${x.float}`));
  return view.getFloat64(0);
}

/** A tree in the oracle's JSON form; `states` collects the random states met, one entry per object. */
export function exprToJson(expr: Expr, states: RandomState[] = []): JsonNode {
  switch (expr.kind) {
    case "constant":
      return { k: "const", v: numberToJson(expr.value) };
    case "named":
      return { k: "named", name: expr.name, v: numberToJson(expr.value) };
    case "binary":
      return {
        k: "bin",
        op: expr.operator,
        l: exprToJson(expr.left, states),
        r: exprToJson(expr.right, states),
      };
    case "unary":
      return { k: "un", op: expr.operator, x: exprToJson(expr.operand, states) };
    case "call": {
      const node: JsonNode = {
        k: "call",
        f: expr.name,
        args: expr.args.map((a) => exprToJson(a, states)),
      };
      if (expr.random !== undefined) {
        let index = states.indexOf(expr.random);
        if (index < 0) index = states.push(expr.random) - 1;
        node.state = index;
      }
      return node;
    }
  }
}

/** An exception in the oracle's JSON form. */
export function exceptionToJson(error: PyException): JsonException {
  return {
    type: error.type,
    args: error.args.map((a) => typeof a === "bigint" ? { int: a.toString() } : String(a)),
  };
}

const ORACLE = fixturePath("calc_oracle.py");

/** Runs `calc_oracle.py command` on a JSON request; returns the answer's items. */
async function runOracle<T>(command: string, request: object): Promise<T[]> {
  const output = await runPython([ORACLE, command], JSON.stringify(request));
  return (JSON.parse(output) as { items: T[] }).items;
}

/** Evaluates trees with CPython (see tests/fixtures/calc_oracle.py). */
export async function oracleEvaluate(
  cases: readonly { expr: Expr; steps: boolean }[],
  maxDigits = 4300,
  recordLibm = false,
): Promise<OracleAnswer[]> {
  const items = cases.map(({ expr, steps }) => {
    const states: RandomState[] = [];
    const tree = exprToJson(expr, states);
    return {
      tree,
      steps,
      record_libm: recordLibm,
      states: states.map((s) => ({ words: Array.from(s.words), index: s.index, gauss: s.gauss })),
    };
  });
  return await runOracle<OracleAnswer>("evaluate", { items, max_digits: maxDigits });
}

/** Parses texts with CPython's own parser into the oracle's JSON trees. */
export async function oracleParse(
  texts: readonly string[],
): Promise<(JsonNode | { error: string })[]> {
  return await runOracle<JsonNode | { error: string }>("parse", { items: texts });
}

/** The course's bracket removal, run by the oracle. */
export async function oracleBrackets(texts: readonly string[]): Promise<string[]> {
  return await runOracle<string>("brackets", { items: texts });
}

/** A small seeded generator ({@linkcode mulberry32}): the same seed gives the same cases. */
export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A uint32. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

/** A random MT19937 state (624 words, an index in 0..624). */
export function randomState(rng: Rng): RandomState {
  const words = new Uint32Array(624);
  for (let i = 0; i < words.length; i++) words[i] = rng.uint32();
  return { words, index: rng.int(625), gauss: null };
}

const FLOATS = [
  0.5,
  2.5,
  -1.5,
  0.1,
  3.0,
  1e-3,
  1e20,
  -0.0,
  0.0,
  1e308,
  7.25,
  1 / 3,
  1e-310,
  -2.0,
  0.75,
];
const SPECIAL_FLOATS = [Infinity, -Infinity, NaN];
const ONE_ARG: FunctionName[] = ["sin", "cos", "tan", "sqrt"];

/**
 * A random tree of at most `depth` levels mixing ints, floats, bools, named
 * constants, every operator and every function (arities that are wrong
 * included), with `rand` calls drawing from `states`.
 */
export function randomExpr(rng: Rng, depth: number, states: readonly RandomState[]): Expr {
  if (depth <= 1 || rng.next() < 0.25) return randomLeaf(rng);
  const r = rng.next();
  if (r < 0.45) {
    const op = rng.pick(BINARY_SYMBOLS);
    // Keep most exponents small so results stay printable.
    const right = op === "**" && rng.next() < 0.7
      ? randomLeaf(rng)
      : randomExpr(rng, depth - 1, states);
    return binary(randomExpr(rng, depth - 1, states), op, right);
  }
  if (r < 0.6) return unary(rng.pick(["-", "+"] as const), randomExpr(rng, depth - 1, states));
  const name = rng.pick<FunctionName>([...ONE_ARG, "log", "max", "min", "pow", "rand"]);
  const arity = name === "max" || name === "min"
    ? rng.pick([0, 1, 2, 2, 3, 4])
    : name === "pow"
    ? rng.pick([1, 2, 2, 3, 3, 4])
    : name === "log" || name === "rand"
    ? rng.pick([0, 1, 2, 2, 2, 3])
    : rng.pick([0, 1, 1, 1, 1, 2]);
  const args = Array.from({ length: arity }, () => randomExpr(rng, depth - 1, states));
  return name === "rand" ? call(name, args, rng.pick(states)) : call(name, args);
}

function randomLeaf(rng: Rng): Expr {
  const r = rng.next();
  if (r < 0.45) return constant(BigInt(rng.int(16) - 3));
  if (r < 0.7) return constant(rng.pick(FLOATS));
  if (r < 0.75) return constant(rng.pick(SPECIAL_FLOATS));
  if (r < 0.8) return constant(rng.next() < 0.5);
  if (r < 0.9) return named(rng.pick<ConstantName>(["PI", "TAU", "E"]));
  // Ints beyond a double's exact range: true division, int-float conversion.
  return constant(
    (rng.next() < 0.5 ? -1n : 1n) * (10n ** BigInt(15 + rng.int(300)) + BigInt(rng.int(1000))),
  );
}

/** An outcome in a form both sides can be compared in. */
export type Outcome =
  | { result: string; type: string; steps: string[] }
  | { error: string; args: (string | bigint)[] };

function pyType(x: PyNumber): string {
  return typeof x === "bigint" ? "int" : typeof x === "boolean" ? "bool" : "float";
}

/** The message calcnet gives where Python would produce a complex number. */
export const COMPLEX_MESSAGE = "negative number cannot be raised to a fractional power";

/** calcnet's outcome for `expr`: the result as Python prints it and the steps, or the error. */
export function outcome(expr: Expr, steps: boolean, limits?: Partial<EvalLimits>): Outcome {
  try {
    const evaluation = evaluate(expr, { showSteps: steps, limits });
    return {
      result: formatNumber(evaluation.result),
      type: pyType(evaluation.result),
      steps: evaluation.steps,
    };
  } catch (error: unknown) {
    if (!(error instanceof PyException)) throw error;
    return { error: error.type, args: [...error.args] as (string | bigint)[] };
  }
}

/** The oracle's outcome, with a complex result as the error calcnet answers instead. */
export function fromOracle(answer: OracleAnswer): Outcome {
  if ("complex" in answer) return { error: "ValueError", args: [COMPLEX_MESSAGE] };
  if ("exception" in answer) {
    return {
      error: answer.exception.type,
      args: answer.exception.args.map((a) => typeof a === "string" ? a : BigInt(a.int)),
    };
  }
  const value = numberFromJson(answer.result);
  return { result: formatNumber(value), type: pyType(value), steps: answer.steps };
}

/**
 * Whether the C library explains a difference: some `sin`/`cos`/`tan`/`log`
 * call of the oracle's, made again by calcnet on the same arguments, gives a
 * float one unit in the last place away (docs/PROTOCOL.md §4), and every other call
 * gives the same result. A difference of any other kind is calcnet's own.
 */
export function libmExplains(calls: readonly LibmCall[]): boolean {
  let differs = false;
  const meter = new Meter(DEFAULT_EVAL_LIMITS);
  for (const [name, args, expected] of calls) {
    let got: PyNumber | undefined;
    try {
      got = callFunction(name, args.map(numberFromJson), meter);
    } catch (error: unknown) {
      if (!(error instanceof PyException)) throw error;
    }
    const want = expected === null ? undefined : numberFromJson(expected);
    if (Object.is(got, want)) continue;
    if (typeof got !== "number" || typeof want !== "number" || !oneUlpApart(got, want)) {
      return false;
    }
    differs = true;
  }
  return differs;
}

function oneUlpApart(a: number, b: number): boolean {
  view.setFloat64(0, a);
  const x = view.getBigInt64(0);
  view.setFloat64(0, b);
  const y = view.getBigInt64(0);
  return (x < 0n) === (y < 0n) && (x - y === 1n || y - x === 1n);
}

const SMALL_FLOATS = [0.5, 2.5, -1.5, 0.1, 3.0, -0.0, 0.0, 1e-3, 1e20, 7.25, -2.0];

/**
 * A random tree for the steps differential test: named constants everywhere,
 * negative numbers, big ints, -0.0, 1- and 2-argument `log`, 2- and
 * 3-argument `pow`, 1- to 5-argument `max`/`min`, unary chains, at most
 * `depth` levels.
 */
export function randomStepsExpr(rng: Rng, depth: number): Expr {
  if (depth <= 1 || rng.next() < 0.22) return randomStepsLeaf(rng);
  const r = rng.next();
  const sub = (): Expr => randomStepsExpr(rng, depth - 1);
  if (r < 0.4) {
    const op = rng.pick(BINARY_SYMBOLS);
    const right = op === "**" && rng.next() < 0.7 ? constant(BigInt(rng.int(7) - 2)) : sub();
    return binary(sub(), op, right);
  }
  if (r < 0.55) {
    // A chain of one to three unary operators.
    let operand = sub();
    for (let n = 1 + rng.int(3); n > 0; n--) {
      operand = unary(rng.pick(["-", "+"] as const), operand);
    }
    return operand;
  }
  const name = rng.pick<FunctionName>(["log", "pow", "max", "min", "max", "min", "sqrt", "sin"]);
  const arity = name === "log"
    ? 1 + rng.int(2)
    : name === "pow"
    ? 2 + rng.int(2)
    : name === "max" || name === "min"
    ? 1 + rng.int(5)
    : 1;
  // Keep wide calls shallow so trees stay readable.
  const args = Array.from(
    { length: arity },
    () => arity > 2 ? randomStepsExpr(rng, depth - 2) : sub(),
  );
  return call(name, args);
}

function randomStepsLeaf(rng: Rng): Expr {
  const r = rng.next();
  if (r < 0.35) return named(rng.pick<ConstantName>(["PI", "TAU", "E"]));
  if (r < 0.65) return constant(BigInt(rng.int(21) - 10));
  if (r < 0.85) return constant(rng.pick(SMALL_FLOATS));
  // Ints beyond a double's exact range, either sign.
  return constant(
    (rng.next() < 0.5 ? -1n : 1n) * (10n ** BigInt(16 + rng.int(40)) + BigInt(rng.int(1000))),
  );
}
