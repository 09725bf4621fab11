/**
 * The expression tree: a typed mirror of the course's classes in module
 * `calculator` (`Constant`, `NamedConstant`, `BinaryExpr`, `UnaryExpr`,
 * `FunctionCallExpr`). Nodes are immutable; a sub-tree may be shared.
 *
 * @module
 */

/** A Python number: `bigint` is an `int`, `number` a `float`, `boolean` a `bool`. */
export type PyNumber = bigint | number | boolean;

/** The symbols of the course's `BinaryOperator` singletons. */
export type BinarySymbol = "+" | "-" | "*" | "/" | "%" | "**";

/** The symbols of the course's `UnaryOperator` singletons. */
export type UnarySymbol = "-" | "+";

/** The names of the course's `Function` singletons (docs/PROTOCOL.md §3.1). */
export type FunctionName = "sin" | "cos" | "tan" | "sqrt" | "log" | "max" | "min" | "pow" | "rand";

/** The names of the course's `NamedConstant` singletons. */
export type ConstantName = "PI" | "TAU" | "E";

/** All binary operator symbols, in a fixed order. */
export const BINARY_SYMBOLS: readonly BinarySymbol[] = ["+", "-", "*", "/", "%", "**"];

/** All function names, in a fixed order. */
export const FUNCTION_NAMES: readonly FunctionName[] = [
  "sin",
  "cos",
  "tan",
  "sqrt",
  "log",
  "max",
  "min",
  "pow",
  "rand",
];

/** The value each named constant carries (`math.pi`, `math.tau`, `math.e`). */
export const NAMED_CONSTANT_VALUES: Readonly<Record<ConstantName, number>> = {
  PI: Math.PI,
  TAU: 2 * Math.PI,
  E: Math.E,
};

/** The number of 32-bit words in an MT19937 state (CPython's `random.Random`). */
export const MT_WORDS = 624;

/**
 * The state of a CPython `random.Random` (what `getstate()` returns for
 * version 3): 624 MT19937 words, the position in them, and the gauss cache.
 * It travels inside every `rand` request.
 */
export interface RandomState {
  /** The 624 32-bit words of the Mersenne Twister. */
  readonly words: Uint32Array;
  /** How many words of the current block were used, 0..624. */
  readonly index: number;
  /** `Random.gauss`'s cached next value, or null. */
  readonly gauss: number | null;
}

/** `Constant(value)`. */
export interface Constant {
  /** The node's kind. */
  readonly kind: "constant";
  /** The int (bigint), float (number) or bool. */
  readonly value: PyNumber;
}

/** `NamedConstant(name, value)`: printed by name in the first step. */
export interface NamedConstant {
  /** The node's kind. */
  readonly kind: "named";
  /** `PI`, `TAU` or `E`. */
  readonly name: ConstantName;
  /** Its value, as the request carries it. */
  readonly value: number;
}

/** `BinaryExpr(left_operand, operator, right_operand)`. */
export interface BinaryExpr {
  /** The node's kind. */
  readonly kind: "binary";
  /** The operator's symbol. */
  readonly operator: BinarySymbol;
  /** The left operand. */
  readonly left: Expr;
  /** The right operand. */
  readonly right: Expr;
}

/** `UnaryExpr(operator, operand)`. */
export interface UnaryExpr {
  /** The node's kind. */
  readonly kind: "unary";
  /** The operator's symbol. */
  readonly operator: UnarySymbol;
  /** The operand. */
  readonly operand: Expr;
}

/**
 * `FunctionCallExpr(function, args)`. For `rand`, `random` is the state of
 * the `random.Random` the function is bound to; every `rand` call of one
 * tree shares one state object, as every call shares one `Function` in Python.
 */
export interface FunctionCallExpr {
  /** The node's kind. */
  readonly kind: "call";
  /** The function's name. */
  readonly name: FunctionName;
  /** The arguments, in order. */
  readonly args: readonly Expr[];
  /** `rand`'s random state (undefined for every other function). */
  readonly random?: RandomState;
}

/** Any expression node. */
export type Expr = Constant | NamedConstant | BinaryExpr | UnaryExpr | FunctionCallExpr;

/** Builds a `Constant`. */
export function constant(value: PyNumber): Constant {
  return { kind: "constant", value };
}

/** Builds a `NamedConstant` with the course's value for `name`. */
export function named(name: ConstantName): NamedConstant {
  return { kind: "named", name, value: NAMED_CONSTANT_VALUES[name] };
}

/** Builds a `BinaryExpr`. */
export function binary(left: Expr, operator: BinarySymbol, right: Expr): BinaryExpr {
  return { kind: "binary", operator, left, right };
}

/** Builds a `UnaryExpr`. */
export function unary(operator: UnarySymbol, operand: Expr): UnaryExpr {
  return { kind: "unary", operator, operand };
}

/** Builds a `FunctionCallExpr` (pass `random` for `rand`). */
export function call(
  name: FunctionName,
  args: readonly Expr[],
  random?: RandomState,
): FunctionCallExpr {
  return random === undefined ? { kind: "call", name, args } : { kind: "call", name, args, random };
}
