/**
 * Prints an expression tree as infix text, the way a person would type it
 * into calcnet's client: Python's syntax, with only the brackets the
 * grammar needs (and, for readability, around any operand of a unary sign
 * but a number or a name), so that `parseExpression(exprToText(e))` builds `e` again.
 *
 * @module
 */

import type { Expr, PyNumber } from "./expr.ts";
import { formatNumber } from "./number_format.ts";

/**
 * Binding strength: `+ -` < `* / %` < unary `- +` < `**` < an atom
 * (number, name, call, bracketed expression). A negative number literal
 * reads as a unary minus applied to a number, so it binds as a unary.
 */
const enum Level {
  Sum = 1,
  Term = 2,
  Unary = 3,
  Power = 4,
  Atom = 5,
}

const BINARY_LEVEL = {
  "+": Level.Sum,
  "-": Level.Sum,
  "*": Level.Term,
  "/": Level.Term,
  "%": Level.Term,
  "**": Level.Power,
} as const;

/** Python refuses decimal int literals longer than this (3.11's default); longer ones print in hex. */
const MAX_DECIMAL_DIGITS = 4300;

/**
 * The infix text of `expr`, with Python's precedence and associativity
 * (`**` binds tighter than a unary minus on its left and is
 * right-associative). The operand of a unary sign is bracketed unless it
 * is an atom: `-(-x)`, `-(2 ** 2)` rather than the misleading `--x`,
 * `-2 ** 2`. Named constants print as `pi`, `tau`, `e` (a value
 * that differs from the course's is not shown); `rand`'s random state is
 * not shown. An int too long for a decimal literal prints in hex, as Python
 * would accept it.
 *
 * @example
 * ```ts
 * exprToText(parseExpression("(max(2, 3) + 3)")); // "max(2, 3) + 3"
 * exprToText(binary(binary(constant(2n), "**", constant(3n)), "**", constant(2n))); // "(2 ** 3) ** 2"
 * exprToText(unary("-", constant(1n))); // "-(1)", since "-1" is the constant -1
 * ```
 */
export function exprToText(expr: Expr): string {
  return printed(expr).text;
}

/** A printed sub-tree and how strongly it binds. */
interface Printed {
  readonly text: string;
  readonly level: Level;
}

function printed(expr: Expr): Printed {
  switch (expr.kind) {
    case "constant":
      return numberText(expr.value);
    case "named":
      return { text: expr.name.toLowerCase(), level: Level.Atom };
    case "call":
      return {
        text: `${expr.name}(${expr.args.map(exprToText).join(", ")})`,
        level: Level.Atom,
      };
    case "unary": {
      const operand = printed(expr.operand);
      // `-1` would read back as the constant -1, not as minus applied to 1.
      const literal = expr.operator === "-" && expr.operand.kind === "constant" &&
        operand.level === Level.Atom && typeof expr.operand.value !== "boolean";
      // Only an atom goes unbracketed: `--x` and `-2 ** 2` are valid but
      // easily misread (the latter is -(2 ** 2)).
      const bracket = literal || operand.level < Level.Atom;
      return { text: expr.operator + wrap(operand, bracket), level: Level.Unary };
    }
    case "binary": {
      const level = BINARY_LEVEL[expr.operator];
      const left = printed(expr.left);
      const right = printed(expr.right);
      // `**`: its base must be an atom, its exponent may carry a sign. The
      // others are left-associative: an equal level binds on the left only.
      const leftBracket = level === Level.Power ? left.level < Level.Atom : left.level < level;
      const rightBracket = level === Level.Power ? right.level < Level.Unary : right.level <= level;
      return {
        text: `${wrap(left, leftBracket)} ${expr.operator} ${wrap(right, rightBracket)}`,
        level,
      };
    }
  }
}

function wrap(part: Printed, bracket: boolean): string {
  return bracket ? `(${part.text})` : part.text;
}

function numberText(value: PyNumber): Printed {
  let text = formatNumber(value);
  if (typeof value === "bigint" && text.length > MAX_DECIMAL_DIGITS) {
    text = value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
  }
  return { text, level: text.startsWith("-") ? Level.Unary : Level.Atom };
}
