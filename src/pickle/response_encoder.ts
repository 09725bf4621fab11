/**
 * The response payloads (docs/PROTOCOL.md §3.2), byte for byte as the course's
 * server and proxy write them.
 *
 * @module
 */

import {
  EXCEPTION_MODULE,
  type PyException,
  type PyExceptionArg,
  type PyNumber,
} from "../calc/mod.ts";
import { pickleDumps, pickleNumberAndStrs } from "./pickler.ts";
import {
  pyBuiltinType,
  pyGlobal,
  pyList,
  type PyObject,
  type PyReduce,
  pyReduce,
  pyTuple,
} from "./py_object.ts";

/**
 * The data of a 200 response: the pickle of the tuple `(result, steps)`.
 * Each step is a str of its own, as the server renders each one anew.
 * `headroom` zero bytes come first, room for the packet's header, so that
 * the answer is made in one buffer (see `writeHeader`).
 *
 * @example
 * ```ts
 * encodeResult(6n, ["max(2, 3) + 3", "3 + 3", "6"]); // the course's 48-byte example 2 answer
 * ```
 */
export function encodeResult(result: PyNumber, steps: readonly string[], headroom = 0): Uint8Array {
  // The server answers every request with this shape, so it skips the model.
  return pickleNumberAndStrs(result, steps, headroom) ??
    pickleDumps(pyTuple([result, pyList(steps)]), headroom);
}

/**
 * The data of a 400 or 500 response: the pickle of the exception instance,
 * i.e. its class (module per `EXCEPTION_MODULE`) called with its args
 * (REDUCE); a nested exception argument is pickled the same way inside.
 * `headroom` zero bytes come first, as for {@linkcode encodeResult}.
 *
 * @example
 * ```ts
 * encodeException(new PyException("ZeroDivisionError", ["division by zero"])); // 68 bytes
 * ```
 */
export function encodeException(error: PyException, headroom = 0): Uint8Array {
  return pickleDumps(exceptionObject(error), headroom);
}

function exceptionObject(error: PyException): PyReduce {
  const args = error.args.map((arg: PyExceptionArg): PyObject =>
    typeof arg === "string" || typeof arg === "bigint" ? arg : exceptionObject(arg)
  );
  const module = EXCEPTION_MODULE[error.type];
  const cls = module === "builtins" ? pyBuiltinType(error.type) : pyGlobal(module, error.type);
  return pyReduce(cls, pyTuple(args));
}
