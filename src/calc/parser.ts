/**
 * Reads the infix expressions people type into the trees the course's
 * client builds, with Python's grammar for the operators it has.
 *
 * @module
 */

import {
  binary,
  type BinarySymbol,
  call,
  constant,
  type ConstantName,
  type Expr,
  FUNCTION_NAMES,
  type FunctionName,
  named,
  type PyNumber,
  unary,
} from "./expr.ts";
import { UsageError } from "../base/mod.ts";

/**
 * The deepest expression {@linkcode parseExpression} accepts, in tree levels
 * and in nesting (parentheses, calls, signs, powers). It keeps parsing
 * free of stack overflows and the tree well within what the pickle decoder
 * accepts.
 */
export const MAX_EXPRESSION_DEPTH = 200;

/** The most digits of a decimal int literal, as Python 3.11 (4300) accepts. */
const MAX_LITERAL_DIGITS = 4300;

const CONSTANT_NAMES: Readonly<Record<string, ConstantName>> = {
  pi: "PI",
  PI: "PI",
  tau: "TAU",
  TAU: "TAU",
  e: "E",
  E: "E",
};

const LITERAL_NAMES: Readonly<Record<string, PyNumber>> = {
  inf: Infinity,
  nan: NaN,
  True: true,
  False: false,
};

type TokenKind = "number" | "name" | "op" | "end";

interface Token {
  readonly kind: TokenKind;
  /** The text of the token ("" at the end). */
  readonly text: string;
  /** 0-based offset in the expression. */
  readonly at: number;
  /** The value of a number token. */
  readonly value?: PyNumber;
}

/** A parsed sub-expression with what the parser needs to know about it. */
interface Parsed {
  readonly expr: Expr;
  /** Levels of the tree, a leaf being 1. */
  readonly depth: number;
  /** A number literal as written, with no parentheses around it. */
  readonly literal: boolean;
}

const NUMBER = new RegExp(
  [
    "0[xX](?:_?[0-9a-fA-F])+",
    "0[oO](?:_?[0-7])+",
    "0[bB](?:_?[01])+",
    "(?:\\d(?:_?\\d)*)?\\.\\d(?:_?\\d)*(?:[eE][+-]?\\d(?:_?\\d)*)?",
    "\\d(?:_?\\d)*(?:\\.(?:\\d(?:_?\\d)*)?)?(?:[eE][+-]?\\d(?:_?\\d)*)?",
  ].join("|"),
  "y",
);
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const SPACE = /[ \t\n\r\f\v]+/y;

/**
 * Parses an expression with Python's precedence and associativity:
 * `+ -` below `* / %` below unary `- +` below `**`, which is
 * right-associative and binds tighter than a unary minus on its left
 * (`-2 ** 2` is `-(2 ** 2)`) while its right operand may carry a sign
 * (`2 ** -1`). Calls: `sin cos tan sqrt log max min pow rand`; constants
 * `pi`, `tau`, `e` (named constants), `inf`, `nan`, `True`, `False`; number
 * literals as Python writes them (`10`, `2.5`, `1e-05`, `.5`, `5.`, `1_000`,
 * `0x1f`). A minus written right before a number literal makes a negative
 * constant, as CPython's compiler folds it (`sqrt(-1)` holds `Constant(-1)`),
 * while `-(1)` stays a unary minus. The number of arguments is not checked:
 * that is the server's to answer (`max()` is a `TypeError` there).
 *
 * A `rand` call comes back without a random state: whoever sends it adds one.
 *
 * Throws a {@linkcode UsageError} whose message points at the offending
 * column under a copy of the text.
 *
 * @example
 * ```ts
 * parseExpression("max(2, 3) + 3");
 * // binary(call("max", [constant(2n), constant(3n)]), "+", constant(3n))
 * parseExpression("1 + )");
 * // UsageError: unexpected ')' at column 5
 * //   1 + )
 * //       ^
 * ```
 */
export function parseExpression(text: string): Expr {
  const parser = new Parser(text, tokenize(text));
  if (parser.peek().kind === "end") throw syntaxError(text, 0, "empty expression");
  const parsed = parser.parseSum();
  const rest = parser.peek();
  if (rest.kind !== "end") throw parser.unexpected(rest);
  return parsed.expr;
}

class Parser {
  readonly #text: string;
  readonly #tokens: readonly Token[];
  #position = 0;
  #nesting = 0;

