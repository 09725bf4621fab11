/**
 * The course's answers, as literals: what the course's Python server
 * (CPython 3.11 and 3.13) answered for its six examples and for a table of
 * number semantics (docs/PROTOCOL.md §4, §8). They are the check's ground truth;
 * nothing here is computed by calcnet.
 *
 * @module
 */

import {
  binary,
  call,
  constant,
  COURSE_EXAMPLES,
  type CourseExample,
  type Expr,
  named,
  parseExpression,
  type PyExceptionType,
  unary,
} from "../calc/mod.ts";
import { Status } from "../protocol/mod.ts";
import type { Expected } from "./expectation.ts";

/** The course server's answer to one of its examples. */
export interface ExampleAnswer {
  /** Python's `repr()` of the result. */
  readonly repr: string;
  /** The steps it sends with S=1. */
  readonly steps: readonly string[];
}

/** The answers to the six course examples, in the course's order. */
export const EXAMPLE_ANSWERS: readonly ExampleAnswer[] = [
  {
    repr: "-0.38748277824137206",
    steps: [
      "(sin(max(2, (3 * 4), 5, (6 * ((7 * 8) / 9)), (10 / 11))) / 12) * 13",
      "(sin(max(2, 12, 5, (6 * ((7 * 8) / 9)), (10 / 11))) / 12) * 13",
      "(sin(max(2, 12, 5, (6 * (56 / 9)), (10 / 11))) / 12) * 13",
      "(sin(max(2, 12, 5, (6 * 6.222222222222222), (10 / 11))) / 12) * 13",
      "(sin(max(2, 12, 5, 37.333333333333336, (10 / 11))) / 12) * 13",
      "(sin(max(2, 12, 5, 37.333333333333336, 0.9090909090909091)) / 12) * 13",
      "(sin(37.333333333333336) / 12) * 13",
      "(-0.35767641068434347 / 12) * 13",
      "-0.02980636755702862 * 13",
      "-0.38748277824137206",
    ],
  },
  { repr: "6", steps: ["max(2, 3) + 3", "3 + 3", "6"] },
  {
    repr: "3.0001220703125",
    steps: [
      "3 + ((4 * 2) / ((1 - 5) ** (2 ** 3)))",
      "3 + (8 / ((1 - 5) ** (2 ** 3)))",
      "3 + (8 / (-4 ** (2 ** 3)))",
      "3 + (8 / (-4 ** 8))",
      "3 + (8 / 65536)",
      "3 + 0.0001220703125",
      "3.0001220703125",
    ],
  },
  {
    repr: "17714.7",
    steps: [
      "((1 + 2) ** (3 * 4)) / (5 * 6)",
      "(3 ** (3 * 4)) / (5 * 6)",
      "(3 ** 12) / (5 * 6)",
      "531441 / (5 * 6)",
      "531441 / 30",
      "17714.7",
    ],
  },
  {
    repr: "9.92290301275212e-08",
    steps: [
      "-(-((1 + (2 + 3)) ** -(4 + 5)))",
      "-(-((1 + 5) ** -(4 + 5)))",
      "-(-(6 ** -(4 + 5)))",
      "-(-(6 ** -(9)))",
      "-(-(6 ** -9))",
      "-(-(9.92290301275212e-08))",
      "-(-9.92290301275212e-08)",
      "9.92290301275212e-08",
    ],
  },
  {
    repr: "42",
    steps: [
      "max(2, (3 * 4), log(E), (6 * 7), (9 / 8))",
      "max(2, 12, log(2.718281828459045), (6 * 7), (9 / 8))",
      "max(2, 12, 1.0, (6 * 7), (9 / 8))",
      "max(2, 12, 1.0, 42, (9 / 8))",
      "max(2, 12, 1.0, 42, 1.125)",
      "42",
    ],
  },
];

/** A course example ready to send: its tree, and the course server's answer with its steps. */
export interface AnsweredExample extends CourseExample, ExampleAnswer {
  /** The course's tree for it. */
  readonly expr: Expr;
}

/** The six course examples with the course server's answers. */
export function answeredExamples(): AnsweredExample[] {
  return COURSE_EXAMPLES.map((example, i) => ({
    ...example,
    expr: parseExpression(example.text),
    ...EXAMPLE_ANSWERS[i] as ExampleAnswer,
  }));
}

/** One row: an expression tree, how it reads, and the course's answer. */
export interface SemanticsRow {
  /** The expression as the course's steps print it. */
  readonly text: string;
  /** The tree the course's client would send. */
  readonly expr: Expr;
  /** What the course's server answered. */
  readonly answer: Expected;
}

const int = (value: number | bigint): Expr => constant(BigInt(value));
const float = (value: number): Expr => constant(value);

