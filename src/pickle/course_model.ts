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

/**
 * The attributes each course class's `__init__` sets, in its order (the
 * order CPython writes `__dict__` in). `Associativity` is an enum: it has
 * none of its own.
 */
export const COURSE_ATTRIBUTES: Readonly<
  Record<Exclude<CourseClassName, "Associativity">, readonly string[]>
> = {
  Constant: ["value"],
  NamedConstant: ["name", "value"],
  BinaryExpr: ["left_operand", "operator", "right_operand"],
  UnaryExpr: ["operator", "operand"],
  FunctionCallExpr: ["function", "args"],
  BinaryOperator: ["symbol", "function", "associativity"],
  UnaryOperator: ["symbol", "function"],
  Function: ["name", "function"],
};

/** The course classes that are expressions (the others are their parts). */
export const EXPRESSION_CLASSES: ReadonlySet<CourseClassName> = new Set([
  "Constant",
  "NamedConstant",
  "BinaryExpr",
  "UnaryExpr",
  "FunctionCallExpr",
]);

/** The names a `NamedConstant` may have. */
export const NAMED_CONSTANT_NAMES: ReadonlySet<string> = new Set(["PI", "TAU", "E"]);

/** `module.name` of each global of the tables above, made once (their tuples are constants). */
const QUALIFIED = new Map<GlobalName, string>();

/** `module.name` of `global`, as a resolved global's `qualified`. */
export function qualifiedName(global: GlobalName): string {
  let text = QUALIFIED.get(global);
  if (text === undefined) QUALIFIED.set(global, text = `${global[0]}.${global[1]}`);
  return text;
}