  constructor(text: string, tokens: readonly Token[]) {
    this.#text = text;
    this.#tokens = tokens;
  }

  peek(): Token {
    return this.#tokens[this.#position] as Token;
  }

  #next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.#position++;
    return token;
  }

  #isOp(...ops: string[]): boolean {
    const token = this.peek();
    return token.kind === "op" && ops.includes(token.text);
  }

  /** sum: term (('+' | '-') term)* */
  parseSum(): Parsed {
    let left = this.#parseTerm();
    while (this.#isOp("+", "-")) {
      const op = this.#next();
      left = this.#binary(left, op, this.#parseTerm());
    }
    return left;
  }

  /** term: factor (('*' | '/' | '%') factor)* */
  #parseTerm(): Parsed {
    let left = this.#parseFactor();
    while (this.#isOp("*", "/", "%")) {
      const op = this.#next();
      left = this.#binary(left, op, this.#parseFactor());
    }
    return left;
  }

  /** factor: ('+' | '-') factor | power */
  #parseFactor(): Parsed {
    if (!this.#isOp("+", "-")) return this.#parsePower();
    const op = this.#next();
    const operand = this.#nested(op, () => this.#parseFactor());
    if (op.text === "-" && operand.literal && operand.expr.kind === "constant") {
      const value = operand.expr.value as bigint | number;
      return { expr: constant(-value), depth: 1, literal: false };
    }
    this.#checkDepth(operand.depth + 1, op);
    return {
      expr: unary(op.text as "+" | "-", operand.expr),
      depth: operand.depth + 1,
      literal: false,
    };
  }

  /** power: primary ['**' factor] */
  #parsePower(): Parsed {
    const base = this.#parsePrimary();
    if (!this.#isOp("**")) return base;
    const op = this.#next();
    return this.#binary(base, op, this.#nested(op, () => this.#parseFactor()));
  }

  /** primary: NUMBER | constant | NAME '(' [args] ')' | '(' sum ')' */
  #parsePrimary(): Parsed {
    const token = this.#next();
    if (token.kind === "number") {
      return { expr: constant(token.value as PyNumber), depth: 1, literal: true };
    }
    if (token.kind === "name") return this.#parseName(token);
    if (token.kind === "op" && token.text === "(") {
      const inner = this.#nested(token, () => this.parseSum());
      this.#close(token, "')'");
      return { ...inner, literal: false };
    }
    throw this.unexpected(token);
  }

  #parseName(token: Token): Parsed {
    const name = token.text;
    const calls = this.#isOp("(");
    if ((FUNCTION_NAMES as readonly string[]).includes(name)) {
      if (!calls) throw this.#error(token, `'${name}' is a function: write ${name}(...)`);
      const open = this.#next();
      const args: Parsed[] = [];
      while (!this.#isOp(")")) {
        args.push(this.#nested(open, () => this.parseSum()));
        if (!this.#isOp(",")) break;
        this.#next();
      }
      this.#close(open, "',' or ')'");
      const depth = 1 + args.reduce((deepest, arg) => Math.max(deepest, arg.depth), 0);
      this.#checkDepth(depth, token);
      return {
        expr: call(name as FunctionName, args.map((arg) => arg.expr)),
        depth,
        literal: false,
      };
    }
    const constantName = CONSTANT_NAMES[name];
    const literal = LITERAL_NAMES[name];
    if (constantName === undefined && literal === undefined) {
      throw this.#error(
        token,
        `unknown name '${name}' (functions: ${FUNCTION_NAMES.join(", ")}; ` +
          "constants: pi, tau, e, inf, nan, True, False)",
      );
    }
    if (calls) throw this.#error(token, `'${name}' is a constant, not a function`);
    if (constantName !== undefined) return { expr: named(constantName), depth: 1, literal: false };
    // inf and nan fold with a minus like number literals; True and False do not.
    const isNumber = typeof literal === "number";
    return { expr: constant(literal as PyNumber), depth: 1, literal: isNumber };
  }

  #binary(left: Parsed, op: Token, right: Parsed): Parsed {
    const depth = 1 + Math.max(left.depth, right.depth);
    this.#checkDepth(depth, op);
    return { expr: binary(left.expr, op.text as BinarySymbol, right.expr), depth, literal: false };
  }

  /** Runs `parse` one nesting level deeper, refusing to go too deep. */
  #nested(at: Token, parse: () => Parsed): Parsed {
    this.#nesting++;
    if (this.#nesting > MAX_EXPRESSION_DEPTH) throw this.#tooDeep(at);
    const parsed = parse();
    this.#nesting--;
    return parsed;
  }

  #checkDepth(depth: number, at: Token): void {
    if (depth > MAX_EXPRESSION_DEPTH) throw this.#tooDeep(at);
  }

  #tooDeep(at: Token): UsageError {
    return this.#error(
      at,
      `expression nested too deeply (more than ${MAX_EXPRESSION_DEPTH} levels)`,
    );
  }

  /** Consumes the `)` that closes `open`; `expected` names what may come instead. */
  #close(open: Token, expected: string): void {
    const token = this.peek();
    if (token.kind === "op" && token.text === ")") {
      this.#next();
      return;
    }
    if (token.kind === "end") throw this.#error(open, "'(' is never closed");
    throw this.#error(token, `expected ${expected} but found '${token.text}'`);
  }

  unexpected(token: Token): UsageError {
    if (token.kind === "end") return this.#error(token, "unexpected end of expression");
    return this.#error(token, `unexpected '${token.text}'`);
  }

  #error(token: Token, message: string): UsageError {
    return syntaxError(this.#text, token.at, message);
  }
}

