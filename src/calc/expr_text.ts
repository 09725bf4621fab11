/**
 * An expression tree as the infix text a user types to calcnet's client:
 * Python's syntax with the fewest brackets that make `parseExpression` read
 * the same tree back.
 *
 * @module
 */

import type { BinarySymbol, ConstantName, Expr } from "./expr.ts";
import { formatNumber } from "./number_format.ts";

/** The parser's grammar levels, loosest first: what a piece of text can stand for unbracketed. */
const Level = { Sum: 1, Term: 2, Factor: 3, Power: 4, Atom: 5 } as const;

/** One of {@linkcode Level}'s values. */
type Level = typeof Level[keyof typeof Level];

/** Each operator's own level and the least its operands must have to go unbracketed. */
const BINARY_LEVELS: Readonly<
  Record<BinarySymbol, { readonly self: Level; readonly left: Level; readonly right: Level }>
> = {
  // Left-associative: a sum on the right needs brackets, one on the left does not.
  "+": { self: Level.Sum, left: Level.Sum, right: Level.Term },
  "-": { self: Level.Sum, left: Level.Sum, right: Level.Term },
  "*": { self: Level.Term, left: Level.Term, right: Level.Factor },
  "/": { self: Level.Term, left: Level.Term, right: Level.Factor },
  "%": { self: Level.Term, left: Level.Term, right: Level.Factor },
  // The base is a primary (`-2 ** 2` is `-(2 ** 2)`); the exponent may carry a sign.
  "**": { self: Level.Power, left: Level.Atom, right: Level.Factor },
};

/** How users type the named constants. */
const CONSTANT_TEXT: Readonly<Record<ConstantName, string>> = { PI: "pi", TAU: "tau", E: "e" };

/**
 * The most decimal digits the parser reads in an int literal (Python's
 * limit); longer ints are written in hex, which it reads in any length.
 */
const MAX_DECIMAL_DIGITS = 4300;

/** What the text of a node is to its parent. */
interface Shape {
  /** The loosest context it can stand in unbracketed. */
  readonly level: Level;
  /** It starts with a sign (`-5`, `-x`): brackets after another sign, for readability. */
  readonly signed: boolean;
  /** A bare number literal: a minus written before it would fold into it. */
  readonly literal: boolean;
}

/** The text of a constant's value. */
function constantText(value: bigint | number | boolean): string {
  if (typeof value !== "bigint") return formatNumber(value);
  const digits = value < 0n ? -value : value;
  const text = digits.toString();
  const body = text.length > MAX_DECIMAL_DIGITS ? `0x${digits.toString(16)}` : text;
  return value < 0n ? `-${body}` : body;
}

/** What a node's text is to its parent, known without writing it. */
function shapeOf(expr: Expr): Shape {
  switch (expr.kind) {
    case "constant": {
      const value = expr.value;
      if (typeof value === "boolean") return { level: Level.Atom, signed: false, literal: false };
      const negative = typeof value === "bigint" ? value < 0n : value < 0 || Object.is(value, -0);
      return negative
        ? { level: Level.Factor, signed: true, literal: false }
        : { level: Level.Atom, signed: false, literal: true };
    }
    case "named":
    case "call":
      return { level: Level.Atom, signed: false, literal: false };
    case "unary":
      return { level: Level.Factor, signed: true, literal: false };
    case "binary":
      return { level: BINARY_LEVELS[expr.operator].self, signed: false, literal: false };
  }
}

/** Collects text up to a length, then ignores the rest. */
class BoundedText {
  readonly #max: number;
  #parts: string[] = [];
  #length = 0;
  /** Whether text was cut off. */
  full = false;

  constructor(max: number) {
    this.#max = max;
  }

  put(text: string): void {
    if (this.full) return;
    if (this.#length + text.length > this.#max) {
      this.#parts.push(text.slice(0, this.#max - this.#length));
      this.full = true;
      return;
    }
    this.#parts.push(text);
    this.#length += text.length;
  }

  toString(): string {
    return this.#parts.join("") + (this.full ? "…" : "");
  }
}

/** Writes `expr`, bracketed unless it can stand where at least `least` is needed. */
function writeOperand(out: BoundedText, expr: Expr, least: Level, afterSign: string): void {
  const shape = shapeOf(expr);
  const bracket = shape.level < least ||
    (afterSign !== "" && (shape.signed || (afterSign === "-" && shape.literal)));
  if (bracket) out.put("(");
  write(out, expr);
  if (bracket) out.put(")");
}

/** Writes `expr` unbracketed. */
function write(out: BoundedText, expr: Expr): void {
  if (out.full) return;
  switch (expr.kind) {
    case "constant":
      out.put(constantText(expr.value));
      return;
    case "named":
      out.put(CONSTANT_TEXT[expr.name]);
      return;
    case "unary":
      out.put(expr.operator);
      writeOperand(out, expr.operand, Level.Factor, expr.operator);
      return;
    case "binary": {
      const levels = BINARY_LEVELS[expr.operator];
      writeOperand(out, expr.left, levels.left, "");
      out.put(` ${expr.operator} `);
      writeOperand(out, expr.right, levels.right, "");
      return;
    }
    case "call":
      out.put(`${expr.name}(`);
      expr.args.forEach((arg, i) => {
        if (i > 0) out.put(", ");
        write(out, arg);
      });
      out.put(")");
  }
}

/**
 * The infix text of `expr` as a user would type it, e.g. `max(2, 3) + 3`:
 * Python's operators with spaces around binary ones, brackets only where
 * precedence, associativity or a sign needs them (`(-2) ** 2`, `-(5)`,
 * `2 - (3 - 4)`), named constants as `pi`, `tau`, `e`, numbers as Python
 * prints them (ints longer than 4300 digits in hex). `parseExpression` reads
 * it back into the same tree, except that a `rand` call's random state and a
 * NaN's sign are not written, and trees nested deeper than the parser's
 * limit are refused by it.
 *
 * Text beyond `maxChars` characters is cut off and ends with `…` (a tree
 * of shared sub-trees can be far longer than its pickle).
 *
 * @example
 * ```ts
 * exprText(parseExpression("max(2,3)+3")); // "max(2, 3) + 3"
 * exprText(binary(constant(-2n), "**", constant(2n))); // "(-2) ** 2"
 * ```
 */
export function exprText(expr: Expr, maxChars: number = Infinity): string {
  const out = new BoundedText(maxChars);
  write(out, expr);
  return out.toString();
}
