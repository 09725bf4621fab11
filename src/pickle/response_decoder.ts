/**
 * The client side of a response payload: a `(result, steps)` tuple or an
 * exception instance (docs/PROTOCOL.md §3.2).
 *
 * @module
 */

import { PyException, type PyExceptionArg, type PyNumber } from "../calc/mod.ts";
import { describe, type DException, type Value } from "./decoded_value.ts";
import { isKind, unpickle } from "./decoder.ts";
import { ComplexResultError, PickleError } from "./errors.ts";
import { type DecodeLimits, resolveLimits } from "./limits.ts";

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
export function decodeResponse(data: Uint8Array, limits?: Partial<DecodeLimits>): DecodedResponse {
  const resolved = resolveLimits(limits);
  const root = unpickle(data, resolved);
  if (isKind(root, "tuple") && root.items.length === 2) {
    const [result, steps] = root.items as readonly [Value, Value];
    return { kind: "result", result: readResult(result), steps: readSteps(steps) };
  }
  if (isKind(root, "exception")) {
    const maxDepth = Math.min(resolved.maxDepth, MAX_EXCEPTION_DEPTH);
    return { kind: "error", error: readException(root, 1, maxDepth) };
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

function readSteps(steps: Value): string[] {
  if (!isKind(steps, "list") && !isKind(steps, "tuple")) {
    throw new PickleError(`the steps are ${describe(steps)}, not a list`);
  }
  return steps.items.map((step) => {
    if (typeof step !== "string") throw new PickleError(`a step is ${describe(step)}, not a str`);
    return step;
  });
}

/**
 * The most exceptions nested in one another that `decodeResponse` reads,
 * whatever `maxDepth` says: `PyException` formats its message recursively, so
 * this bounds that recursion (the course nests two).
 */
export const MAX_EXCEPTION_DEPTH = 100;

function readException(error: DException, depth: number, maxDepth: number): PyException {
  if (depth > maxDepth) {
    throw new PickleError(`exceptions nested deeper than ${maxDepth} levels`);
  }
  const args = error.args.map((arg): PyExceptionArg => {
    if (typeof arg === "string" || typeof arg === "bigint") return arg;
    if (isKind(arg, "exception")) return readException(arg, depth + 1, maxDepth);
    throw new PickleError(`an argument of ${error.type} is ${describe(arg)}`);
  });
  return new PyException(error.type, args);
}