/** Splits the text into tokens, ending with an "end" token. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    SPACE.lastIndex = at;
    if (SPACE.test(text)) {
      at = SPACE.lastIndex;
      continue;
    }
    const c = text[at] as string;
    if (text.startsWith("**", at)) {
      tokens.push({ kind: "op", text: "**", at });
      at += 2;
    } else if (text.startsWith("//", at)) {
      throw syntaxError(text, at, "'//' (floor division) is not supported");
    } else if ("+-*/%(),".includes(c)) {
      tokens.push({ kind: "op", text: c, at });
      at += 1;
    } else if (c === "^") {
      throw syntaxError(text, at, "'^' is not supported: write ** for a power");
    } else if (/[0-9.]/.test(c)) {
      at = readNumber(text, at, tokens);
    } else if (/[A-Za-z_]/.test(c)) {
      NAME.lastIndex = at;
      NAME.test(text);
      tokens.push({ kind: "name", text: text.slice(at, NAME.lastIndex), at });
      at = NAME.lastIndex;
    } else {
      const char = String.fromCodePoint(text.codePointAt(at) as number);
      throw syntaxError(text, at, `unexpected character '${char}'`);
    }
  }
  tokens.push({ kind: "end", text: "", at: text.length });
  return tokens;
}

/** Reads a number literal at `at` into `tokens`; returns where it ends. */
function readNumber(text: string, at: number, tokens: Token[]): number {
  NUMBER.lastIndex = at;
  if (!NUMBER.test(text)) throw syntaxError(text, at, "unexpected '.'");
  const end = NUMBER.lastIndex;
  const literal = text.slice(at, end);
  const after = text[end];
  if (after === "j" || after === "J") {
    throw syntaxError(text, at, "complex numbers are not supported");
  }
  if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) {
    throw syntaxError(text, at, `invalid number literal '${literal}${after}'`);
  }
  const clean = literal.replaceAll("_", "");
  let value: PyNumber;
  if (/^0[xXoObB]/.test(clean)) {
    value = BigInt(clean);
  } else if (/[.eE]/.test(clean)) {
    value = Number(clean);
  } else {
    if (/^0+[1-9]/.test(clean)) {
      throw syntaxError(
        text,
        at,
        "leading zeros in decimal integer literals are not permitted (0o starts an octal literal)",
      );
    }
    if (clean.length > MAX_LITERAL_DIGITS) {
      throw syntaxError(
        text,
        at,
        `integer literal too long: more than ${MAX_LITERAL_DIGITS} digits`,
      );
    }
    value = BigInt(clean);
  }
  tokens.push({ kind: "number", text: literal, at, value });
  return end;
}

/**
 * A UsageError that shows the text with a caret under the offending column:
 * `message at column N`, then the text and the caret, each indented by two
 * spaces. Control characters print as spaces so the caret stays aligned.
 */
function syntaxError(text: string, at: number, message: string): UsageError {
  let shown = "";
  for (const ch of text) shown += ch < " " || ch === "\x7f" ? " " : ch;
  return new UsageError(`${message} at column ${at + 1}\n  ${shown}\n  ${" ".repeat(at)}^`);
}
