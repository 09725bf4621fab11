/**
 * Python exceptions as the course's server and proxy send them (docs/PROTOCOL.md §3.2).
 *
 * @module
 */

/** The exception classes that may travel in a response. */
export type PyExceptionType =
  | "ZeroDivisionError"
  | "ValueError"
  | "OverflowError"
  | "TypeError"
  | "CalculatorClientError"
  | "CalculatorServerError";

/** One argument of an exception: a str, an int, or a nested exception. */
export type PyExceptionArg = string | bigint | PyException;

/** The module each exception class lives in. */
export const EXCEPTION_MODULE: Readonly<Record<PyExceptionType, "builtins" | "api">> = {
  ZeroDivisionError: "builtins",
  ValueError: "builtins",
  OverflowError: "builtins",
  TypeError: "builtins",
  CalculatorClientError: "api",
  CalculatorServerError: "api",
};

/**
 * A Python exception instance: its class and its `args` tuple.
 *
 * @example
 * ```ts
 * const e = new PyException("ZeroDivisionError", ["division by zero"]);
 * e.str(); // "division by zero"
 * e.repr(); // "ZeroDivisionError('division by zero')"
 * ```
 */
export class PyException extends Error {
  /** The Python class name. */
  readonly type: PyExceptionType;
  /** The `args` tuple. */
  readonly args: readonly PyExceptionArg[];

  /** An exception of class `type` with `args`, as Python would hold them. */
  constructor(type: PyExceptionType, args: readonly PyExceptionArg[]) {
    super();
    this.type = type;
    this.args = args;
    this.name = type;
    this.message = this.str();
  }

  /** Python's `str(exception)`: the lone argument, or the repr of the args tuple. */
  str(): string {
    if (this.args.length === 0) return "";
    if (this.args.length === 1) return argStr(this.args[0] as PyExceptionArg);
    return `(${this.args.map(argRepr).join(", ")})`;
  }

  /** Python's `repr(exception)`. */
  repr(): string {
    return `${this.type}(${this.args.map(argRepr).join(", ")})`;
  }
}

function argStr(arg: PyExceptionArg): string {
  if (typeof arg === "string") return arg;
  if (typeof arg === "bigint") return arg.toString();
  return arg.str();
}

function argRepr(arg: PyExceptionArg): string {
  if (typeof arg === "string") return pyStrRepr(arg);
  if (typeof arg === "bigint") return arg.toString();
  return arg.repr();
}

/**
 * Python's `repr()` of a str: single quotes unless the text has a single
 * quote and no double quote; backslash escapes for quotes, `\\`, and
 * non-printable characters.
 */
function pyStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}
