/**
 * The names by which the course's Python code pickles an expression: its
 * classes, and the global behind each operator and function (docs/PROTOCOL.md §3.1).
 * Shared by the encoder, which writes them, and the decoder, which checks
 * them.
 *
 * @module
 */

import type { BinarySymbol, FunctionName, UnarySymbol } from "../calc/mod.ts";

/** The module the course's classes live in (`api.py` re-exports them). */
export const COURSE_MODULE = "calculator";

/** The course's classes that make up an expression tree. */
export type CourseClassName =
  | "Constant"
  | "NamedConstant"
  | "BinaryExpr"
  | "UnaryExpr"
  | "FunctionCallExpr"
  | "BinaryOperator"
  | "UnaryOperator"
  | "Function"
  | "Associativity";

/** Every {@linkcode CourseClassName}. */
export const COURSE_CLASS_NAMES: readonly CourseClassName[] = [
  "Constant",
  "NamedConstant",
  "BinaryExpr",
  "UnaryExpr",
  "FunctionCallExpr",
  "BinaryOperator",
  "UnaryOperator",
  "Function",
  "Associativity",
];

/** A module attribute: `[module, name]`. */
export type GlobalName = readonly [module: string, name: string];

/** The function global of each `BinaryOperator`. */
export const BINARY_OPERATOR_FUNCTIONS: Readonly<Record<BinarySymbol, GlobalName>> = {
  "+": ["_operator", "add"],
  "-": ["_operator", "sub"],
  "*": ["_operator", "mul"],
  "/": ["_operator", "truediv"],
  "%": ["_operator", "mod"],
  "**": ["_operator", "pow"],
};

/** The `Associativity` member value of each `BinaryOperator`: 0 LEFT, 1 RIGHT. */
export const BINARY_OPERATOR_ASSOCIATIVITY: Readonly<Record<BinarySymbol, 0 | 1>> = {
  "+": 0,
  "-": 0,
  "*": 0,
  "/": 0,
  "%": 0,
  "**": 1,
};

/** The function global of each `UnaryOperator`. */
export const UNARY_OPERATOR_FUNCTIONS: Readonly<Record<UnarySymbol, GlobalName>> = {
  "-": ["_operator", "neg"],
  "+": ["_operator", "pos"],
};

/** The function global of each `Function` but `rand` (a bound method). */
export const FUNCTION_GLOBALS: Readonly<Record<Exclude<FunctionName, "rand">, GlobalName>> = {
  sin: ["math", "sin"],
  cos: ["math", "cos"],
  tan: ["math", "tan"],
  sqrt: ["math", "sqrt"],
  log: ["math", "log"],
  max: ["builtins", "max"],
  min: ["builtins", "min"],
  pow: ["builtins", "pow"],
};

/** The `random.Random.getstate()` version calcnet reads and writes. */
export const RANDOM_STATE_VERSION = 3;
