/**
 * An expression as a person would type it for calcnet's client: the course's
 * fully bracketed rendering — binary `(l op r)`, unary `op(x)`, call
 * `name(a, b)`, a constant as Python prints it, a named constant by its name
 * (`E`, `PI`, `TAU`) — without the brackets that Python's grammar makes
 * redundant. The Wireshark dissector prints requests by the same rule.
 *
 * The rule, with Python's precedence levels sum (`+ -`) < term (`* / %`) <
 * factor (unary `- +`) < power (`**`) < atom (a call, a named constant, a
 * constant that does not start with a minus):
 *
 * - an operand of a left-associative operator is bracketed when its level is
 *   below the operator's, or equal on the right (`a - (b - c)`);
 * - `**` brackets a left operand that is not an atom (`(-2) ** 2`,
 *   `(2 ** 3) ** 2`) and a right operand below a factor (`2 ** (1 + 1)`,
 *   but `2 ** -1`);
 * - a unary operator brackets any operand that is not an atom
 *   (`-(-x)`, `-(2 ** 2)`), and `-` also a numeric constant, which would
 *   otherwise read as a negative constant (`-(5)` against the constant `-5`);
 * - call arguments are never bracketed.
 *
 * So {@linkcode parseExpression} reads the text back into the same tree.
 *
 * @module
 */

import type { BinarySymbol, Expr } from "./expr.ts";
import { formatNumber } from "./number_format.ts";

/** Python's precedence levels, low to high. */
const enum Level {
  Sum = 1,
  Term = 2,
  Factor = 3,
  Power = 4,
  Atom = 5,
}

const BINARY_LEVEL: Readonly<Record<BinarySymbol, Level>> = {
  "+": Level.Sum,
  "-": Level.Sum,
  "*": Level.Term,
  "/": Level.Term,
  "%": Level.Term,
  "**": Level.Power,
};

/** The longest text {@linkcode exprText} returns by default (the dissector's limit too). */
export const MAX_EXPR_TEXT = 65536;

/** What ends a text that was cut at its limit. */
export const TRUNCATION_MARK = "…";

/**
 * `expr` as infix text by the rule above. A text longer than `maxLength`
 * characters (a huge tree, or a small one that shares sub-trees many times)
 * is cut there and ends with {@linkcode TRUNCATION_MARK}; building it stops
 * at the limit.
 *
 * @example
 * ```ts
 * exprText(parseExpression("max(2, (3 * 4)) + 3")); // "max(2, 3 * 4) + 3"
 * exprText(parseExpression("-(-((1 + 2) ** -(4 + 5)))")); // "-(-((1 + 2) ** -(4 + 5)))"
 * ```
 */
export function exprText(expr: Expr, maxLength: number = MAX_EXPR_TEXT): string {
  const writer = new TextWriter(maxLength);
  try {
    write(expr, writer);
  } catch (error: unknown) {
    if (error !== writer) throw error;
    return writer.text().slice(0, maxLength) + TRUNCATION_MARK;
  }
  return writer.text();
}

/** Collects pieces and throws itself once they pass the limit. */
class TextWriter {
  readonly #pieces: string[] = [];
  #length = 0;
  readonly #maxLength: number;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  put(piece: string): void {
    this.#pieces.push(piece);
    this.#length += piece.length;
    if (this.#length > this.#maxLength) throw this;
  }

  text(): string {
    return this.#pieces.join("");
  }
}

function level(expr: Expr): Level {
  switch (expr.kind) {
    case "constant":
      return formatNumber(expr.value).startsWith("-") ? Level.Factor : Level.Atom;
    case "named":
    case "call":
      return Level.Atom;
    case "unary":
      return Level.Factor;
    case "binary":
      return BINARY_LEVEL[expr.operator];
  }
}

function write(expr: Expr, writer: TextWriter): void {
  switch (expr.kind) {
    case "constant":
      writer.put(formatNumber(expr.value));
      return;
    case "named":
      writer.put(expr.name);
      return;
    case "unary": {
      const operand = expr.operand;
      const numeric = operand.kind === "constant" && typeof operand.value !== "boolean";
      writer.put(expr.operator);
      writeOperand(
        operand,
        level(operand) !== Level.Atom || (expr.operator === "-" && numeric),
        writer,
      );
      return;
    }
    case "binary": {
      const own = BINARY_LEVEL[expr.operator];
      const left = level(expr.left);
      const right = level(expr.right);
      const power = expr.operator === "**";
      writeOperand(expr.left, power ? left <= Level.Power : left < own, writer);
      writer.put(` ${expr.operator} `);
      writeOperand(expr.right, power ? right < Level.Factor : right <= own, writer);
      return;
    }
    case "call":
      writer.put(`${expr.name}(`);
      expr.args.forEach((arg, i) => {
        if (i > 0) writer.put(", ");
        write(arg, writer);
      });
      writer.put(")");
  }
}

function writeOperand(expr: Expr, bracketed: boolean, writer: TextWriter): void {
  if (bracketed) writer.put("(");
  write(expr, writer);
  if (bracketed) writer.put(")");
}
