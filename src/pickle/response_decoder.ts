/**
 * The client side of a response payload: a `(result, steps)` tuple or an
 * exception instance (docs/PROTOCOL.md §3.2).
 *
 * @module
 */

import { PyException, type PyExceptionArg, type PyNumber } from "../calc/mod.ts";
import { DecodeBudget, type DecodeStats, newDecodeStats } from "./decode_work.ts";
import { describe, type DException, type Value } from "./decoded_value.ts";
import { isKind, unpickle } from "./decoder.ts";
import { ComplexResultError, PickleError } from "./errors.ts";
import { type DecodeLimits, resolveDecodeLimits } from "./limits.ts";

/** A decoded response payload. */
export type DecodedResponse =
  | {
    readonly kind: "result";
    /** The result: an int, a float or a bool. */
    readonly result: PyNumber;
    /** The steps, first the expression, last the result; empty when not asked for. */
    readonly steps: string[];
  }
  | {
    readonly kind: "error";
    /** The exception the server or proxy sent. */
    readonly error: PyException;
  };

/**
 * Reads a response payload: any protocol 0–5 pickle of `(result, steps)`
 * (result an int, float or bool; steps a list of str) or of an instance of
 * a whitelisted exception class whose args are str, int or such exceptions
 * (nested at most `maxDepth` and {@linkcode MAX_EXCEPTION_DEPTH} levels).
 *
 * What the caller gets counts against unpickling's work budget
 * (`maxWorkPerByte`), so that a few bytes that refer to one string again and
 * again cannot make an answer of millions of characters: every step costs
 * its length, each time it is used (a 2-byte memo get can use a 30,000
 * character string again); a message holds every argument of the exceptions
 * in it, a shared one each time it is used. `stats`, when given, receives
 * the work done and the budget, also when it throws.
 *
 * @throws {ComplexResultError} (a {@linkcode PickleError}) when the result is
 * a complex number, as the Python server answers `(-8) ** (1 / 3)`.
 * @throws {PickleError} for anything else.

 * @throws {RangeError} when a given limit is not a positive integer.
 *
 * @example
 * ```ts
 * decodeResponse(encodeResult(6n, [])); // { kind: "result", result: 6n, steps: [] }
 * ```
 */
export function decodeResponse(
  data: Uint8Array,
  limits?: Partial<DecodeLimits>,
  stats: DecodeStats = newDecodeStats(),
): DecodedResponse {
  const resolved = resolveDecodeLimits(limits);
  const root = unpickle(data, resolved, stats);
  const budget = new DecodeBudget(stats, resolved, data.length);
  if (isKind(root, "tuple") && root.items.length === 2) {
    const [result, steps] = root.items as readonly [Value, Value];
    return { kind: "result", result: readResult(result), steps: readSteps(steps, budget) };
  }
  if (isKind(root, "exception")) {
    const reader = new ExceptionReader(resolved, budget);
    return { kind: "error", error: reader.read(root, 1).exception };
  }
  throw new PickleError(
    `the response is ${describe(root)}, neither a (result, steps) tuple nor an exception`,
  );
}

function readResult(result: Value): PyNumber {
  if (typeof result === "bigint" || typeof result === "number" || typeof result === "boolean") {
    return result;
  }
  if (isKind(result, "complex")) throw new ComplexResultError(result.real, result.imag);
  throw new PickleError(`the result is ${describe(result)}, not a number`);
}

/** The steps, each charged its length (plus one) every time it is used. */
function readSteps(steps: Value, budget: DecodeBudget): string[] {
  if (!isKind(steps, "list") && !isKind(steps, "tuple")) {
    throw new PickleError(`the steps are ${describe(steps)}, not a list`);
  }
  return steps.items.map((step) => {
    if (typeof step !== "string") throw new PickleError(`a step is ${describe(step)}, not a str`);
    budget.charge(1 + step.length);
    return step;
  });
}

/**
 * The most exceptions nested in one another that `decodeResponse` reads,
 * whatever `maxDepth` says: `PyException` formats its message recursively, so
 * this bounds that recursion (the course nests two).
 */
export const MAX_EXCEPTION_DEPTH = 100;

/** A converted exception, with what its `str()` walks. */
interface Converted {
  readonly exception: PyException;
  /** The work units of formatting it: its tree of arguments, shared ones counted per use. */
  readonly work: number;
  /** 1 + the height of its deepest exception argument. */
  readonly height: number;
}

/**
 * Converts exceptions to {@linkcode PyException}s, each pickled exception
 * once (one used twice is one object, as in Python), counting the work of
 * their messages: a `PyException` formats its whole tree of arguments when
 * it is made (`str()` recurses), so a few bytes of shared sub-exceptions
 * could otherwise ask for a message of 2^60 characters.
 */
class ExceptionReader {
  readonly #limits: DecodeLimits;
  readonly #budget: DecodeBudget;
  readonly #maxDepth: number;
  readonly #converted = new Map<DException, Converted>();

  constructor(limits: DecodeLimits, budget: DecodeBudget) {
    this.#limits = limits;
    this.#budget = budget;
    this.#maxDepth = Math.min(limits.maxDepth, MAX_EXCEPTION_DEPTH);
  }

  /** The exception `error`, found at `depth` (the root's is 1). */
  read(error: DException, depth: number): Converted {
    const known = this.#converted.get(error);
    if (known !== undefined) {
      this.#checkDepth(depth + known.height - 1);
      return known;
    }
    this.#checkDepth(depth);
    // The work of this one's message, charged part by part before it is made.
    let work = this.#budget.charge(1);
    let height = 1;
    const args = error.args.map((arg): PyExceptionArg => {
      if (typeof arg === "string" || typeof arg === "bigint") {
        work += this.#budget.charge(this.#textWork(arg));
        return arg;
      }
      if (isKind(arg, "exception")) {
        const child = this.read(arg, depth + 1);
        // Formatted again in this message.
        work += this.#budget.charge(child.work);
        height = Math.max(height, child.height + 1);
        return child.exception;
      }
      throw new PickleError(`an argument of ${error.type} is ${describe(arg)}`);
    });
    const converted = { exception: new PyException(error.type, args), work, height };
    this.#converted.set(error, converted);
    return converted;
  }

  #checkDepth(depth: number): void {
    if (depth > this.#maxDepth) {
      throw new PickleError(`exceptions nested deeper than ${this.#maxDepth} levels`);
    }
  }

  /** The units of formatting a str or int argument once. */
  #textWork(arg: string | bigint): number {
    if (typeof arg === "string") return 1 + arg.length;
    // Its decimal digits, without converting it: a double holds ints up to
    // 309 digits; beyond, the most an int of maxIntBytes can have.
    const magnitude = Math.abs(Number(arg));
    return 1 +
      (Number.isFinite(magnitude)
        ? Math.floor(Math.log10(Math.max(magnitude, 1))) + 1
        : Math.ceil(this.#limits.maxIntBytes * 8 * Math.log10(2)) + 1);
  }
}