function ok(text: string, expr: Expr, repr: string, steps?: readonly string[]): SemanticsRow {
  return { text, expr, answer: { kind: "result", repr, steps: steps ?? [text, repr] } };
}

function raises(text: string, expr: Expr, type: PyExceptionType, message: string): SemanticsRow {
  return {
    text,
    expr,
    answer: { kind: "error", statusCode: Status.ClientError, type, message },
  };
}

const TWO_POW_10000 = (2n ** 10000n).toString();

/** `text` as the course's client parses it, with the course server's steps. */
function stepsOf(text: string, steps: readonly string[]): SemanticsRow {
  return ok(text, parseExpression(text), steps.at(-1) ?? "", steps);
}

/**
 * Where named constants sit in sub-expressions: the steps the course server
 * recorded (docs/PROTOCOL.md §5). A constant shows by name only inside an operand not
 * reached yet.
 */
const NAMED_CONSTANT_STEPS: readonly SemanticsRow[] = [
  stepsOf("tau / pi", ["6.283185307179586 / 3.141592653589793", "2.0"]),
  stepsOf("1 + (e * 2)", [
    "1 + (2.718281828459045 * 2)",
    "1 + 5.43656365691809",
    "6.43656365691809",
  ]),
  stepsOf("(2 * 3) + (e * 2)", [
    "(2 * 3) + (E * 2)",
    "6 + (2.718281828459045 * 2)",
    "6 + 5.43656365691809",
    "11.43656365691809",
  ]),
  stepsOf("max(1, pi) * (2 + e)", [
    "max(1, 3.141592653589793) * (2 + E)",
    "3.141592653589793 * (2 + 2.718281828459045)",
    "3.141592653589793 * 4.718281828459045",
    "14.82291952985315",
  ]),
  stepsOf("sin(pi) + cos(2 * tau)", [
    "(sin(3.141592653589793) + cos(2 * TAU))",
    "(1.2246467991473532e-16 + cos(2 * 6.283185307179586))",
    "1.2246467991473532e-16 + cos(12.566370614359172)",
    "1.2246467991473532e-16 + 1.0",
    "1.0000000000000002",
  ]),
  stepsOf("min(2 * 3, e, pi - 1)", [
    "min((2 * 3), E, (PI - 1))",
    "min(6, 2.718281828459045, (3.141592653589793 - 1))",
    "min(6, 2.718281828459045, 2.141592653589793)",
    "2.141592653589793",
  ]),
  stepsOf("-pi", ["-(3.141592653589793)", "-3.141592653589793"]),
];

/**
 * Number semantics as the course's server answered them: int/float rules,
 * Python's `%`, right-associative `**`, `max`/`min` returning the first
 * extreme argument, float formatting, and the exact error texts. Left out on
 * purpose: complex results (the Python client cannot read them) and ints
 * beyond 4300 digits (CPython's str limit), where implementations may differ
 * (docs/PROTOCOL.md §4).
 */
export const SEMANTICS_TABLE: readonly SemanticsRow[] = [
  ok("1 + 2", binary(int(1), "+", int(2)), "3"),
  ok("6 / 2", binary(int(6), "/", int(2)), "3.0"),
  ok("1 / 3", binary(int(1), "/", int(3)), "0.3333333333333333"),
  ok("0.1 + 0.2", binary(float(0.1), "+", float(0.2)), "0.30000000000000004"),
  ok("2 ** 100", binary(int(2), "**", int(100)), "1267650600228229401496703205376"),
  ok("2 ** -1", binary(int(2), "**", int(-1)), "0.5"),
  ok("10 ** 20", binary(int(10), "**", int(20)), "100000000000000000000"),
  ok("1e+20 + 0", binary(float(1e20), "+", int(0)), "1e+20"),
  ok("7 % -3", binary(int(7), "%", int(-3)), "-2"),
  ok("-7 % 3", binary(int(-7), "%", int(3)), "2"),
  ok("-(7) % 3", binary(unary("-", int(7)), "%", int(3)), "2", ["-(7) % 3", "-7 % 3", "2"]),
  ok("7.5 % 2", binary(float(7.5), "%", int(2)), "1.5"),
  ok("-7.5 % 2", binary(float(-7.5), "%", int(2)), "0.5"),
  raises("7 % 0", binary(int(7), "%", int(0)), "ZeroDivisionError", "integer modulo by zero"),
  raises("1 / 0", binary(int(1), "/", int(0)), "ZeroDivisionError", "division by zero"),
  raises(
    "0 ** -1",
    binary(int(0), "**", int(-1)),
    "ZeroDivisionError",
    "0.0 cannot be raised to a negative power",
  ),
  raises(
    "0.0 ** -1",
    binary(float(0), "**", int(-1)),
    "ZeroDivisionError",
    "0.0 cannot be raised to a negative power",
  ),
  ok("0 ** 0", binary(int(0), "**", int(0)), "1"),
  ok("2 ** 0.5", binary(int(2), "**", float(0.5)), "1.4142135623730951"),
  ok("2 ** 3 ** 2", binary(int(2), "**", binary(int(3), "**", int(2))), "512", [
    "2 ** (3 ** 2)",
    "2 ** 9",
    "512",
  ]),
  ok("10 - 4 - 3", binary(binary(int(10), "-", int(4)), "-", int(3)), "3", [
    "(10 - 4) - 3",
    "6 - 3",
    "3",
  ]),
  ok("pow(2, 0.5)", call("pow", [int(2), float(0.5)]), "1.4142135623730951"),
  ok("pow(2, 3, 5)", call("pow", [int(2), int(3), int(5)]), "3"),
  ok("pow(2, -1, 5)", call("pow", [int(2), int(-1), int(5)]), "3"),
  ok("log(8, 2)", call("log", [int(8), int(2)]), "3.0"),
  ok("log(100, 10)", call("log", [int(100), int(10)]), "2.0"),
  ok("log(e)", call("log", [named("E")]), "1.0", ["log(2.718281828459045)", "1.0"]),
  raises("log(-1)", call("log", [int(-1)]), "ValueError", "math domain error"),
  raises("log(0)", call("log", [int(0)]), "ValueError", "math domain error"),
  ok("sqrt(16)", call("sqrt", [int(16)]), "4.0"),
  raises("sqrt(-1)", call("sqrt", [int(-1)]), "ValueError", "math domain error"),
  raises("max()", call("max", []), "TypeError", "max expected at least 1 argument, got 0"),
  raises("min()", call("min", []), "TypeError", "min expected at least 1 argument, got 0"),
  raises("max(5)", call("max", [int(5)]), "TypeError", "'int' object is not iterable"),
  ok("max(1, 2.0)", call("max", [int(1), float(2)]), "2.0"),
  ok("max(2, 2.0)", call("max", [int(2), float(2)]), "2"),
  ok("max(2.0, 2)", call("max", [float(2), int(2)]), "2.0"),
  ok("min(3, 1.5)", call("min", [int(3), float(1.5)]), "1.5"),
  ok("sin(1e+300)", call("sin", [float(1e300)]), "-0.8178819121159085"),
  ok("sin(10 ** 22)", call("sin", [binary(int(10), "**", int(22))]), "-0.8522008497671888", [
    "sin(10 ** 22)",
    "sin(10000000000000000000000)",
    "-0.8522008497671888",
  ]),
  raises(
    "sin(2 ** 1024)",
    call("sin", [binary(int(2), "**", int(1024))]),
    "OverflowError",
    "int too large to convert to float",
  ),
  raises("sin(inf)", call("sin", [float(Infinity)]), "ValueError", "math domain error"),
  ok(
    "tan(pi / 2)",
    call("tan", [binary(named("PI"), "/", int(2))]),
    "1.633123935319537e+16",
    ["tan(3.141592653589793 / 2)", "tan(1.5707963267948966)", "1.633123935319537e+16"],
  ),
  ok("cos(pi)", call("cos", [named("PI")]), "-1.0", ["cos(3.141592653589793)", "-1.0"]),
  ok("+tau", unary("+", named("TAU")), "6.283185307179586", [
    "+(6.283185307179586)",
    "6.283185307179586",
  ]),
  ok("PI", named("PI"), "3.141592653589793", []),
  ok("5", int(5), "5", []),
  ok("-(0.0)", unary("-", float(0)), "-0.0"),
  ok("-(0)", unary("-", int(0)), "0"),
  ok("+(3)", unary("+", int(3)), "3"),
  ok("True + 1", binary(constant(true), "+", int(1)), "2"),
  ok("1e+308 * 10", binary(float(1e308), "*", int(10)), "inf"),
  ok("inf - inf", binary(float(Infinity), "-", float(Infinity)), "nan"),
  raises(
    "10 ** 400 / 1",
    binary(binary(int(10), "**", int(400)), "/", int(1)),
    "OverflowError",
    "integer division result too large for a float",
  ),
  raises(
    "2 ** 1024 * 1.0",
    binary(binary(int(2), "**", int(1024)), "*", float(1)),
    "OverflowError",
    "int too large to convert to float",
  ),
  raises(
    "2 ** 10000.5",
    binary(int(2), "**", float(10000.5)),
    "OverflowError",
    "(34, 'Numerical result out of range')",
  ),
  raises(
    "2.0 ** 1024",
    binary(float(2), "**", int(1024)),
    "OverflowError",
    "(34, 'Numerical result out of range')",
  ),
  ok("2 ** 10000", binary(int(2), "**", int(10000)), TWO_POW_10000),
  ...NAMED_CONSTANT_STEPS,
];
